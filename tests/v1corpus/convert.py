"""How tests/v1corpus/items/ was made from the public Azure ML v1 samples: every edit is
listed here (and copied into each item's README.md), so the corpus can be checked and
made again from the sample repository.

    python tests/v1corpus/convert.py /path/to/Azure+MachineLearningNotebooks/repo

The only edit made for API reasons is the import line: ``from azureml.<x> import N``
becomes ``from studio.sdk import N`` and ``import azureml.core`` becomes ``import
studio.sdk`` (with ``azureml.core.VERSION`` read as ``studio.sdk.VERSION``, the same
module under its new name). Every other edit is listed per item with its reason: a
cell that needs an Azure resource Studio does not have (AmlCompute provisioning, Azure
blob datastores and open datasets, curated Azure images, HyperDrive), or a line that
no longer runs on Python 3.12 with numpy 2 whatever the tracking server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_URL = "https://github.com/Azure/MachineLearningNotebooks"
HERE = Path(__file__).resolve().parent
ITEMS = HERE / "items"

IMPORT_FROM = re.compile(r"^(\s*)from azureml(\.[\w.]+)? import (.+)$", re.M)
IMPORT_CORE = re.compile(r"^(\s*)import azureml\.core$", re.M)


def change_imports(source: str) -> tuple[str, list[str]]:
    """The import lines, and the module's name where the sample reads it."""
    changes = []

    def sub_from(m):
        new = f"{m.group(1)}from studio.sdk import {m.group(3)}"
        changes.append(f"`{m.group(0).strip()}` -> `{new.strip()}`")
        return new

    def sub_core(m):
        changes.append(f"`{m.group(0).strip()}` -> `import studio.sdk`")
        return f"{m.group(1)}import studio.sdk"

    source = IMPORT_FROM.sub(sub_from, source)
    source = IMPORT_CORE.sub(sub_core, source)
    if "azureml.core.VERSION" in source:
        source = source.replace("azureml.core.VERSION", "studio.sdk.VERSION")
        changes.append("`azureml.core.VERSION` -> `studio.sdk.VERSION` (the module imported above)")
    return source, changes


@dataclass
class Edit:
    cell: int  # index in the source notebook's "cells"
    reason: str
    source: str | None = None  # None: the cell is dropped
    replace: tuple[str, str] | None = None  # a textual replacement inside the cell


@dataclass
class Item:
    name: str
    path: str  # the notebook or script in the sample repository
    files: dict[str, str] = field(default_factory=dict)  # item file -> repository path
    edits: list[Edit] = field(default_factory=list)
    file_edits: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    summary: str = ""


AZURE_ML = "how-to-use-azureml"
MANAGE = f"{AZURE_ML}/track-and-monitor-experiments/manage-runs"
LOCAL = f"{AZURE_ML}/training/train-on-local"
AMLCOMPUTE = f"{AZURE_ML}/training/train-on-amlcompute"
SKLEARN = f"{AZURE_ML}/ml-frameworks/scikit-learn/train-hyperparameter-tune-deploy-with-sklearn"
PIPES = f"{AZURE_ML}/machine-learning-pipelines/intro-to-pipelines"
REMOTE = f"{AZURE_ML}/training/train-on-remote-vm"
MNIST = "tutorials/image-classification-mnist-data"

CURATED = (
    "a curated environment is a prebuilt Azure image Studio does not have: replaced by a "
    "user-managed environment of the same name (the submitter's interpreter, which has "
    "scikit-learn)"
)
NUMPY2 = "`np.float`/`np.str` were removed in numpy 1.24; Studio runs on numpy 2"
AZURE_PIP = (
    "the azureml-* pip packages are the Azure client the script no longer imports (its "
    "import line now names studio.sdk)"
)

DIGITS_TO_IDX = """import gzip
import struct

from sklearn.datasets import load_digits

data_folder = os.path.join(os.getcwd(), 'data')
os.makedirs(data_folder, exist_ok=True)

# scikit-learn's 8x8 digits, scaled to MNIST's 28x28 and 0-255, written in MNIST's files
digits = load_digits()
images = np.pad(np.kron(digits.images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
images = (images * 255.0 / 16.0).astype(np.uint8)
labels = digits.target.astype(np.uint8)


def write_idx(name, array, label):
    with gzip.open(os.path.join(data_folder, name), 'wb') as f:
        f.write(struct.pack('I', 0) + struct.pack('>I', len(array)))
        if not label:
            f.write(struct.pack('>II', 28, 28))
        f.write(array.tobytes())


write_idx('train-images-idx3-ubyte.gz', images[:1500], False)
write_idx('train-labels-idx1-ubyte.gz', labels[:1500], True)
write_idx('t10k-images-idx3-ubyte.gz', images[1500:], False)
write_idx('t10k-labels-idx1-ubyte.gz', labels[1500:], True)
"""

