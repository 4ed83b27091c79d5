"""Pipelines, with Studio's own names and the Azure ML SDK v1 ones.

``ScriptStep`` (Studio's) names the steps it waits for; ``PythonScriptStep`` (v1's
``azureml.pipeline.steps``) waits for steps given to ``run_after`` and for those that
produce its ``inputs``. A ``Pipeline`` is built from either; with v1 steps it pulls in
every step reachable from the ones given (v1's ``resolve_closure``), and
``validate()`` returns the list of what is wrong (an empty list when nothing is) where
submitting would raise. A submitted pipeline is a ``PipelineRun`` whose steps are
``StepRun``s (child runs of type ``step``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from studio.errors import RunFailed, ValidationError
from studio.rules import filenames
from studio.rules.graph import check_steps
from studio.rules.transitions import TERMINAL
from studio.sdk.config import LOCAL, ComputeTarget, _arguments, target_name
from studio.sdk.run import Run
from studio.sdk.snapshot import collect

if TYPE_CHECKING:
    from studio.sdk.experiment import Experiment

# Properties a pipeline run carries, under the names v1 gives them.
CONTINUE_ON_STEP_FAILURE = "azureml.continue_on_step_failure"
PARAMETERS = "azureml.parameters"
_warned: set[str] = set()


def _warn_once(name: str, message: str) -> None:
    """One line, once per process per name: what v1 did that Studio only records."""
    if name not in _warned:
        _warned.add(name)
        warnings.warn(message, UserWarning, stacklevel=3)


def _step_target(target: Any, runconfig: Any = None) -> str:
    """v1 takes a compute target object, its name, or a (name, type) tuple; without
    one, the runconfig's target; without that, the submitting machine."""
    if target is None and runconfig is not None:
        target = getattr(runconfig, "target", None)
    if isinstance(target, tuple) and target:
        target = target[0]
    if target is not None and not isinstance(target, (str, ComputeTarget)):
        target = getattr(target, "name", None) or str(target)
    return target_name(target or LOCAL)


class PipelineParameter:
    """A value of a pipeline run given at submit (``pipeline_parameters={name: value}``),
    else ``default_value``. In a step's ``arguments`` it becomes that value's text."""

    def __init__(self, name: str, default_value: Any):
        self.name = name
        self.default_value = default_value

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


def _resolve(arguments: Sequence | None, parameters: Mapping[str, Any]) -> list[str]:
    values = []
    for argument in arguments or ():
        if isinstance(argument, PipelineParameter):
            argument = parameters.get(argument.name, argument.default_value)
        elif not isinstance(argument, (str, int, float)):
            argument = getattr(argument, "name", None) or str(argument)  # a data reference
        values.append(argument)
    return _arguments(values)


