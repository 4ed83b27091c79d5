"""The route declaration (docs/requirements.md C2), which also enforces what it declares.

Every web view carries ``@route(need, ...)`` and every API operation
``@endpoint(need, ...)``; ``tests/routes/`` fails for a URL without one and
requests every URL as an outsider, a reader and an anonymous caller.

``need`` is ``public`` (anyone) or what the caller must be allowed in the workspace
of the objects the route touches: ``read``, ``write`` or ``owner``. The keyword
arguments name objects to fetch before the view runs: ``run="run_id"`` calls
``access_run`` with the URL's ``run_id`` and the declared need, and passes the run
to the view as ``run``. So a view never sees an object its caller may not use:

- web views: anonymous callers are sent to the login page; an invisible object is a
  404, a visible one the caller's role may not change a 403 (also for the
  ``NotFound`` and ``PermissionDenied`` a view raises itself); ``post=`` declares
  a stricter need for POST on a page that also answers GET;
- API operations: django-ninja has authenticated the token; the objects are fetched
  within the token's scope, and errors are the API's JSON errors.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest

from studio.accounts import access
from studio.errors import NotFound, PermissionDenied

# "superuser": the site's administrators only (Settings → Users); anyone else is refused (403).
POLICIES = ("public", *access.NEEDS, "superuser")
CURRENT = "current workspace"  # workspace=CURRENT: the page's workspace (?ws= or session)


class Lean(str):
    """A URL parameter naming a run fetched lean: its row and its workspace only
    (``access_run(light=True)``: the same checks, one query instead of three), for a
    view that reads nothing else of it (a log's tail, a file's bytes, a metric batch)."""


class Writer(str):
    """A URL parameter naming a run fetched for a write that answers with the run's
    dictionary: its row, experiment, workspace and parent in one query, no tags or
    properties (``access_run(writer=True)``: the same checks)."""


def _current(request: HttpRequest, value: Any, need: str, token) -> Any:
    workspace = access.current_workspace(request)
    if workspace is None:
        if need == "read":
            return None  # a user in no workspace yet sees empty pages
        raise NotFound("No workspace.", field="workspace")
    # current_workspace found it among the user's workspaces: only the role is left.
    access.require_role(request.user, workspace, need, token)
    return workspace


def _workspace(request: HttpRequest, value: Any, need: str, token) -> Any:
    if value is CURRENT:
        return _current(request, value, need, token)
    return access.access_workspace(request.user, value, need=need, token=token)


def _experiment(request: HttpRequest, value: Any, need: str, token) -> Any:
    workspace = access.current_workspace(request)
    if workspace is None:
        raise NotFound(f"Experiment {value!r} does not exist.", field="experiment")
    return access.access_experiment(request.user, workspace.name, value, need=need, token=token)


def _model(request: HttpRequest, value: Any, need: str, token) -> Any:
    workspace = access.current_workspace(request)
    if workspace is None:
        raise NotFound(f"Model {value!r} does not exist.", field="model")
    return access.access_model(request.user, workspace.name, value, need=need, token=token)


def _run(
    request: HttpRequest, value: Any, need: str, token, light: bool = False, writer: bool = False
) -> Any:
    return access.access_run(
        request.user, value, need=need, token=token, light=light, writer=writer
    )


def _trashed_run(request: HttpRequest, value: Any, need: str, token) -> Any:
    return access.access_run(request.user, value, need=need, token=token, trashed=True)


def _view(request: HttpRequest, value: Any, need: str, token) -> Any:
    return access.access_view(request.user, value, need=need, token=token)


def _membership(request: HttpRequest, value: Any, need: str, token) -> Any:
    return access.access_membership(request.user, value, need=need)


def _token(request: HttpRequest, value: Any, need: str, token) -> Any:
    return access.access_token(request.user, value)


def _invitation(request: HttpRequest, value: Any, need: str, token) -> Any:
    return access.access_invitation(request.user, value, need=need)


def _user(request: HttpRequest, value: Any, need: str, token) -> Any:
    return access.access_user(request.user, value)


RESOLVERS: dict[str, Callable[..., Any]] = {
    "workspace": _workspace,
    "experiment": _experiment,
    "model": _model,
    "run": _run,
    "trashed_run": _trashed_run,  # a run in its workspace's trash
    "view": _view,
    "membership": _membership,
    "token": _token,
    "invitation": _invitation,
    "user": _user,
}


def declare_policy(need: str, objects: dict[str, str]) -> None:
    """Check a route's declaration (its policy ``need`` and the objects it fetches)
    when the route is defined; also for other URL families' decorators (compat)."""
    if need not in POLICIES:
        raise ValueError(f"Unknown route policy {need!r}")
    if unknown := set(objects) - set(RESOLVERS):
        raise ValueError(f"No access helper for {sorted(unknown)}")
    if need == "public" and objects:
        raise ValueError("A public route fetches no objects.")
    if any(isinstance(v, (Lean, Writer)) for k, v in objects.items() if k != "run"):
        raise ValueError("Only a run is fetched lean.")