DIGITS_REASON = (
    "the MNIST open dataset is downloaded from Azure: scikit-learn's digits are written "
    "in MNIST's gzip/idx format (scaled to 28x28) so utils.load_data and train.py read "
    "them unchanged; the Azure dataset registration is dropped"
)

CORPUS = [
    Item(
        "logging-api",
        f"{AZURE_ML}/track-and-monitor-experiments/logging-api/logging-api.ipynb",
        summary="start_logging, log/log_list/log_row/log_table/log_image, upload_file, "
        "Run(experiment, id), get_metrics, download_file, tag",
    ),
    Item(
        "manage-runs",
        f"{MANAGE}/manage-runs.ipynb",
        files={
            "hello.py": f"{MANAGE}/hello.py",
            "hello_with_children.py": f"{MANAGE}/hello_with_children.py",
            "hello_with_delay.py": f"{MANAGE}/hello_with_delay.py",
        },
        summary="start_logging, with-block, submit to local, properties, tags, "
        "get_runs filters, children, cancel, fail, restore_snapshot",
    ),
    Item(
        "train-on-local",
        f"{LOCAL}/train-on-local.ipynb",
        files={
            "scripts/train.py": f"{LOCAL}/scripts/train.py",
            "scripts/mylib.py": f"{LOCAL}/scripts/mylib.py",
        },
        edits=[
            Edit(
                33,
                "the cell submits only where a Docker daemon answers (`docker system info`; "
                "a machine with the docker CLI but no daemon raises): Studio runs a docker "
                "environment as a virtual environment from its packages (the docker "
                "settings recorded), so the cell submits unconditionally",
                "src.run_config.environment = docker_env\nrun = exp.submit(src)",
            ),
        ],
        summary="user-managed and system-managed Environment, CondaDependencies, docker "
        "(recorded), get_metrics, register_model",
    ),
    Item(
        "using-environments",
        f"{AZURE_ML}/training/using-environments/using-environments.ipynb",
        files={"example.py": f"{AZURE_ML}/training/using-environments/example.py"},
        edits=[
            Edit(
                6,
                CURATED,
                "from studio.sdk import Environment\n\n"
                'curated_env = Environment(name="AzureML-Minimal")\n'
                "curated_env.python.user_managed_dependencies = True",
            ),
            Edit(
                10,
                "scikit-learn==0.22.1 has no build for Python 3.12: unpinned",
                replace=('"scikit-learn==0.22.1"', '"scikit-learn"'),
            ),
            Edit(
                12,
                "pillow==6.2.1 has no build for Python 3.12: unpinned",
                replace=('"pillow==6.2.1"', '"pillow"'),
            ),
        ],
        summary="Environment.list/get/register, CondaDependencies, submit with an "
        "environment, get_environment, ws.environments, docker settings (recorded)",
    ),
    Item(
        "train-on-amlcompute",
        f"{AMLCOMPUTE}/train-on-amlcompute.ipynb",
        files={"train.py": f"{AMLCOMPUTE}/train.py"},
        edits=[
            Edit(11, "`AmlCompute.supported_vmsizes` lists Azure VM sizes: dropped"),
            Edit(31, "AmlCompute node list: a Studio target has workers, not Azure nodes: dropped"),
        ],
        summary="Environment + CondaDependencies + DockerConfiguration, submit to a "
        "cluster (a Studio queue target), run_config.target, get_metrics",
    ),
    Item(
        "sklearn-iris",
        f"{SKLEARN}/train-hyperparameter-tune-deploy-with-sklearn.ipynb",
        files={"train_iris.py": f"{SKLEARN}/train_iris.py"},
        edits=[
            Edit(
                29,
                CURATED,
                "from studio.sdk import Environment\n\n"
                "sklearn_env = Environment(name='azureml-sklearn-1.5')\n"
                "sklearn_env.python.user_managed_dependencies = True",
            ),
        ]
        + [
            Edit(
                c,
                "HyperDrive (an Azure tuning service, not part of issue 10): the "
                "notebook is kept up to the first training run",
            )
            for c in (43, 45, 48, 49, 50, 52, 54, 56)
        ],
        file_edits={
            "train_iris.py": [
                ("np.str(args.kernel)", "str(args.kernel)", NUMPY2),
                ("np.float(args.penalty)", "float(args.penalty)", NUMPY2),
                ("np.float(accuracy)", "float(accuracy)", NUMPY2),
            ]
        },
        summary="set_diagnostics_collection, submit with arguments to a cluster, "
        "RunDetails, wait_for_completion",
    ),
    Item(
        "pipelines-getting-started",
        f"{PIPES}/aml-pipelines-getting-started.ipynb",
        files={
            "train/train.py": f"{PIPES}/train/train.py",
            "compare/compare.py": f"{PIPES}/compare/compare.py",
            "extract/extract.py": f"{PIPES}/extract/extract.py",
        },
        edits=[
            Edit(
                5,
                "`requests` only fetches the Titanic CSV from Azure blob storage (cell 13, "
                "dropped); `Datastore` is Azure blob storage (cell 9)",
                replace=("import requests\n", ""),
            ),
            Edit(5, "Datastore: see above", replace=(", Datastore\n", "\n")),
            Edit(
                9,
                "the default datastore is an Azure blob container: its lines are dropped",
                "ws = Workspace.from_config()\n"
                "print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep = '\\n')",
            ),
            Edit(13, "downloads from and uploads to Azure blob storage: dropped"),
        ],
        summary="PythonScriptStep, RunConfiguration, DEFAULT_CPU_IMAGE, Pipeline, "
        "validate, submit, RunDetails, get_children/name, run_after closure",
    ),
    Item(
        "first-experiment",
        "tutorials/create-first-ml-experiment/tutorial-1st-experiment-sdk-train.ipynb",
        edits=[
            Edit(
                12,
                "the Diabetes open dataset is downloaded from Azure: scikit-learn ships the "
                "same data (load_diabetes)",
                "from sklearn.datasets import load_diabetes\n"
                "from sklearn.model_selection import train_test_split\n\n"
                "x_df, y_df = load_diabetes(return_X_y=True)\n\n"
                "X_train, X_test, y_train, y_test = train_test_split(x_df, y_df, "
                "test_size=0.2, random_state=66)",
            ),
        ],
        summary="start_logging in a loop, joblib to outputs/, upload_file, get_runs, "
        "get_details()['runId'], Run(experiment=, run_id=), download_file",
    ),
    Item(
        "mnist-part1",
        f"{MNIST}/img-classification-part1-training.ipynb",
        files={"utils.py": f"{MNIST}/utils.py"},
        edits=[
            Edit(11, DIGITS_REASON, DIGITS_TO_IDX),
            Edit(17, NUMPY2, replace=("np.float(args.reg)", "float(args.reg)")),
            Edit(17, NUMPY2, replace=("np.float(acc)", "float(acc)")),
            Edit(
                23,
                AZURE_PIP,
                replace=(
                    "pip_packages=['azureml-dataset-runtime[pandas,fuse]', 'azureml-defaults'], ",
                    "",
                ),
            ),
            Edit(
                23,
                "numpy==1.23.5 has no build for Python 3.12: unpinned",
                replace=("'numpy==1.23.5'", "'numpy'"),
            ),
            Edit(
                25,
                "the Azure dataset mount is the local data folder written in cell 11",
                replace=("mnist_file_dataset.as_mount()", "data_folder"),
            ),
        ],
        summary="%%writefile train.py, Environment + CondaDependencies + register, "
        "submit to a cluster, RunDetails, get_metrics, register_model",
    ),
    Item(
        "train-on-remote-vm",
        f"{REMOTE}/train-on-remote-vm.ipynb",
        files={"train.py": f"{REMOTE}/train.py", "train2.py": f"{REMOTE}/train2.py"},
        edits=[
            Edit(12, "the default datastore is an Azure blob container: dropped"),
            Edit(16, "uploads to Azure blob storage: dropped"),
            Edit(
                18,
                "an Azure file dataset on the blob container: the features are read from "
                "the folder cell 14 saved them in",
                "data_folder = os.path.abspath('.')",
            ),
            Edit(19, "lists the Azure dataset: dropped"),
            Edit(
                23,
                "attaching a VM by SSH (RemoteCompute) needs the VM: the VM is Studio's "
                "queue target of the same name, created on first use "
                "(`ws.compute_targets[name]`) and served by a `studio worker` the test "
                "starts (on the VM it would be started there)",
                "compute_target_name = 'cpudsvm'\n"
                "attached_dsvm_compute = ws.compute_targets[compute_target_name]",
            ),
            Edit(
                26,
                AZURE_PIP,
                replace=(
                    ",\n"
                    + " " * 77
                    + "'azureml-sdk',\n"
                    + " " * 77
                    + "'azureml-dataset-runtime[pandas,fuse]'",
                    "",
                ),
            ),
            Edit(
                27,
                "the dataset mount is the local data folder (cell 18)",
                replace=(
                    "dataset.as_named_input('diabetes').as_mount('/tmp/{}'.format(uuid4()))",
                    "data_folder",
                ),
            ),
        ],
        summary="submit to an attached machine (a Studio queue target), user-managed vs "
        "conda environment, ActivityFailedException, docker (recorded), get_metrics",
    ),
    Item(
        "offline-train-diabetes",
        f"{LOCAL}/scripts/train.py",
        files={"mylib.py": f"{LOCAL}/scripts/mylib.py"},
        summary="the train-on-local script run as a plain `python train.py`: "
        "Run.get_context() outside a job is v1's offline run",
    ),
    Item(
        "offline-train-iris",
        f"{SKLEARN}/train_iris.py",
        file_edits={
            "train_iris.py": [
                ("np.str(args.kernel)", "str(args.kernel)", NUMPY2),
                ("np.float(args.penalty)", "float(args.penalty)", NUMPY2),
                ("np.float(accuracy)", "float(accuracy)", NUMPY2),
            ]
        },
        summary="train_iris.py run as a plain `python train_iris.py --kernel rbf`: the offline run",
    ),
]


