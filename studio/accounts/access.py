"""Access helpers: every object reaches a view through one of these. A missing object
and a forbidden one look the same from outside (404)."""

from __future__ import annotations

from django.db.models import Q, QuerySet, Subquery
from django.http import Http404, HttpRequest

from studio.accounts.models import ApiToken, Membership, Role
from studio.errors import NotFound, PermissionDenied, ValidationError
from studio.rules.transitions import TERMINAL
from studio.tracking.models import Run, Workspace


def workspaces_for_user(user) -> QuerySet[Workspace]:
    return Workspace.objects.visible_to(user)


def role_in(user, workspace: Workspace) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OWNER
    return (
        Membership.objects.filter(user=user, workspace=workspace)
        .values_list("role", flat=True)
        .first()
    )


def get_workspace_for_user(user, name: str, *, write: bool = False) -> Workspace:
    workspace = workspaces_for_user(user).filter(name=name).first()
    if workspace is None:
        raise Http404("No such workspace")
    if write and role_in(user, workspace) not in (Role.CONTRIBUTOR, Role.OWNER):
        raise Http404("No such workspace")
    return workspace


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace named by ``?ws=`` or the session, else the user's first one."""
    name = request.GET.get("ws") or request.session.get("workspace")
    visible = workspaces_for_user(request.user)
    workspace = visible.filter(name=name).first() if name else None
    if workspace is None and name and request.GET.get("ws"):
        raise Http404("No such workspace")
    workspace = workspace or visible.order_by("name").first()
    if workspace is not None and request.session.get("workspace") != workspace.name:
        # Only when it changes: an unchanged session is not written back (3 queries).
        request.session["workspace"] = workspace.name
    return workspace


