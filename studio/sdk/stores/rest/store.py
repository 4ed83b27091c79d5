"""``RestStore``: the store contract over the JSON API v1 (the package's docstring
says how metric batches survive an outage)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import httpx
import numpy as np

from studio.core.env import studio_home
from studio.errors import NotFound, Unavailable, ValidationError, error_from_code
from studio.rules import jsoncodec, seriescodec, validation, wire
from studio.rules.filenames import SNAPSHOT, check_file_name
from studio.rules.runquery import FIRST_PAGE, MAX_PAGE, RunQuery, check_limit, page_size
from studio.sdk.stores.base import Store
from studio.sdk.stores.rest.common import API, LOCAL, _file_path, _q, _token_hash, _with_remedy
from studio.sdk.stores.rest.registry import RestRegistry
from studio.sdk.stores.rest.spool import Spool


class RestStore(Spool, RestRegistry, Store):
    def __init__(self, uri: str, token: str | None = None) -> None:
        self.uri = uri.rstrip("/")
        token = token or os.environ.get("STUDIO_TOKEN")
        if not token:
            raise ValidationError(
                "Set STUDIO_TOKEN to an API token to use a remote studio.", field="token"
            )
        self.client = httpx.Client(
            base_url=self.uri + API,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "studio-sdk"},
            timeout=httpx.Timeout(60.0, connect=5.0),
        )
        self.token = token  # handed to the supervisors this process starts, never stored
        self.token_hash = _token_hash(token)
        identity = hashlib.sha256(f"{self.uri}\n{self.token_hash}".encode()).hexdigest()[:32]
        self.spool_root = studio_home() / "spool" / identity / "runs"
        self.refused_root = self.spool_root.parent / "refused"
        self.spool_lock = threading.Lock()
        self.down_until = 0.0
        self.drain()

    # --- transport ---------------------------------------------------------------

    def _call(self, method: str, path: str, *, json_body: Any = None, **kwargs: Any) -> Any:
        try:
            return wire.call(self.client, self.uri, method, path, json_body=json_body, **kwargs)
        except NotFound as exc:
            raise _with_remedy(exc) from None

    def _params(self, **params: Any) -> dict[str, Any]:
        out = {}
        for key, value in params.items():
            if value is None or value is False:
                continue
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            elif value is True:
                value = "true"
            out[key] = value
        return out

    # --- workspaces and experiments --------------------------------------------------

    def get_workspace(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/workspaces/{_q(name)}")

    def list_workspaces(self) -> list[dict[str, Any]]:
        return self._call("GET", "/workspaces")["workspaces"]

    def create_workspace(self, name: str) -> dict[str, Any]:
        return self._call("POST", "/workspaces", json_body={"name": name})

    def update_workspace(
        self, name: str, *, new_name: str | None = None, archived: bool | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if new_name is not None:
            body["name"] = new_name
        if archived is not None:
            body["archived"] = archived
        return self._call("PATCH", f"/workspaces/{_q(name)}", json_body=body)

    def delete_workspace(self, name: str, *, confirm: str) -> None:
        self._call("DELETE", f"/workspaces/{_q(name)}", json_body={"confirm": confirm})

    def get_or_create_experiment(self, workspace: str, name: str) -> dict[str, Any]:
        return self._call(
            "POST", f"/workspaces/{_q(workspace)}/experiments", json_body={"name": name}
        )

    def list_experiments(self, workspace: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/workspaces/{_q(workspace)}/experiments")["experiments"]

    # --- runs ----------------------------------------------------------------------

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
        body = {"experiment": experiment, "type": type, "display_name": display_name}
        if parent_id:
            body["parent_id"] = parent_id
        if tags:
            body["tags"] = dict(tags)
        if properties:
            body["properties"] = dict(properties)
        return self._call("POST", f"/workspaces/{_q(workspace)}/runs", json_body=body)

    def create_children(
        self,
        run_id: str,
        *,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        body = {"count": count, "tag_key": tag_key, "tag_values": tag_values}
        return self._call("POST", f"/runs/{_q(run_id)}/children", json_body=body)["runs"]

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/runs/{_q(run_id)}")

    def list_runs(
        self, workspace: str, query: RunQuery, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        return self._pages(f"/workspaces/{_q(workspace)}/runs", query.to_params(), limit)

    def list_view_runs(
        self, workspace: str, view: str, experiment: str | None = None, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        path = f"/workspaces/{_q(workspace)}/views/{_q(view)}/runs"
        return self._pages(path, list(self._params(experiment=experiment).items()), limit)

    def _pages(
        self, path: str, params: list[tuple[str, str]], limit: int | None
    ) -> Iterator[dict[str, Any]]:
        """Every run of a list (with ``limit``, its first ``limit``), a keyset page at
        a time: the first page (requested at once, so a bad query fails at the call)
        of 100 or of the limit, then pages of 1,000 or of what the limit leaves."""
        limit = check_limit(limit)
        size = page_size(limit, 0, FIRST_PAGE)
        page = self._call("GET", path, params=[*params, ("limit", str(size))])

        def runs() -> Iterator[dict[str, Any]]:
            current, taken = page, 0
            while True:
                got = current["runs"] if limit is None else current["runs"][: limit - taken]
                yield from got
                taken += len(got)
                if not current["next"] or (limit is not None and taken >= limit):
                    return
                size = page_size(limit, taken, MAX_PAGE)
                more = [*params, ("limit", str(size)), ("cursor", current["next"])]
                current = self._call("GET", path, params=more)

        return runs()

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        for lo in range(0, len(run_ids), validation.MAX_HEARTBEAT_RUNS):
            part = list(run_ids[lo : lo + validation.MAX_HEARTBEAT_RUNS])
            self._call("POST", "/heartbeat", json_body={"runs": part})

    def update_run(
        self, run_id: str, *, display_name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        body = {
            k: v
            for k, v in (("display_name", display_name), ("description", description))
            if v is not None
        }
        return self._call("PATCH", f"/runs/{_q(run_id)}", json_body=body)

    def complete_run(self, run_id: str) -> dict[str, Any]:
        self.drain(run_id, required=True)
        return self._call("POST", f"/runs/{_q(run_id)}/complete", json_body={})

    def fail_run(
        self, run_id: str, *, error_details: str | None = None, error_code: str | None = None
    ) -> dict[str, Any]:
        self.drain(run_id)
        body = {"error_details": error_details, "error_code": error_code}
        return self._call("POST", f"/runs/{_q(run_id)}/fail", json_body=body)

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        self.drain(run_id)
        return self._call("POST", f"/runs/{_q(run_id)}/cancel", json_body={})

    def archive_run(self, run_id: str, *, archived: bool = True) -> dict[str, Any]:
        action = "archive" if archived else "unarchive"
        return self._call("POST", f"/runs/{_q(run_id)}/{action}", json_body={})["run"]

    def delete_run(self, run_id: str) -> None:
        self.drain(run_id)
        self._call("POST", f"/runs/{_q(run_id)}/delete", json_body={})

    def restore_run(self, run_id: str) -> dict[str, Any]:
        return self._call("POST", f"/runs/{_q(run_id)}/restore", json_body={})["run"]

    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> dict[str, str]:
        body = {"properties": dict(properties)}
        return self._call("POST", f"/runs/{_q(run_id)}/properties", json_body=body)["properties"]

    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> dict[str, str | None]:
        return self._call("POST", f"/runs/{_q(run_id)}/tags", json_body={"tags": dict(tags)})[
            "tags"
        ]

    def remove_tags(self, run_id: str, keys: Sequence[str]) -> dict[str, str | None]:
        body = {"keys": list(keys)}
        return self._call("POST", f"/runs/{_q(run_id)}/tags/remove", json_body=body)["tags"]

    def get_metrics(self, run_id: str, name: str | None = None) -> dict[str, Any]:
        params = {"name": name} if name is not None else None
        return self._call("GET", f"/runs/{_q(run_id)}/metrics", params=params)["metrics"]

    def get_metric_history(self, run_id: str, name: str) -> dict[str, Any]:
        """Asks for the binary columns (``seriescodec``); a text series comes as JSON."""
        answer = self._call(
            "GET",
            f"/runs/{_q(run_id)}/metrics/history",
            params={"name": name},
            headers={"Accept": f"{seriescodec.MEDIA_TYPE}, application/json;q=0.5"},
        )
        if isinstance(answer, dict):
            return {
                "steps": np.asarray(answer["steps"], dtype=np.int64),
                "values": answer["values"],
                "times": np.asarray(answer["times"], dtype=np.float64),
            }
        steps, values, times = seriescodec.decode(answer.content)
        return {"steps": steps, "values": values, "times": times}

    # --- execution -------------------------------------------------------------------

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
        body = {
            "name": name,
            "capacity": capacity,
            "provisioning": provisioning,
            "kind": kind,
            "slurm": slurm,
        }
        return self._call(
            "POST",
            f"/workspaces/{_q(workspace)}/compute-targets",
            json_body={k: v for k, v in body.items() if v is not None},
        )

    def list_compute_targets(self, workspace: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/workspaces/{_q(workspace)}/compute-targets")["targets"]

    def compute_target_status(self, workspace: str, name: str) -> dict[str, Any]:
        return self._call("GET", f"/workspaces/{_q(workspace)}/compute-targets/{_q(name)}")

    def delete_compute_target(self, workspace: str, name: str) -> None:
        self._call(
            "DELETE", f"/workspaces/{_q(workspace)}/compute-targets/{_q(name)}", json_body={}
        )

    def _upload_snapshot(self, run_id: str, files) -> None:
        for name, path in files:
            with open(path, "rb") as f:
                self.upload_file(run_id, SNAPSHOT + name, f)

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
        body = {
            "experiment": experiment,
            "script": script,
            "arguments": list(arguments),
            "compute_target": compute_target,
            "parent_id": parent_id,
            "tags": dict(tags) if tags else None,
        }
        # Sent only when given, so a studio that predates them still takes the rest.
        extra = {"environment": environment, "properties": properties, "variables": variables}
        body.update({k: dict(v) for k, v in extra.items() if v})
        run = self._call("POST", f"/workspaces/{_q(workspace)}/submissions", json_body=body)
        self._upload_snapshot(run["id"], files)
        if compute_target == LOCAL:
            # v1's default target: the script runs here, supervised here, and reports
            # to the studio over its API.
            self._start_here("studio.execution.supervisor", run["id"])
            return run
        return self._call("POST", f"/runs/{_q(run['id'])}/enqueue", json_body={})

    # environments
    def register_environment(self, workspace: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        return self._call(
            "POST",
            f"/workspaces/{_q(workspace)}/environments",
            json_body={"definition": dict(definition)},
        )

    def get_environment(
        self, workspace: str, name: str, version: str | None = None
    ) -> dict[str, Any]:
        params = {"environment": name, **({"version": version} if version is not None else {})}
        found = self._call("GET", f"/workspaces/{_q(workspace)}/environments", params=params)
        return found["environments"][0]

    def list_environments(self, workspace: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/workspaces/{_q(workspace)}/environments")["environments"]

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
        body = {
            "experiment": experiment,
            "steps": [{k: v for k, v in step.items() if k != "files"} for step in steps],
            "tags": dict(tags) if tags else None,
            "description": description,
            "properties": dict(properties) if properties else None,
        }
        pipeline = self._call("POST", f"/workspaces/{_q(workspace)}/pipelines", json_body=body)
        for step in steps:
            self._upload_snapshot(pipeline["steps"][step["name"]], step["files"])
        if any(step["compute_target"] == LOCAL for step in steps):
            # Its local steps run here: so does its driver (the studio made its
            # target local), which queues the others for their workers.
            self._start_here("studio.execution.pipeline", pipeline["id"])
            return self.get_run(pipeline["id"])
        return self._call("POST", f"/runs/{_q(pipeline['id'])}/enqueue", json_body={})

    def _start_here(self, module: str, run_id: str) -> None:
        from studio.core.spawn import spawn_client

        spawn_client(module, run_id, self.uri, self.token)

    def read_file(
        self, run_id: str, name: str, offset: int = 0, limit: int = 1 << 20
    ) -> tuple[bytes, int]:
        response = self._call(
            "GET",
            f"/runs/{_q(run_id)}/files/{_file_path(name)}",
            params={"offset": offset, "limit": limit},
        )
        return response.content, int(response.headers["X-Studio-Size"])

    # --- files -----------------------------------------------------------------------

    def upload_file(self, run_id: str, name: str, stream: IO[bytes]) -> dict[str, Any]:
        path = _file_path(check_file_name(name))
        return self._call(
            "PUT",
            f"/runs/{_q(run_id)}/files/{path}",
            content=stream.read(),
            headers={"Content-Type": "application/octet-stream"},
        )

    def file_names(self, run_id: str) -> list[str]:
        return self._call("GET", f"/runs/{_q(run_id)}/files")["files"]

    def download_file(self, run_id: str, name: str, out: IO[bytes]) -> None:
        self._stream_to(f"/runs/{_q(run_id)}/files/{_file_path(name)}", out)

    def _stream_to(self, url: str, out: IO[bytes]) -> None:
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    error = jsoncodec.loads(response.content)["error"]
                    raise error_from_code(
                        error["code"], error["message"], error.get("field"), response.status_code
                    )
                for chunk in response.iter_bytes(1024 * 1024):
                    out.write(chunk)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"Cannot reach the studio at {self.uri}: {exc}", field="uri"
            ) from None