@dataclass
class ScriptStep:
    """One step of a pipeline: a script that starts once every step in ``after`` completed."""

    name: str
    script: str
    source_directory: str | os.PathLike = "."
    arguments: Sequence | None = None
    compute_target: str | ComputeTarget | None = LOCAL
    after: Sequence[ScriptStep | str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.arguments = _arguments(self.arguments)
        self.compute_target = target_name(self.compute_target)
        self.after = [a.name if isinstance(a, ScriptStep) else a for a in self.after]

    def _spec(self, parameters: Mapping[str, Any], after: list[str]) -> dict[str, Any]:
        return {
            "name": self.name,
            "script": self.script,
            "arguments": self.arguments,
            "compute_target": self.compute_target,
            "after": after,
            "source_directory": self.source_directory,
        }


class PythonScriptStep:
    """v1's step that runs a Python script (``azureml.pipeline.steps``), with its
    signature. ``params`` reach the script as ``AML_PARAMETER_<name>`` environment
    variables, as in v1; a ``PipelineParameter`` in ``arguments`` becomes its value.
    ``inputs``, ``outputs`` (a step waits for the one whose output it takes),
    ``allow_reuse`` and the runconfig's environment are recorded on the step's run;
    a step runs again each time (no reuse of an earlier run's results)."""

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence | None = None,
        compute_target: Any = None,
        runconfig: Any = None,
        runconfig_pipeline_params: Mapping | None = None,
        inputs: Sequence | None = None,
        outputs: Sequence | None = None,
        params: Mapping[str, Any] | None = None,
        source_directory: str | os.PathLike | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: Sequence | None = None,
    ):
        if not script_name or not isinstance(script_name, str):
            raise ValidationError("PythonScriptStep needs a script_name.", field="script_name")
        if isinstance(arguments, (str, bytes)):
            raise ValidationError(
                "arguments must be a list, e.g. ['--lr', '0.1'].", field="arguments"
            )
        self.script_name = script_name
        self.name = name or script_name
        self.arguments = list(arguments or [])
        self.compute_target = _step_target(compute_target, runconfig)
        self.runconfig = runconfig
        self.runconfig_pipeline_params = runconfig_pipeline_params
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.params = dict(params or {})
        self.source_directory = source_directory or "."
        self.allow_reuse = allow_reuse
        self.version = version
        self.hash_paths = hash_paths
        self.run_after_steps: list[PythonScriptStep] = []
        if runconfig is not None and getattr(runconfig, "environment", None) is not None:
            _warn_once(
                "PythonScriptStep.runconfig",
                "studio: a PythonScriptStep's runconfig environment is recorded on the step "
                "(azureml.pipeline.environment), not built: the step runs in the "
                "submitter's Python.",
            )

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"

    def run_after(self, step: PythonScriptStep) -> None:
        """Run this step once ``step`` has completed."""
        self.run_after_steps.append(step)

    def _properties(self) -> dict[str, str]:
        def names(items: list) -> str:
            return ",".join(getattr(i, "name", None) or str(i) for i in items)

        properties = {"azureml.pipeline.allow_reuse": str(bool(self.allow_reuse))}
        if self.inputs:
            properties["azureml.pipeline.inputs"] = names(self.inputs)
        if self.outputs:
            properties["azureml.pipeline.outputs"] = names(self.outputs)
        if self.params:
            properties["azureml.pipeline.params"] = json.dumps(
                {str(k): str(v) for k, v in self.params.items()}, sort_keys=True
            )
        environment = getattr(self.runconfig, "environment", None)
        if environment is not None and getattr(environment, "name", None):
            properties["azureml.pipeline.environment"] = str(environment.name)
        return properties

    def _spec(self, parameters: Mapping[str, Any], after: list[str]) -> dict[str, Any]:
        return {
            "name": self.name,
            "script": self.script_name,
            "arguments": _resolve(self.arguments, parameters),
            "compute_target": self.compute_target,
            "after": after,
            "source_directory": self.source_directory,
            "properties": self._properties(),
        }


class StepSequence:
    """v1's steps that run one after the other, in the order given."""

    def __init__(self, steps: Sequence[PythonScriptStep]):
        self.steps = list(steps)
        for before, step in zip(self.steps, self.steps[1:], strict=False):
            step.run_after(before)


def _producers(steps: Iterable[Any]) -> dict[int, Any]:
    """Each output object (by identity) and the step that writes it."""
    return {id(out): step for step in steps for out in getattr(step, "outputs", ())}


def _waits_for(step: Any, producers: Mapping[int, Any]) -> list[Any]:
    """The steps ``step`` waits for: v1's ``run_after`` and the producers of its inputs."""
    if isinstance(step, ScriptStep):
        return list(step.after)
    found = list(step.run_after_steps)
    for item in step.inputs:
        producer = producers.get(id(getattr(item, "bind_object", item)))
        if producer is not None and producer is not step and producer not in found:
            found.append(producer)
    return found