# --- the API's access helpers (StudioError: the API answers JSON) ------------------


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, or None. The lookup is by hash, so the
    comparison does not leak the secret through timing."""
    from django.utils import timezone

    from studio.accounts.services import hash_token

    if not secret or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(secret), revoked_at__isnull=True)
        # A job's token dies with its run, whoever ended it (even a reaper that
        # found the run lost and never saw the token).
        .exclude(run__status__in=TERMINAL)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # "Last used" to the minute: one write a minute per token, not one per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _token_allows_workspace(token: ApiToken | None, workspace: Workspace) -> bool:
    return token is None or token.workspace_id is None or token.workspace_id == workspace.pk


def _token_allows_run(token: ApiToken | None, run: Run) -> bool:
    if token is None or token.run_id is None:
        return True
    return token.run_id in (run.pk, run.root_id) or _is_ancestor(token.run_id, run)


def _is_ancestor(ancestor_pk: int, run: Run) -> bool:
    parent_pk = run.parent_id
    while parent_pk is not None:
        if parent_pk == ancestor_pk:
            return True
        parent_pk = Run.objects.filter(pk=parent_pk).values_list("parent_id", flat=True).first()
    return False


def access_workspace(
    user, name: str, *, write: bool = False, token: ApiToken | None = None
) -> Workspace:
    """The workspace ``name`` if ``user`` (through ``token``) may see it, and change
    things in it with ``write``. Invisible: NotFound; visible but read-only: PermissionDenied."""
    workspace = (
        workspaces_for_user(user).filter(name=name).first() if isinstance(name, str) else None
    )
    if workspace is None:
        raise NotFound(f"Workspace {name!r} does not exist.", field="workspace")
    if not _token_allows_workspace(token, workspace):
        raise NotFound(f"Workspace {name!r} does not exist.", field="workspace")
    if token is not None and token.run_id is not None and write:
        # A run-scoped token writes only through its run (children, metrics, files).
        raise PermissionDenied("This token may only change its own run.", field="token")
    if write and role_in(user, workspace) not in (Role.CONTRIBUTOR, Role.OWNER):
        raise PermissionDenied(f"Your role in {workspace.name!r} is read-only.", field="workspace")
    return workspace


def access_run(user, run_id: str, *, write: bool = False, token: ApiToken | None = None) -> Run:
    """The run ``run_id`` if ``user`` may see it (and change it with ``write``)."""
    from studio.tracking import selectors

    try:
        run = selectors.run_get(run_id=run_id)
    except (NotFound, ValidationError):
        raise NotFound(f"Run {run_id!r} does not exist.", field="run_id") from None
    visible = workspaces_for_user(user).filter(pk=run.workspace_id).exists()
    if (
        not visible
        or not _token_allows_workspace(token, run.workspace)
        or not _token_allows_run(token, run)
    ):
        raise NotFound(f"Run {run_id!r} does not exist.", field="run_id")
    if write and role_in(user, run.workspace) not in (Role.CONTRIBUTOR, Role.OWNER):
        raise PermissionDenied(f"Your role in {run.workspace.name!r} is read-only.", field="run_id")
    return run


def access_runs(
    user, run_ids: list[str], *, write: bool = False, token: ApiToken | None = None
) -> QuerySet[Run]:
    """``access_run`` for a batch (heartbeats): the runs among ``run_ids`` that ``user``
    (through ``token``) may see, and change with ``write``, as one query that loads
    nothing; the others are left out, as if missing."""
    workspaces = workspaces_for_user(user)
    if write and user.is_authenticated and not user.is_superuser:
        workspaces = Workspace.objects.filter(
            memberships__user=user, memberships__role__in=(Role.CONTRIBUTOR, Role.OWNER)
        )
    runs = Run.objects.filter(run_id__in=run_ids, workspace__in=workspaces)
    if token is not None and token.workspace_id is not None:
        runs = runs.filter(workspace_id=token.workspace_id)
    if token is not None and token.run_id is not None:
        # A run-scoped token reaches its run and the runs below it, all in its tree.
        root = Run.objects.filter(pk=token.run_id).values("root_id")
        tree = Q(pk=token.run_id) | Q(root_id=token.run_id) | Q(root_id=Subquery(root[:1]))
        below = runs.filter(tree).only("pk", "root_id", "parent_id")
        runs = Run.objects.filter(pk__in=[r.pk for r in below if _token_allows_run(token, r)])
    return runs


# --- saved views ----------------------------------------------------------------------


def view_permissions(user, view, role: str | None) -> dict[str, bool]:
    """What ``user`` (with ``role`` in the view's workspace) may do with a view they
    can see: contributors and owners edit shared views, only its owner edits a
    private one; sharing, unsharing and deleting are for the view's owner (and, for a
    shared view, the workspace's owners); the default is the workspace owners' call."""
    writer = role in (Role.CONTRIBUTOR, Role.OWNER)
    mine = view.owner_id == user.pk
    return {
        "edit": writer and (view.shared or mine),
        "manage": writer and (mine or (view.shared and role == Role.OWNER)),
        "default": role == Role.OWNER and view.shared,
    }


def access_view(user, view_id: object, *, need: str | None = None):
    """The saved view ``view_id`` if ``user`` may open it, and do ``need`` with it
    ("edit", "manage" or "default"). Another user's private view and any view of a
    workspace one is not a member of are NotFound (docs/requirements.md C3); a visible view
    one may not change is PermissionDenied (C6)."""
    from studio.tracking.models import SavedView

    view = (
        SavedView.objects.select_related("workspace", "owner").filter(pk=view_id).first()
        if isinstance(view_id, int)
        else None
    )
    if view is None:
        raise NotFound("No such view.", field="view")
    if not workspaces_for_user(user).filter(pk=view.workspace_id).exists():
        raise NotFound("No such view.", field="view")
    if not view.shared and view.owner_id != user.pk:
        raise NotFound("No such view.", field="view")
    if need is not None:
        allowed = view_permissions(user, view, role_in(user, view.workspace))
        if not allowed[need]:
            raise PermissionDenied(f"Your role does not let you {need} this view.", field="view")
    return view
