"""Saved views: their writes (``view_*``) and reads.

Who may do what is decided by the access helpers (``accounts.access.access_view``);
these functions keep the data right: a view stores only a state that the list's
allowlists accept (``liststate.clean_state``), names are unique among a user's views
and among a workspace's shared views, and only a shared view can be the default.
Opening a view lists runs of the view's own workspace, whatever its state says.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from studio.errors import Conflict, NotFound, ValidationError
from studio.rules import validation
from studio.tracking.models import Run, SavedView, Workspace
from studio.tracking.runlist import query as runlist
from studio.tracking.runlist.state import ListState, clean_state

MAX_NAME = 100


def _name(name: object) -> str:
    name = validation.key(name, "name").strip()
    if len(name) > MAX_NAME:
        raise ValidationError(f"A view name has at most {MAX_NAME} characters.", field="name")
    return name


def _saved(view: SavedView, fields: list[str] | None = None) -> SavedView:
    try:
        with transaction.atomic():
            view.save(update_fields=fields)
    except IntegrityError:
        where = "shared in this workspace" if view.shared else "among your views"
        raise Conflict(
            f"A view named {view.name!r} already exists {where}; choose another name.",
            field="name",
        ) from None
    return view


def view_create(
    *,
    workspace: Workspace,
    owner: AbstractBaseUser,
    name: str,
    state: Mapping,
    shared: bool = False,
) -> SavedView:
    """Save a list state under ``name``, private to ``owner`` or ``shared``."""
    view = SavedView(
        workspace=workspace,
        owner=owner,
        name=_name(name),
        shared=bool(shared),
        state=clean_state(state, workspace=workspace),
    )
    return _saved(view)


def view_update(
    *,
    view: SavedView,
    name: str | None = None,
    state: Mapping | None = None,
    shared: bool | None = None,
) -> SavedView:
    """Rename, re-save the state of, share or unshare a view. A view that stops
    being shared stops being the workspace's default."""
    fields = ["updated_at"]
    if name is not None:
        view.name = _name(name)
        fields.append("name")
    if state is not None:
        view.state = clean_state(state, workspace=view.workspace)
        fields.append("state")
    if shared is not None:
        view.shared = bool(shared)
        fields.append("shared")
        if not view.shared and view.is_default:
            view.is_default = False
            fields.append("is_default")
    return _saved(view, fields)


def view_delete(*, view: SavedView) -> None:
    view.delete()


def view_set_default(*, workspace: Workspace, view: SavedView | None) -> None:
    """Make ``view`` the view /runs/ opens with in ``workspace`` (None: no default)."""
    if view is not None and (view.workspace_id != workspace.pk or not view.shared):
        raise ValidationError(
            "Only a shared view of this workspace can be its default.", field="view"
        )
    with transaction.atomic():
        SavedView.objects.filter(workspace=workspace, is_default=True).update(is_default=False)
        if view is not None:
            SavedView.objects.filter(pk=view.pk).update(is_default=True)
            view.is_default = True


# --- reads ------------------------------------------------------------------------


def views_visible(*, user, workspace: Workspace) -> QuerySet[SavedView]:
    """The views of ``workspace`` that ``user`` may open: shared ones, then their own."""
    return (
        SavedView.objects.visible_to(user)
        .filter(workspace=workspace)
        .select_related("owner")
        .order_by("-shared", "name", "pk")
    )


def view_default(*, workspace: Workspace) -> SavedView | None:
    return SavedView.objects.filter(workspace=workspace, is_default=True, shared=True).first()


def view_find(*, workspace: Workspace, name: str, username: str | None = None) -> SavedView:
    """A view by name, for the CLI and the SDK: the user's own view of that name
    first, else the shared one."""
    views = SavedView.objects.filter(workspace=workspace, name=name)
    own = views.filter(owner__username=username).first() if username else None
    view = own or views.filter(shared=True).first()
    if view is None:
        raise NotFound(f"No view named {name!r} in {workspace.name!r}.", field="view")
    return view


def view_runs(*, view: SavedView, experiment: str | None = None) -> tuple[QuerySet[Run], ListState]:
    """The runs a view shows (filtered, not yet sorted or paged), narrowed to one
    ``experiment`` if given, and its state. Always runs of the view's workspace:
    nothing in the state can widen that. A state that no longer runs (a rule
    tightened since it was saved) raises a ValidationError naming the view."""
    state = ListState.from_stored(view.state)
    try:
        runs = runlist.runs(state.query, workspace=view.workspace)
    except ValidationError as exc:
        raise ValidationError(
            f"The view {view.name!r} cannot be shown: {exc.message}", field="view"
        ) from None
    if experiment is not None:
        runs = runs.filter(experiment__name=experiment)
    return runs.filter(workspace=view.workspace), state