class Pipeline:
    """Steps run as child runs of type ``step``, each once those it waits for have
    completed. ``Pipeline(workspace, steps, description=None, ...)`` as in v1."""

    _experiment_class: ClassVar[type[Experiment]]  # set by studio.sdk.experiment

    def __init__(
        self,
        workspace,
        steps: Sequence[Any] | StepSequence,
        description: str | None = None,
        default_datastore: Any = None,
        default_source_directory: str | os.PathLike | None = None,
        resolve_closure: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ):
        self.workspace = workspace
        self.description = description or ""
        self.default_source_directory = default_source_directory
        if isinstance(steps, StepSequence):
            steps = steps.steps
        given = list(steps)
        if not given:
            raise ValidationError("A pipeline needs at least one step.", field="steps")
        if all(isinstance(s, ScriptStep) for s in given):
            # Studio's own steps name what they wait for: checked as they are given.
            check_steps([(step.name, step.after) for step in given])
        self.steps = self._closure(given) if resolve_closure else given

    def _closure(self, given: list[Any]) -> list[Any]:
        """The steps given and every step they wait for, directly or not (v1's
        ``resolve_closure``), in the order met."""
        producers = _producers(given)
        found: list[Any] = []
        todo = list(given)
        while todo:
            step = todo.pop(0)
            if any(step is s for s in found):
                continue
            found.append(step)
            producers.update(_producers([step]))
            todo.extend(d for d in _waits_for(step, producers) if not isinstance(d, str))
        return found

    def _graph(self) -> list[tuple[Any, list[str]]]:
        producers = _producers(self.steps)
        return [
            (step, [d if isinstance(d, str) else d.name for d in _waits_for(step, producers)])
            for step in self.steps
        ]

    def validate(self) -> list[str]:
        """What would stop this pipeline from running, as a list of messages (empty
        when nothing does): steps sharing a name, a script missing from its source
        directory, a step waiting for one that is not in the pipeline, a cycle."""
        errors = []
        graph = self._graph()
        names = [step.name for step, _ in graph]
        for name in sorted({n for n in names if names.count(n) > 1}):
            errors.append(
                f"Step name {name!r} is used by {names.count(name)} steps; names must be unique."
            )
        for step, after in graph:
            script = getattr(step, "script_name", None) or step.script
            folder = Path(step.source_directory or self.default_source_directory or ".")
            if not (folder / script).is_file():
                errors.append(f"Step {step.name!r}: script {script!r} is not in {str(folder)!r}.")
            for dep in after:
                if dep not in names:
                    errors.append(
                        f"Step {step.name!r} waits for {dep!r}, which is not in the pipeline."
                    )
        cycle = _cycle({name: after for (_, after), name in zip(graph, names, strict=True)})
        if cycle:
            # Shown in run order: each step runs after the one before the arrow.
            errors.append(f"The steps form a cycle: {' -> '.join(reversed(cycle))}.")
        return errors

    def _specs(self, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [step._spec(parameters, after) for step, after in self._graph()]

    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
    ) -> PipelineRun:
        """Submit to the experiment named ``experiment_name`` (as ``Experiment.submit``)."""
        return self._experiment_class(self.workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs,
            parent_run_id=parent_run_id,
        )


