"""The in-process store: the SDK calls the domain services directly, on the database
that Django's settings name (SQLite under STUDIO_HOME unless DATABASE_URL says
otherwise). The process is trusted like the owner of the database file."""

from __future__ import annotations

import getpass
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from studio.bootstrap import setup_django
from studio.errors import NotFound
from studio.rules.runquery import FIRST_PAGE, MAX_PAGE, RunQuery
from studio.sdk.stores.base import Store
from studio.sdk.stores.registry import RegistryContract


def _who() -> str:
    try:
        return os.environ.get("STUDIO_USER") or getpass.getuser()
    except Exception:  # no passwd entry for this uid (containers)
        return f"uid-{os.getuid()}"


class LocalRegistry(RegistryContract):
    """The model registry in-process (uses LocalStore's ``_workspace`` and ``_run``)."""

    user: str

    def list_models(
        self,
        workspace: str,
        *,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        run_id: str | None = None,
        latest: bool = False,
    ) -> list[dict[str, Any]]:
        from studio.registry import selectors
        from studio.registry.schema import version_to_dict

        versions = selectors.version_list(
            workspace=self._workspace(workspace),
            name=name,
            tags=list(tags),
            properties=list(properties),
            run_id=run_id,
            latest=latest,
        )
        return [version_to_dict(v) for v in versions]

    def get_model(self, workspace: str, name: str, version: int | None = None) -> dict[str, Any]:
        from studio.registry import selectors
        from studio.registry.schema import version_to_dict

        found = selectors.version_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        return version_to_dict(found)

    def _model_dict(self, version) -> dict[str, Any]:
        from studio.registry import selectors
        from studio.registry.schema import version_to_dict

        return version_to_dict(
            selectors.version_get(
                workspace=version.model.workspace, name=version.model.name, version=version.version
            )
        )

    def register_model_from_run(
        self,
        run_id: str,
        name: str,
        *,
        path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        from studio.registry import services

        run = self._run(run_id)
        version = services.model_register(
            workspace=run.workspace,
            name=name,
            created_by=self.user,
            run=run,
            path=path,
            tags=tags,
            properties=properties,
            description=description,
        )
        return self._model_dict(version)

    def register_model_files(
        self,
        workspace: str,
        name: str,
        *,
        files: Sequence[tuple[str, Any]],
        path: str = "",
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        from studio.registry import services

        ws = self._workspace(workspace)
        upload = uuid.uuid4()
        try:
            for file_name, file_path in files:
                with open(file_path, "rb") as f:
                    services.model_file_stage(
                        workspace=ws,
                        upload=upload,
                        name=file_name,
                        content=f,
                        uploaded_by=self.user,
                    )
            version = services.model_register(
                workspace=ws,
                name=name,
                created_by=self.user,
                upload=upload,
                path=path,
                tags=tags,
                properties=properties,
                description=description,
            )
        except BaseException:
            services.model_upload_discard(workspace=ws, upload=upload)
            raise
        return self._model_dict(version)

    def update_model(
        self,
        workspace: str,
        name: str,
        version: int,
        *,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        from studio.registry import selectors, services

        found = selectors.version_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        services.model_version_update(
            version=found,
            tags=tags,
            remove_tags=list(remove_tags or ()),
            properties=properties,
            description=description,
        )
        return self._model_dict(found)

    def download_model_file(
        self, workspace: str, name: str, version: int, file: str, out: IO[bytes]
    ) -> None:
        from studio.registry import selectors

        found = selectors.version_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        model_file = selectors.file_get(version=found, name=file)
        with selectors.file_open(model_file=model_file) as src:
            shutil.copyfileobj(src, out, 1024 * 1024)


_EXPERIMENTS_KEPT = 64


class LocalStore(LocalRegistry, Store):
    def __init__(self) -> None:
        setup_django()
        from django.conf import settings

        self.uri = f"local://{settings.DATABASES['default']['NAME']}"
        self.user = _who()
        # (workspace, experiment) names -> the experiment (its workspace attached) the
        # last start_logging() found: the next start skips that read (a run's start and
        # end took 0.95 ms, 53 us of it this read).
        self._experiments: dict[tuple[str, str], Any] = {}

    def release(self) -> None:
        from django.db import connections

        connections.close_all()

    # helpers
    def _run(self, run_id: str):
        """A run to change: its row, experiment, workspace and parent in one query, no
        tags or properties (``_dict_of`` reads them once the change is made)."""
        from studio.tracking import selectors

        # A run gone quiet comes back lost.
        return selectors.run_get(run_id=run_id, writer=True)

    def _dict(self, run_id: str) -> dict[str, Any]:
        from studio.tracking import selectors
        from studio.tracking.schema import run_to_dict

        return run_to_dict(selectors.run_get(run_id=run_id))

    def _dict_of(self, run, labels=None) -> dict[str, Any]:
        """The dictionary of ``run`` as a service left it (read with ``_run``, not
        again): its tags and properties read (one query) unless ``labels`` has them
        or the service answered them (``labels_read``: a run's end)."""
        from studio.tracking import selectors
        from studio.tracking.schema import run_to_dict

        labels = labels or getattr(run, "labels_read", None)
        return run_to_dict(run, labels or selectors.run_labels(run=run))

    def _workspace(self, name: str):
        from studio.tracking import services

        # The local store is the owner of its database: workspaces are created on use.
        return services.workspace_get_or_create(name=name)

    # workspaces and experiments
    # The local store owns its database: its user is every workspace's owner.
    def get_workspace(self, name: str) -> dict[str, Any]:
        from studio.tracking.schema import workspace_to_dict

        return workspace_to_dict(self._workspace(name), "owner")

    def _existing_workspace(self, name: str):
        from studio.tracking.models import Workspace

        found = Workspace.objects.filter(name=name).first() if isinstance(name, str) else None
        if found is None:
            raise NotFound(f"Workspace {name!r} does not exist.", field="workspace")
        return found

    def list_workspaces(self) -> list[dict[str, Any]]:
        from studio.tracking.models import Workspace
        from studio.tracking.schema import workspace_to_dict

        return [workspace_to_dict(w, "owner") for w in Workspace.objects.order_by("name")]

    def create_workspace(self, name: str) -> dict[str, Any]:
        from studio.tracking.schema import workspace_to_dict
        from studio.tracking.services import workspaces

        return workspace_to_dict(workspaces.workspace_create(name=name), "owner")

    def update_workspace(
        self, name: str, *, new_name: str | None = None, archived: bool | None = None
    ) -> dict[str, Any]:
        from studio.tracking.schema import workspace_to_dict
        from studio.tracking.services import workspaces

        found = self._existing_workspace(name)
        if archived is not None:
            workspaces.workspace_set_archived(workspace=found, archived=archived)
        if new_name is not None:
            workspaces.workspace_rename(workspace=found, name=new_name)
        return workspace_to_dict(found, "owner")

    def delete_workspace(self, name: str, *, confirm: str) -> None:
        from studio.tracking.services import workspaces

        workspaces.workspace_delete(workspace=self._existing_workspace(name), confirm=confirm)

    def _writable(self, name: str):
        from studio.tracking import services

        workspace = self._workspace(name)
        services.workspace_check_writable(workspace)
        return workspace

    def get_or_create_experiment(self, workspace: str, name: str) -> dict[str, Any]:
        from studio.tracking import services
        from studio.tracking.schema import experiment_to_dict

        experiment = services.experiment_get_or_create(
            workspace=self._writable(workspace), name=name
        )
        return experiment_to_dict(experiment)

    def list_experiments(self, workspace: str) -> list[dict[str, Any]]:
        from studio.tracking import selectors
        from studio.tracking.schema import experiment_to_dict

        ws = self._workspace(workspace)
        return [experiment_to_dict(e) for e in selectors.experiment_list(workspace=ws)]

    # runs
    def create_run(
        self,
        workspace: str,
        experiment: str,
        *,
        type: str = "interactive",
        parent_id: str | None = None,
        display_name: str = "",
        tags: Mapping[str, str | None] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        from studio.tracking import selectors, services

        parent = self._run(parent_id) if parent_id else None
        args = dict(
            submitted_by=self.user,
            type=type,
            parent=parent,
            display_name=display_name,
            tags=tags,
            properties=properties,
        )
        key = (workspace, experiment)
        exp = self._experiments.get(key)
        run = None
        if exp is not None:
            # The experiment this store found before: the statement that numbers the
            # run checks that its workspace is still the writable one of that name.
            try:
                run = services.run_create(experiment=exp, workspace_name=workspace, **args)
            except services.WorkspaceChanged:
                self._experiments.pop(key, None)  # (another thread may have)
        if run is None:
            exp = selectors.experiment_with_workspace(workspace=workspace, name=experiment)
            if exp is None or exp.workspace.archived:  # made on first use, or refused
                ws = self._writable(workspace)
                exp = services.experiment_get_or_create(workspace=ws, name=experiment)
                exp.workspace = ws
            run = services.run_create(experiment=exp, **args)
            if len(self._experiments) >= _EXPERIMENTS_KEPT:
                self._experiments.clear()
            self._experiments[key] = exp
        run.workspace = exp.workspace
        # A run made without tags or properties has none: nothing to read back.
        return self._dict_of(run, None if tags or properties else ({}, {}))

    def create_children(
        self,
        run_id: str,
        *,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        from studio.tracking import selectors, services
        from studio.tracking.schema import run_to_dict

        runs = services.run_create_children(
            parent=self._run(run_id),
            submitted_by=self.user,
            count=count,
            tag_key=tag_key,
            tag_values=tag_values,
        )
        by_id = {r.run_id: r for r in selectors.runs_by_ids(run_ids=[r.run_id for r in runs])}
        return [run_to_dict(by_id[r.run_id]) for r in runs]

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._dict(run_id)

    def list_runs(
        self, workspace: str, query: RunQuery, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        from studio.tracking.runlist import query as runlist
        from studio.tracking.schema import run_rows

        ws = self._workspace(workspace)
        found = runlist.each(query, workspace=ws, limit=limit, load=run_rows)
        return (row.data for row in found)

    def list_view_runs(
        self, workspace: str, view: str, experiment: str | None = None, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        from studio.tracking import saved_views
        from studio.tracking.runlist import pages
        from studio.tracking.schema import run_rows

        ws = self._workspace(workspace)
        # The local store acts as its user (STUDIO_USER): their views, then shared ones.
        found = saved_views.view_find(workspace=ws, name=view, username=self.user)
        runs, state = saved_views.view_runs(view=found, experiment=experiment)
        chunks = pages.iterate(
            runs, state.sort, chunk=MAX_PAGE, first=FIRST_PAGE, limit=limit, load=run_rows
        )
        return (row.data for chunk in chunks for row in chunk)

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        from studio.tracking import selectors, services

        services.runs_heartbeat(runs=selectors.runs_by_ids(run_ids=run_ids))

    def update_run(
        self, run_id: str, *, display_name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        from studio.tracking import services

        services.run_update(
            run=self._run(run_id), display_name=display_name, description=description
        )
        return self._dict(run_id)

    def complete_run(self, run_id: str) -> dict[str, Any]:
        from studio.tracking import services
        from studio.tracking.models import RunStatus

        # A run whose process keeps it alive ends in one statement; any other (lost,
        # finished, gone) is read first, as every write reads it, and says why.
        run = services.run_transition_live(run_id=run_id, status=RunStatus.COMPLETED)
        return self._dict_of(run or services.run_complete(run=self._run(run_id)))

    def fail_run(
        self, run_id: str, *, error_details: str | None = None, error_code: str | None = None
    ) -> dict[str, Any]:
        from studio.tracking import services
        from studio.tracking.models import RunStatus

        # The error is checked once; both paths write it as run_fail would.
        error = services.run_failure(error_details, error_code)
        run = services.run_transition_live(
            run_id=run_id, status=RunStatus.FAILED, reason="failed", error=error
        ) or services.run_transition(
            run=self._run(run_id), status=RunStatus.FAILED, reason="failed", error=error
        )
        return self._dict_of(run)

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        from studio.tracking import services

        services.run_cancel(run=self._run(run_id))
        return self._dict(run_id)

    def archive_run(self, run_id: str, *, archived: bool = True) -> dict[str, Any]:
        from studio.tracking import services

        service = services.run_archive if archived else services.run_unarchive
        service(runs=[self._run(run_id)])
        return self._dict(run_id)

    def delete_run(self, run_id: str) -> None:
        from studio.tracking import services

        services.run_delete(runs=[self._run(run_id)])

    def restore_run(self, run_id: str) -> dict[str, Any]:
        from studio.tracking import selectors, services

        services.run_restore(runs=[selectors.run_get(run_id=run_id, trashed=True)])
        return self._dict(run_id)

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> dict[str, str]:
        from studio.tracking import services

        return services.run_add_properties(run=self._run(run_id), properties=properties)

    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> dict[str, str | None]:
        from studio.tracking import services

        services.run_set_tags(run=self._run(run_id), tags=tags)
        return self._dict(run_id)["tags"]

    def remove_tags(self, run_id: str, keys: Sequence[str]) -> dict[str, str | None]:
        from studio.tracking import services

        services.run_remove_tags(run=self._run(run_id), keys=keys)
        return self._dict(run_id)["tags"]

    # metrics
    def log_batch(
        self,
        run_id: str,
        batch_id: str,
        series: Sequence[Mapping[str, Any]],
        records: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        from studio.tracking import selectors, services

        # The run's row and workspace only (one lighter query): a batch reads nothing
        # else; a run gone quiet still comes back lost and refuses it.
        run = selectors.run_get(run_id=run_id, light=True)
        return services.metric_log_batch(run=run, batch_id=batch_id, series=series, records=records)

    def get_metrics(self, run_id: str, name: str | None = None) -> dict[str, Any]:
        from studio.tracking import selectors

        return selectors.metrics_get(run=self._run(run_id), name=name)

    def get_metric_history(self, run_id: str, name: str) -> dict[str, Any]:
        from studio.tracking import selectors

        steps, values, times = selectors.metric_history(run=self._run(run_id), name=name)
        return {"steps": steps, "values": values, "times": times}

    # execution
    def get_compute_target(
        self,
        workspace: str,
        name: str,
        *,
        capacity: int | None = None,
        provisioning: dict[str, Any] | None = None,
        kind: str | None = None,
        slurm: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from studio.execution import services as execution

        target = execution.compute_target_get_or_create(
            workspace=self._workspace(workspace),
            name=name,
            capacity=capacity,
            provisioning=provisioning,
            kind=kind,
            slurm_settings=slurm,
        )
        return execution.compute_target_to_dict(target)

    def compute_target_status(self, workspace: str, name: str) -> dict[str, Any]:
        from studio.execution import selectors

        return selectors.compute_target_status(workspace=self._workspace(workspace), name=name)

    def delete_compute_target(self, workspace: str, name: str) -> None:
        from studio.execution import services as execution

        execution.compute_target_delete(workspace=self._workspace(workspace), name=name)

    def list_compute_targets(self, workspace: str) -> list[dict[str, Any]]:
        from studio.execution import services as execution

        targets = execution.compute_target_list(workspace=self._workspace(workspace))
        return [execution.compute_target_to_dict(t) for t in targets]

    def _upload_snapshot(self, run, files) -> None:
        from studio.rules.filenames import SNAPSHOT
        from studio.tracking import services

        for name, path in files:
            with open(path, "rb") as f:
                services.run_file_upload(run=run, name=SNAPSHOT + name, content=f)

    def submit_run(
        self,
        workspace: str,
        experiment: str,
        *,
        script: str,
        arguments: Sequence[str],
        compute_target: str,
        files: Sequence[tuple[str, Any]],
        parent_id: str | None = None,
        tags: Mapping[str, str | None] | None = None,
        environment: Mapping[str, Any] | None = None,
        properties: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        from studio.execution import services as execution
        from studio.execution.launch import spawn
        from studio.tracking import services

        ws = self._workspace(workspace)
        run = execution.run_submit(
            experiment=services.experiment_get_or_create(workspace=ws, name=experiment),
            submitted_by=self.user,
            script=script,
            arguments=arguments,
            compute_target=compute_target,
            parent=self._run(parent_id) if parent_id else None,
            tags=tags,
            environment=environment,
            properties=properties,
            variables=variables,
        )
        self._upload_snapshot(run, files)
        if compute_target == execution.LOCAL:
            spawn("studio.execution.supervisor", run.run_id)
        else:
            execution.run_enqueue(run=run)
        return self._dict(run.run_id)

    # environments
    def register_environment(self, workspace: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        from studio.execution import selectors
        from studio.execution import services as execution

        env = execution.environment_register(
            workspace=self._workspace(workspace), definition=definition, created_by=self.user
        )
        return selectors.environment_to_dict(env)

    def get_environment(
        self, workspace: str, name: str, version: str | None = None
    ) -> dict[str, Any]:
        from studio.execution import selectors

        env = selectors.environment_get(
            workspace=self._workspace(workspace), name=name, version=version
        )
        return selectors.environment_to_dict(env)

    def list_environments(self, workspace: str) -> list[dict[str, Any]]:
        from studio.execution import selectors

        return selectors.environment_list(workspace=self._workspace(workspace))

    def submit_pipeline(
        self,
        workspace: str,
        experiment: str,
        *,
        steps: Sequence[Mapping[str, Any]],
        tags: Mapping[str, str | None] | None = None,
        description: str = "",
        properties: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        from studio.execution import services as execution
        from studio.execution.launch import spawn
        from studio.tracking import services

        exp = services.experiment_get_or_create(
            workspace=self._workspace(workspace), name=experiment
        )
        pipeline, runs = execution.pipeline_submit(
            experiment=exp,
            submitted_by=self.user,
            steps=steps,
            tags=tags,
            description=description,
            properties=properties,
        )
        created = zip(runs, (step["files"] for step in steps), strict=True)
        for run, files in created:
            self._upload_snapshot(run, files)
        spawn("studio.execution.pipeline", pipeline.run_id)
        return self._dict(pipeline.run_id)

    def read_file(
        self, run_id: str, name: str, offset: int = 0, limit: int = 1 << 20
    ) -> tuple[bytes, int]:
        from studio.tracking import selectors

        run_file = selectors.file_get(run=self._run(run_id), name=name)
        return selectors.file_read(run_file=run_file, offset=offset, limit=limit)

    # files
    def upload_file(self, run_id: str, name: str, stream: IO[bytes]) -> dict[str, Any]:
        from studio.tracking import services

        f = services.run_file_upload(run=self._run(run_id), name=name, content=stream)
        return {"name": f.name, "size": f.size}

    def file_names(self, run_id: str) -> list[str]:
        from studio.tracking import selectors

        return selectors.file_names(run=self._run(run_id))

    def download_file(self, run_id: str, name: str, out: IO[bytes]) -> None:
        from studio.tracking import selectors

        run_file = selectors.file_get(run=self._run(run_id), name=name)
        with selectors.file_open(run_file=run_file) as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
