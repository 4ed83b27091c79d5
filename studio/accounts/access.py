"""The one access mechanism: every object reaches a web view or an API route through
an ``access_*`` helper, called by the route declaration (``studio.accounts.routes``)
or, for objects a route finds in its body, by the route itself.

Each helper takes the user, the object's public key, ``need`` (``read``, ``write`` or
``owner``) and, on the API, the caller's token, and returns the object or raises:

- ``NotFound`` when the user may not see it: a missing object and a forbidden one
  get the same message, so nothing outside a workspace learns what is in it;
- ``PermissionDenied`` when the user sees it but their role (or their token's scope)
  does not allow ``need``.

A token narrowed to a workspace sees only that workspace; a token narrowed to a run
(a submitted job's) sees only that run and the runs below it, and writes only there.
List routes narrow what they list with ``scoped_runs`` and its siblings.
"""

from __future__ import annotations

from typing import Literal

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest

from studio.accounts.models import ApiToken, Invitation, Membership, Role
from studio.core.prepared import Prepared
from studio.errors import NotFound, PermissionDenied, ValidationError
from studio.rules.transitions import TERMINAL
from studio.tracking.models import Experiment, Run, SavedView, Workspace
from studio.tracking.services import workspace_check_writable

Need = Literal["read", "write", "owner"]
NEEDS: tuple[Need, ...] = ("read", "write", "owner")
# What a role allows in its workspace.
ROLES_FOR: dict[str, tuple[str, ...]] = {
    "read": (Role.READER, Role.CONTRIBUTOR, Role.OWNER),
    "write": (Role.CONTRIBUTOR, Role.OWNER),
    "owner": (Role.OWNER,),
}


def workspaces_for_user(user) -> QuerySet[Workspace]:
    return Workspace.objects.visible_to(user)


def role_in(user, workspace: Workspace) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OWNER
    # One row at most (membership_unique): no ordering, so no join for the model's.
    return (
        Membership.objects.filter(user=user, workspace=workspace)
        .order_by()
        .values_list("role", flat=True)
        .first()
    )


def allows(user, workspace: Workspace, need: Need) -> bool:
    """Whether ``user``'s role in ``workspace`` allows ``need`` (for showing buttons;
    the routes enforce it through the ``access_*`` helpers)."""
    if need == "write" and workspace.archived:
        return False  # archived: read-only for everyone
    return role_in(user, workspace) in ROLES_FOR[need]


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace named by ``?ws=`` or the session, else the user's first one."""
    name = request.GET.get("ws") or request.session.get("workspace")
    visible = workspaces_for_user(request.user)
    workspace = visible.filter(name=name).first() if name else None
    if workspace is None and name and request.GET.get("ws"):
        raise Http404("No such workspace")
    workspace = workspace or visible.order_by("archived", "name").first()
    if workspace is not None and request.session.get("workspace") != workspace.name:
        # Only when it changes: an unchanged session is not written back (3 queries).
        request.session["workspace"] = workspace.name
    return workspace


def _live_token(key_hash: str) -> QuerySet[ApiToken]:
    return (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        # A job's token dies with its run, whoever ended it (even a reaper that
        # found the run lost and never saw the token).
        .exclude(run__status__in=TERMINAL)
        .order_by("pk")[:1]
    )