def _fetch(request: HttpRequest, objects: dict[str, str], kwargs: dict, need: str, token) -> None:
    for param, source in objects.items():
        value = CURRENT if source is CURRENT else kwargs.pop(source)
        lean = (
            {"light": True}
            if isinstance(source, Lean)
            else {"writer": True}
            if isinstance(source, Writer)
            else {}
        )
        kwargs[param] = RESOLVERS[param](request, value, need, token, **lean)


def route(need: str, *, post: str | None = None, **objects: str) -> Callable:
    """Declare and enforce who may call a web view (see the module docstring)."""
    declare_policy(need, objects)
    if post is not None and post not in access.NEEDS:
        raise ValueError(f"Unknown need {post!r} for POST")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def enforced(request: HttpRequest, *args: Any, **kwargs: Any):
            if need == "public":
                return view(request, *args, **kwargs)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            method_need = post if post and request.method == "POST" else need
            try:
                _fetch(request, objects, kwargs, method_need, None)
                if need == "superuser" and not request.user.is_superuser:
                    raise PermissionDenied("Only superusers manage accounts.")
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404("Not found") from None
            except PermissionDenied as exc:
                raise HttpForbidden(exc.message) from None

        if inspect.iscoroutinefunction(view):
            # An async view (a live stream): the same checks run in a thread (they
            # read the session and the database) before its coroutine starts; the
            # objects it fetches itself are checked by itself.
            async def checked(request: HttpRequest, *args: Any, **kwargs: Any):
                def allowed() -> Any:
                    return enforced(request, *args, **kwargs)

                outcome = await sync_to_async(allowed)()
                return await outcome if inspect.iscoroutine(outcome) else outcome

            label_policy(checked, need, post or need, objects)
            return functools.wraps(view)(checked)

        label_policy(enforced, need, post or need, objects)
        return enforced

    return decorate


def endpoint(need: str, **objects: str) -> Callable:
    """Declare and enforce who may call an API operation. The operation's signature,
    as django-ninja reads it, takes the URL's parameters in place of the objects."""
    declare_policy(need, objects)
    if need == "superuser":
        raise ValueError("The API has no superuser-only operations; declare them on pages.")

    def decorate(view: Callable) -> Callable:
        signature = inspect.signature(view, eval_str=True)
        parameters = [
            p.replace(name=objects[p.name], annotation=str) if p.name in objects else p
            for p in signature.parameters.values()
        ]

        @functools.wraps(view)
        def enforced(request: HttpRequest, **kwargs: Any):
            _fetch(request, objects, kwargs, need, getattr(request, "auth", None))
            return view(request, **kwargs)

        enforced.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        label_policy(enforced, need, need, objects)
        return enforced

    return decorate


def label_policy(view: Callable, need: str, post: str, objects: dict[str, str]) -> None:
    """Mark ``view`` with its declared policy, which the route-policy tests read."""
    view.studio_policy = need  # type: ignore[attr-defined]
    view.studio_post = post  # type: ignore[attr-defined]
    view.studio_objects = dict(objects)  # type: ignore[attr-defined]