def one_line(text: str) -> str:
    return " ".join(text.split())


def show(git_dir: str, path: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def convert(item: Item, git_dir: str, commit: str) -> None:
    folder = ITEMS / item.name
    folder.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    text = show(git_dir, item.path)
    if item.path.endswith(".ipynb"):
        notebook = json.loads(text)
        cells = []
        for index, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            dropped = False
            for edit in (e for e in item.edits if e.cell == index):
                if edit.replace:
                    assert edit.replace[0] in source, (item.name, index, edit.replace[0])
                    source = source.replace(*edit.replace)
                    log.append(
                        f"cell {index}: `{one_line(edit.replace[0])}` -> "
                        f"`{one_line(edit.replace[1])}`: {edit.reason}"
                    )
                elif edit.source is None:
                    dropped = True
                    log.append(f"cell {index}: dropped: {edit.reason}")
                else:
                    source = edit.source
                    log.append(
                        f"cell {index}: replaced by `{edit.source.splitlines()[0]} ...`: "
                        f"{edit.reason}"
                    )
            if dropped:
                continue
            source, changes = change_imports(source)
            log += [f"cell {index}: import: {c}" for c in changes]
            cells.append(
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": {"source_cell": index},
                    "outputs": [],
                    "source": source.splitlines(True),
                }
            )
        out = {
            "cells": cells,
            "metadata": notebook.get("metadata", {}),
            "nbformat": 4,
            "nbformat_minor": 2,
        }
        (folder / "notebook.ipynb").write_text(json.dumps(out, indent=1) + "\n")
    else:
        item.files = {Path(item.path).name: item.path, **item.files}
    for name, path in item.files.items():
        source = show(git_dir, path)
        for old, new, reason in item.file_edits.get(name, []):
            assert old in source, (name, old)
            source = source.replace(old, new)
            log.append(f"{name}: `{old}` -> `{new}`: {reason}")
        source, changes = change_imports(source)
        log += [f"{name}: import: {c}" for c in changes]
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    sources = [item.path, *[p for p in item.files.values() if p != item.path]]
    readme = [
        f"# {item.name}",
        "",
        f"Source: {REPO_URL}, commit {commit}",
        "",
        *[f"- `{p}`" for p in sources],
        "",
        f"What it exercises: {item.summary}.",
        "",
        "## Every edit",
        "",
        *[f"- {line}" for line in log],
        "",
        "Made by tests/v1corpus/convert.py; nothing else differs from the source.",
        "",
    ]
    (folder / "README.md").write_text("\n".join(readme))


def main() -> None:
    git_dir = sys.argv[1]
    commit = subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    for item in CORPUS:
        convert(item, git_dir, commit)


if __name__ == "__main__":
    main()