# Every API request looks its token up: the statement is compiled once (``Prepared``).
_TOKEN_READ = Prepared(_live_token, key_hash=str)


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, or None. The lookup is by hash, so the
    comparison does not leak the secret through timing."""
    from django.utils import timezone

    from studio.accounts.services import hash_token

    if not secret or len(secret) > 200:
        return None
    token = _TOKEN_READ.first(key_hash=hash_token(secret))
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # "Last used" to the minute: one write a minute per token, not one per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def bearer_authenticate(request: HttpRequest, secret: str) -> ApiToken | None:
    """The live token a request's ``Authorization: Bearer`` carries, or None, for
    every surface that takes Studio tokens (the JSON API, MLflow's REST API): a locked
    client address is refused (429) even with a valid token, and a secret that
    matches no token ever made counts as a guess against that address."""
    from studio.accounts import throttle
    from studio.core.client import client_address

    address = client_address(request)
    throttle.token_check(address=address)
    found = token_authenticate(secret)
    if found is None:
        if not token_known(secret):  # a guess, not a revoked or ended token
            throttle.token_failed(address=address)
        return None
    request.user = found.user
    return found


def token_known(secret: str) -> bool:
    """Whether a token with this secret was ever made (revoked or not): a secret
    that matches none is a guess (``studio.accounts.throttle``)."""
    from studio.accounts.services import hash_token

    if not secret or len(secret) > 200:
        return False
    return ApiToken.objects.filter(key_hash=hash_token(secret)).exists()


# --- the checks every helper shares --------------------------------------------------


def _check_need(need: str) -> None:
    if need not in NEEDS:
        raise ValueError(f"Unknown need {need!r}; one of {NEEDS}")


def require_role(
    user,
    workspace: Workspace,
    need: Need,
    token: ApiToken | None = None,
    field: str = "workspace",
) -> None:
    """For a workspace ``user`` sees: PermissionDenied unless ``user``'s role, and ``token``'s scope, allow ``need``
    on ``workspace`` itself (not on one run of it)."""
    if need == "read":
        return
    if need == "write":
        # Archived: read-only for everyone; owners still manage the workspace itself
        # (unarchive, rename, delete, members), which is need="owner".
        workspace_check_writable(workspace)
    if token is not None and token.run_id is not None:
        # A run-scoped token writes only through its run (children, metrics, files).
        raise PermissionDenied("This token may only change its own run.", field="token")
    if not allows(user, workspace, need):
        what = "read-only" if need == "write" else "not an owner's"
        raise PermissionDenied(f"Your role in {workspace.name!r} is {what}.", field=field)


def _token_allows_workspace(token: ApiToken | None, workspace_id: int) -> bool:
    return token is None or token.workspace_id is None or token.workspace_id == workspace_id


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


# --- the helpers ------------------------------------------------------------------------


def access_workspace(
    user, name: str, *, need: Need = "read", token: ApiToken | None = None
) -> Workspace:
    """The workspace ``name`` if ``user`` (through ``token``) may see it and do ``need``
    in it."""
    _check_need(need)
    workspace = (
        workspaces_for_user(user).filter(name=name).first() if isinstance(name, str) else None
    )
    if workspace is None or not _token_allows_workspace(token, workspace.pk):
        raise NotFound(f"Workspace {name!r} does not exist.", field="workspace")
    require_role(user, workspace, need, token, "workspace")
    return workspace


def access_workspace_create(user, *, token: ApiToken | None = None) -> None:
    """Any signed-in user may create a workspace (they become its owner), but not
    through a token narrowed to one workspace or one run."""
    if not user.is_authenticated:
        raise PermissionDenied("Sign in to create a workspace.", field="workspace")
    if token is not None and (token.workspace_id is not None or token.run_id is not None):
        raise PermissionDenied(
            "This token is narrowed to one workspace; it cannot create workspaces.",
            field="token",
        )


def access_workspaces(user, *, token: ApiToken | None = None) -> QuerySet[Workspace]:
    """The workspaces ``user`` sees through ``token`` (a narrowed token: its own)."""
    workspaces = workspaces_for_user(user)
    if token is not None and token.workspace_id is not None:
        workspaces = workspaces.filter(pk=token.workspace_id)
    return workspaces


def access_experiment(
    user,
    workspace_name: str,
    name: str,
    *,
    need: Need = "read",
    token: ApiToken | None = None,
) -> Experiment:
    """The experiment ``name`` of the workspace ``workspace_name``. A run-scoped token
    sees only its run's experiment."""
    workspace = access_workspace(user, workspace_name, token=token)
    experiment = scoped_experiments(
        Experiment.objects.filter(workspace=workspace, name=name), token
    ).first()
    if experiment is None:
        raise NotFound(f"Experiment {name!r} does not exist.", field="experiment")
    require_role(user, workspace, need, token, "experiment")
    experiment.workspace = workspace
    return experiment


def access_model(
    user, workspace_name: str, name: str, *, need: Need = "read", token: ApiToken | None = None
):
    """The registered model ``name`` of the workspace ``workspace_name`` (models are
    the workspace's: its role decides, and a run-scoped token reads them)."""
    from studio.registry.models import RegisteredModel

    workspace = access_workspace(user, workspace_name, token=token)
    model = (
        RegisteredModel.objects.filter(
            workspace=workspace, name=name, version_counter__gt=0
        ).first()
        if isinstance(name, str)
        else None
    )
    if model is None:
        raise NotFound(f"Model {name!r} does not exist.", field="model")
    require_role(user, workspace, need, token, "model")
    model.workspace = workspace
    return model


def _role_of(member: int | None) -> Subquery:
    """The role of the user ``member`` (a pk) in the row's workspace, as a column."""
    roles = Membership.objects.filter(workspace=OuterRef("workspace_id"), user_id=member)
    return Subquery(roles.values("role")[:1])


def _run_read(mode: str) -> Prepared:
    from studio.tracking import selectors

    def build(run_id: str, user: int) -> QuerySet[Run]:
        query = selectors.run_query(run_id=run_id, **{mode: True})
        return query.annotate(_role=_role_of(user)).order_by()[:1]

    return Prepared(build, run_id=str, user=int)


_RUN_READS = {mode: _run_read(mode) for mode in ("light", "writer")}


def access_run(
    user,
    run_id: str,
    *,
    need: Need = "read",
    token: ApiToken | None = None,
    light: bool = False,
    writer: bool = False,
    trashed: bool = False,
) -> Run:
    """The run ``run_id`` if ``user`` may see it and do ``need`` with it. A run-scoped
    token may change its run and the runs below it, nothing else.

    ``light``: the run comes without its tags, properties, experiment and parent
    (``selectors.run_get(light=True)``), for a write that reads none of them (a
    metric batch); ``writer``: with its experiment and parent but no tags or
    properties (``selectors.run_get(writer=True)``), for a write that answers with
    the run's dictionary; the checks are the same. ``trashed``: a run in its workspace's
    trash (restore it, delete it for good), which is otherwise NotFound."""
    from studio.tracking import selectors

    _check_need(need)
    if not isinstance(run_id, str) or not run_id:
        raise NotFound(f"Run {run_id!r} does not exist.", field="run_id")

    def query() -> QuerySet[Run]:
        return selectors.run_query(run_id=run_id, light=light, writer=writer, trashed=trashed)

    member = user.pk if user.is_authenticated and not user.is_superuser else None
    if (light or writer) and not trashed:
        # The request-at-a-time writes (a metric batch, start, complete): compiled
        # once (``Prepared``), the role read along.
        found = _RUN_READS["light" if light else "writer"].first(run_id=run_id, user=member or 0)
    else:
        found = query().annotate(_role=_role_of(member)).first()
    try:
        run = selectors.run_checked(found, run_id=run_id, query=query)
    except NotFound:
        raise NotFound(f"Run {run_id!r} does not exist.", field="run_id") from None
    # The role decides both: no role is not seeing the run at all (NotFound).
    role = None if not user.is_authenticated else Role.OWNER if user.is_superuser else run._role
    if (
        role is None
        or not _token_allows_workspace(token, run.workspace_id)
        or not _token_allows_run(token, run)
    ):
        raise NotFound(f"Run {run_id!r} does not exist.", field="run_id")
    if need != "read":
        workspace_check_writable(run.workspace)
        if role not in ROLES_FOR[need]:
            raise PermissionDenied(
                f"Your role in {run.workspace.name!r} is read-only.", field="run_id"
            )
    return run


def access_runs(
    user, run_ids: list[str], *, need: Need = "read", token: ApiToken | None = None
) -> QuerySet[Run]:
    """``access_run`` for a batch (heartbeats): the runs among ``run_ids`` that ``user``
    (through ``token``) may see and do ``need`` with, as one query that loads
    nothing; the others are left out, as if missing."""
    _check_need(need)
    workspaces = workspaces_for_user(user)
    if need != "read" and user.is_authenticated and not user.is_superuser:
        workspaces = Workspace.objects.filter(
            memberships__user=user, memberships__role__in=ROLES_FOR[need]
        )
    if need != "read":
        workspaces = workspaces.filter(archived=False)
    runs = Run.objects.filter(run_id__in=run_ids, workspace__in=workspaces)
    return scoped_runs(runs, token)


def access_run_set(user, run_ids: list[str], *, related: bool = False) -> list[Run]:
    """Every run of ``run_ids`` for reading together (charts of a list, compare), in
    that order, in one query: all of them in one workspace ``user`` may read, or
    ``NotFound`` for the whole set (a run of another workspace, or one the user may
    not see, looks missing; nothing is told about which). ``related``: with their
    experiment, tags and properties."""
    runs = Run.objects.filter(run_id__in=run_ids, workspace__in=workspaces_for_user(user))
    runs = runs.with_related() if related else runs.select_related("workspace")
    found = {run.run_id: run for run in runs}
    if len(found) != len(set(run_ids)) or len({r.workspace_id for r in found.values()}) > 1:
        raise NotFound("A run does not exist.", field="runs")
    return [found[run_id] for run_id in run_ids]


def access_new_run(
    user, workspace_name: str, parent_id: str | None, *, token: ApiToken | None = None
) -> tuple[Workspace, Run | None]:
    """Where a new run of ``user`` goes: under the run ``parent_id`` (write on the
    parent: how a job's run-scoped token adds children to its run), or at the top of
    ``workspace_name`` (write on the workspace). A parent in another workspace is
    refused like a write there would be, and, if that is allowed, as invalid."""
    if not parent_id:
        return access_workspace(user, workspace_name, need="write", token=token), None
    parent = access_run(user, parent_id, need="write", token=token)
    if parent.workspace.name != workspace_name:
        access_workspace(user, workspace_name, need="write", token=token)
        raise ValidationError("The parent run is in another workspace.", field="parent_id")
    return parent.workspace, parent


def view_permissions(user, view: SavedView, role: str | None) -> dict[str, bool]:
    """What ``user`` (with ``role`` in the view's workspace) may do with a view they
    can see: ``write`` (edit: contributors and owners edit shared views, only its
    owner a private one), ``owner`` (manage: share, unshare, delete; the view's owner
    and, for a shared view, the workspace's owners) and ``default`` (make it what
    /runs/ opens with: the workspace owners' call, shared views only)."""
    writer = role in ROLES_FOR["write"]
    mine = view.owner_id == user.pk
    return {
        "read": True,
        "write": writer and (view.shared or mine),
        "owner": writer and (mine or (view.shared and role == Role.OWNER)),
        "default": role == Role.OWNER and view.shared,
    }


def access_view(
    user,
    view_id: object,
    *,
    need: Literal["read", "write", "owner", "default"] = "read",
    token: ApiToken | None = None,
) -> SavedView:
    """The saved view ``view_id`` if ``user`` may open it and do ``need`` with it.
    Another user's private view and any view of a workspace one is not a member of
    are NotFound (docs/requirements.md C3); a visible view one may not change is
    PermissionDenied (C6). A run-scoped token sees no views."""
    if need not in (*NEEDS, "default"):
        raise ValueError(f"Unknown need {need!r}")
    view = (
        scoped_views(SavedView.objects.visible_to(user), token)
        .select_related("workspace", "owner")
        .filter(pk=view_id)
        .first()
        if isinstance(view_id, int)
        else None
    )
    if view is None:
        raise NotFound("No such view.", field="view")
    if need != "read" and token is not None and token.run_id is not None:
        raise PermissionDenied("This token may only change its own run.", field="token")
    if need != "read":
        workspace_check_writable(view.workspace)
    if not view_permissions(user, view, role_in(user, view.workspace))[need]:
        raise PermissionDenied("Your role does not let you change this view.", field="view")
    return view


def access_membership(user, membership_id: object, *, need: Need = "read") -> Membership:
    """A membership of a workspace ``user`` belongs to; changing one (``write`` or
    ``owner``) is for the workspace's owners."""
    _check_need(need)
    membership = (
        Membership.objects.select_related("user", "workspace")
        .filter(pk=membership_id, workspace__in=workspaces_for_user(user))
        .first()
        if isinstance(membership_id, int)
        else None
    )
    if membership is None:
        raise NotFound("No such member.", field="membership")
    if need != "read" and not allows(user, membership.workspace, "owner"):
        raise PermissionDenied("Only owners manage members.", field="membership")
    return membership


def access_invitation(user, invitation_id: object, *, need: Need = "owner") -> Invitation:
    """An invitation into a workspace ``user`` belongs to; seeing or revoking one is
    for the workspace's owners (its link is never shown again)."""
    _check_need(need)
    invitation = (
        Invitation.objects.select_related("workspace")
        .filter(pk=invitation_id, workspace__in=workspaces_for_user(user))
        .first()
        if isinstance(invitation_id, int)
        else None
    )
    if invitation is None:
        raise NotFound("No such invitation.", field="invitation")
    if not allows(user, invitation.workspace, "owner"):
        raise PermissionDenied("Only owners manage invitations.", field="invitation")
    return invitation


def access_user(user, user_id: object) -> object:
    """Any account, for a superuser (Settings → Users); for anyone else, no account is
    visible (NotFound)."""
    from django.contrib.auth import get_user_model

    found = (
        get_user_model().objects.filter(pk=user_id).first()
        if isinstance(user_id, int) and getattr(user, "is_superuser", False)
        else None
    )
    if found is None:
        raise NotFound("No such user.", field="user")
    return found


# --- what a token may list ------------------------------------------------------------


def _run_scope(token: ApiToken) -> Q:
    """The token's run and every run below it (the runs list's walk of its tree)."""
    from studio.tracking.runlist.filters import _descendants

    run = token.run
    return Q(pk=run.pk) | Q(pk__in=_descendants(run.workspace, run.run_id))


def scoped_runs(runs: QuerySet[Run], token: ApiToken | None) -> QuerySet[Run]:
    """``runs`` narrowed to what ``token`` may see (workspace and run scopes)."""
    if token is None:
        return runs
    if token.workspace_id is not None:
        runs = runs.filter(workspace_id=token.workspace_id)
    if token.run_id is not None:
        runs = runs.filter(_run_scope(token))
    return runs


def scoped_experiments(
    experiments: QuerySet[Experiment], token: ApiToken | None
) -> QuerySet[Experiment]:
    """``experiments`` narrowed to what ``token`` may see: a run-scoped token sees the
    experiments of its runs only."""
    if token is None:
        return experiments
    if token.workspace_id is not None:
        experiments = experiments.filter(workspace_id=token.workspace_id)
    if token.run_id is not None:
        runs = Run.objects.filter(_run_scope(token)).values("experiment_id")
        experiments = experiments.filter(pk__in=runs)
    return experiments


def scoped_views(views: QuerySet[SavedView], token: ApiToken | None) -> QuerySet[SavedView]:
    """``views`` narrowed to what ``token`` may see: a run-scoped token sees none."""
    if token is None:
        return views
    if token.run_id is not None:
        return views.none()
    if token.workspace_id is not None:
        views = views.filter(workspace_id=token.workspace_id)
    return views


def access_token(user, token_id: object) -> ApiToken:
    """One of ``user``'s own API tokens; anyone else's is NotFound."""
    token = (
        ApiToken.objects.filter(user=user, pk=token_id).first()
        if isinstance(token_id, int) and user.is_authenticated
        else None
    )
    if token is None:
        raise NotFound("No such token.", field="token")
    return token
