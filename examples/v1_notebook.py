"""An Azure ML SDK v1 notebook's cells, with only the import line changed: find or
provision a cluster, register an environment, train in an interactive run that writes
``./outputs``, register the model from the run.

    STUDIO_HOME=/tmp/studio-demo .venv/bin/python examples/v1_notebook.py

In the studio: the run (with its ``outputs/`` files), the ``cpu-cluster`` target, the
``sklearn-env`` environment under Environments and ``logreg-model`` under Models.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from studio.sdk import (  # was: from azureml.core import ...
    AmlCompute,
    ComputeTarget,
    ComputeTargetException,
    CondaDependencies,
    Environment,
    Experiment,
    Workspace,
)

warnings.simplefilter("ignore")  # v1's cloud-only settings are recorded, said once

ws = Workspace.from_config()

try:
    cluster = ComputeTarget(workspace=ws, name="cpu-cluster")
except ComputeTargetException:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
    cluster = ComputeTarget.create(ws, "cpu-cluster", config)
cluster.wait_for_completion(show_output=False)

env = Environment("sklearn-env")
env.python.conda_dependencies = CondaDependencies.create(
    pip_packages=["scikit-learn", "numpy"], python_version="3.12"
)
env.register(workspace=ws)

exp = Experiment(workspace=ws, name="v1-notebook")
run = exp.start_logging(display_name="ridge from a v1 notebook")
rng = np.random.default_rng(3)
x = rng.normal(size=(200, 4))
y = x @ np.array([1.5, -2.0, 0.5, 0.0]) + rng.normal(scale=0.3, size=200)
for alpha in (0.01, 0.1, 1.0):
    w = np.linalg.solve(x.T @ x + alpha * np.eye(4), x.T @ y)
    run.log("alpha", alpha)
    run.log("rmse", float(np.sqrt(np.mean((x @ w - y) ** 2))))
os.makedirs("outputs", exist_ok=True)
np.save("outputs/weights.npy", w)
run.complete()

model = run.register_model(model_name="logreg-model", model_path="outputs/weights.npy",
                           tags={"framework": "numpy"})  # fmt: skip
print(f"run {run.id}: {run.get_status()}, model {model.name}:{model.version}, "
      f"target {cluster.name} ({type(cluster).__name__}), environment {env.name}")  # fmt: skip