def _cycle(after: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle of the graph (names, the first repeated at the end), or []."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for dep in after.get(name, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep in after and not state.get(dep):
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return []

    for name in after:
        if not state.get(name):
            found = visit(name)
            if found:
                return found
    return []


def submit_pipeline(
    experiment: Experiment,
    pipeline: Pipeline,
    *,
    tags: Mapping[str, str | None] | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool = False,
    regenerate_outputs: bool = False,
    parent_run_id: str | None = None,
    **kwargs: Any,
) -> PipelineRun:
    """``Experiment.submit(pipeline, ...)``: refused with the list ``validate()``
    gives when it is not empty; else a pipeline run (type ``pipeline``) with its
    steps as child runs, started at once."""
    errors = pipeline.validate()
    if errors:
        raise ValidationError("The pipeline cannot run: " + " ".join(errors), field="steps")
    if kwargs.get("pipeline_params") is not None:  # v1's older spelling
        pipeline_parameters = kwargs.pop("pipeline_params")
    for name in kwargs:
        _warn_once(f"submit.{name}", f"studio: Experiment.submit({name}=...) is ignored.")
    if parent_run_id is not None:
        _warn_once(
            "submit.parent_run_id",
            "studio: submit(parent_run_id=...) is recorded (azureml.parent_run_id); "
            "the pipeline run is not made a child of that run.",
        )
    parameters = dict(pipeline_parameters or {})
    specs = pipeline._specs(parameters)
    steps = [
        {
            **{k: v for k, v in spec.items() if k != "source_directory"},
            "files": collect(spec["source_directory"], spec["script"]),
        }
        for spec in specs
    ]
    properties = {
        "azureml.runsource": "azureml.PipelineRun",
        CONTINUE_ON_STEP_FAILURE: str(bool(continue_on_step_failure)),
        "azureml.regenerate_outputs": str(bool(regenerate_outputs)),
        PARAMETERS: json.dumps({str(k): str(v) for k, v in parameters.items()}, sort_keys=True),
    }
    if parent_run_id is not None:
        properties["azureml.parent_run_id"] = str(parent_run_id)
    data = experiment._store.submit_pipeline(
        experiment.workspace.name,
        experiment.name,
        steps=steps,
        tags=tags,
        description=pipeline.description,
        properties=properties,
    )
    return PipelineRun(experiment, data["id"], _data=data)


class _NoSuchCall:
    def _refuse(self, what: str):
        raise NotImplementedError(
            f"{what} is unsupported for {type(self).__name__}: its status follows its steps' processes."
        )


class PipelineRun(Run, _NoSuchCall):
    """A submitted pipeline (v1's ``azureml.pipeline.core.PipelineRun``)."""

    @property
    def name(self) -> str:
        return self.display_name

    @name.setter
    def name(self, value: str) -> None:
        self.display_name = value

    def complete(self) -> None:
        self._refuse("complete")

    def fail(self, error_details: str | None = None, error_code: str | None = None) -> None:
        self._refuse("fail")

    def child_run(self, name=None, run_id=None, outputs=None):
        self._refuse("child_run")

    def get_children(self, *args: Any, **kwargs: Any) -> list[StepRun]:  # type: ignore[override]
        return [
            StepRun(self.experiment, child.id, self.id, _data=child._data)
            for child in super().get_children(*args, **kwargs)
        ]

    def get_steps(self) -> list[StepRun]:
        """The step runs, oldest first."""
        return self.get_children(type="step")

    def find_step_run(self, name: str) -> list[StepRun]:
        """The step runs named ``name`` (a list, as in v1)."""
        return [step for step in self.get_steps() if step.name == name]

    def wait_for_completion(  # type: ignore[override]
        self,
        show_output: bool = True,
        timeout_seconds: float = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:
        """Block until the pipeline ends; return its final status. With
        ``show_output``, each step's log is streamed as it runs, then a summary."""
        print("PipelineRunId:", self.id)
        deadline = time.monotonic() + min(timeout_seconds, 10**9)
        status = self.get_status()
        if show_output:
            print("PipelineRun Status:", status)
            followed: set[str] = set()
            while status not in TERMINAL and time.monotonic() < deadline:
                for step in self.get_steps():
                    if step.id in followed or step.get_status() == "NotStarted":
                        continue
                    followed.add(step.id)
                    print()
                    step.wait_for_completion(
                        show_output=True,
                        timeout_seconds=max(0.0, deadline - time.monotonic()),
                        raise_on_error=False,
                    )
                status = self.get_status()
                if status not in TERMINAL:
                    time.sleep(0.5)
            title = "PipelineRun Execution Summary"
            print(f"\n{title}\n{'=' * len(title)}\nPipelineRun Status: {status}")
        while status not in TERMINAL:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Pipeline run {self.id} is still {status}.")
            time.sleep(0.5)
            status = self.get_status()
        error = self.get_details().get("error")
        if show_output and error and not raise_on_error:
            print("\nError:\n" + json.dumps(error, indent=4))
        if status == "Failed" and raise_on_error:
            message = (error or {}).get("message", "no reason given")
            raise RunFailed(f"Pipeline run {self.id} failed: {message}", field="status")
        return status


class StepRun(Run, _NoSuchCall):
    """A run of one step of a pipeline (v1's ``azureml.pipeline.core.StepRun``)."""

    def __init__(
        self,
        experiment: Experiment,
        step_run_id: str,
        pipeline_run_id: str | None = None,
        node_id: str | None = None,
        _service_endpoint: Any = None,
        _data: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(experiment, step_run_id, _data=_data)
        self._pipeline_run_id = pipeline_run_id

    @property
    def name(self) -> str:
        return self.display_name

    @name.setter
    def name(self, value: str) -> None:
        self.display_name = value

    @property
    def pipeline_run_id(self) -> str:
        return self._pipeline_run_id or self._data["parent_id"]

    def complete(self) -> None:
        self._refuse("complete")

    def fail(self, error_details: str | None = None, error_code: str | None = None) -> None:
        self._refuse("fail")

    def child_run(self, name=None, run_id=None, outputs=None):
        self._refuse("child_run")

    def get_job_log(self) -> str:
        """The step's log so far (stdout and stderr, as the script wrote them)."""
        chunks, offset = [], 0
        while True:
            try:
                chunk, size = self._store.read_file(self.id, filenames.LIVE_LOG, offset)
            except Exception:  # no log yet
                break
            chunks.append(chunk)
            offset += len(chunk)
            if not chunk or offset >= size:
                break
        return b"".join(chunks).decode("utf-8", "replace")

    get_stdout_log = get_job_log
    get_stderr_log = get_job_log

    def wait_for_completion(  # type: ignore[override]
        self,
        show_output: bool = True,
        timeout_seconds: float = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:
        """Block until the step ends (streaming its log with ``show_output``);
        return its final status."""
        print("StepRunId:", self.id)
        details = Run.wait_for_completion(
            self,
            show_output=show_output,
            raise_on_error=raise_on_error,
            timeout=min(timeout_seconds, 10**9),
        )
        if show_output:
            title = "StepRun Execution Summary"
            print(
                f"\n{title}\n{'=' * len(title)}\nStepRun({self.name}) Status: {details['status']}"
            )
        return details["status"]
