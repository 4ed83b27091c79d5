"""Actions on the runs selected in a list: compare them (a link), make one the
list's baseline (a link), tag, cancel, archive, unarchive or delete them (writes,
through the tracking services, for contributors and owners)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from studio.accounts.access import require_role
from studio.core.client import client_address
from studio.errors import InvalidTransition, StudioError, ValidationError
from studio.tracking import services
from studio.tracking.models import Run, Workspace
from studio.web.common import back

MAX_SELECTED = 200
ACTIONS = ("compare", "baseline", "tag", "cancel", "archive", "unarchive", "delete")
# Whole-run actions: one service call for the selection (and the runs below it).
LIFECYCLE = {
    "archive": (services.run_archive, "Archived {runs}: search archived to see them."),
    "unarchive": (services.run_unarchive, "{runs} back in the lists."),
    "delete": (services.run_delete, "Moved {runs} to the trash (Trash restores them)."),
}
COMPARE_PATH = "/compare/"  # the compare page (run_page.py) takes ?runs=ID,ID


def act(request: HttpRequest, workspace: Workspace | None) -> HttpResponse:
    if workspace is None:
        raise Http404("No workspace")
    action = request.POST.get("action")
    if action not in ACTIONS:
        messages.error(request, "Choose what to do with the selected runs.")
        return redirect(back(request, reverse("run-list")))
    if action not in ("compare", "baseline"):
        require_role(request.user, workspace, "write")
    ids = list(dict.fromkeys(request.POST.getlist("run")))[:MAX_SELECTED]
    # Only runs of the workspace the user is in; others are silently not there.
    runs = list(Run.objects.filter(workspace=workspace, run_id__in=ids).order_by("-created_at"))
    if not runs:
        messages.error(request, "Select one or more runs first.")
        return redirect(back(request, reverse("run-list")))
    if action == "baseline":
        return _baseline(request, runs)
    if action == "compare":
        ordered = [r.run_id for r in sorted(runs, key=lambda r: ids.index(r.run_id))]
        return redirect(f"{COMPARE_PATH}?{urlencode({'runs': ','.join(ordered)})}")
    if action == "tag":
        _tag(request, runs)
    elif action in LIFECYCLE:
        _lifecycle(request, action, runs)
    else:
        _cancel(request, runs)
    return redirect(back(request, reverse("run-list")))


def _baseline(request: HttpRequest, runs: list[Run]) -> HttpResponse:
    """Back to the list, with the one selected run as its baseline."""
    target = back(request, reverse("run-list"))
    if len(runs) != 1:
        messages.error(request, "Select exactly one run as the baseline.")
        return redirect(target)
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("baseline", "after", "before")]
    query.append(("baseline", runs[0].run_id))
    return redirect(parts._replace(query=urlencode(query)).geturl())


def _tag(request: HttpRequest, runs: list[Run]) -> None:
    key = request.POST.get("tag_key", "").strip()
    value = request.POST.get("tag_value", "").strip() or None
    try:
        if not key:
            raise ValidationError("Give the tag a key.", field="tag_key")
        with transaction.atomic():  # a bad key or value tags none of them
            for run in runs:
                services.run_set_tags(run=run, tags={key: value})
    except StudioError as exc:
        messages.error(request, exc.message)
        return
    shown = key if value is None else f"{key}={value}"
    messages.success(request, f"Tagged {_runs(len(runs))} with {shown}.")


def _cancel(request: HttpRequest, runs: list[Run]) -> None:
    canceled, finished = 0, 0
    for run in runs:
        try:
            services.run_cancel(run=run)
            canceled += 1
        except InvalidTransition:
            finished += 1
    text = f"Cancel requested for {_runs(canceled)}."
    if finished:
        text += f" {_runs(finished).capitalize()} had already finished."
    messages.success(request, text)


def _lifecycle(request: HttpRequest, action: str, runs: list[Run]) -> None:
    service, done = LIFECYCLE[action]
    try:
        service(runs=runs, by=request.user, address=client_address(request))
    except StudioError as exc:
        messages.error(request, exc.message)
        return
    messages.success(request, done.format(runs=_runs(len(runs))).capitalize())


def _runs(count: int) -> str:
    return f"{count} run" + ("" if count == 1 else "s")
