"""Routes (docs/requirements.md C2): every URL the project serves declares who may call it, so a
new route cannot ship without an authorization decision; and the declaration is
enforced: every named page and every API operation is requested as an outsider, a
reader writing and an anonymous caller, and must refuse them without changing anything.
"""

from django.urls import get_resolver

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from studio.accounts.routes import POLICIES
from studio.api.base import api
from tests.routes.common import (
    _patterns,
)


def test_every_django_route_declares_a_policy():
    missing = []
    for route, view in _patterns(get_resolver()):
        if route.startswith("api/v1/"):
            continue  # django-ninja's dispatcher; its operations are checked below
        if getattr(view, "studio_policy", None) not in POLICIES:
            missing.append(route)
    assert missing == []


def test_every_api_operation_declares_a_policy():
    missing, seen = [], 0
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                seen += 1
                if getattr(operation.view_func, "studio_policy", None) not in POLICIES:
                    missing.append(f"{operation.methods} {prefix}{path}")
    assert seen >= 20
    assert missing == []


def test_only_the_declared_routes_are_public():
    public = sorted(
        route
        for route, view in _patterns(get_resolver())
        if getattr(view, "studio_policy", None) == "public"
    )
    assert public == [
        "",
        "accounts/invite/<str:token>/",  # the invitee has no account yet
        "accounts/login/",
        "accounts/logout/",
        "accounts/set-password/<uidb64>/<token>/",  # a one-time link, no account yet
        "api/2.0/<path:rest>",  # MLflow's ENDPOINT_NOT_FOUND for what is not served
        "api/<path:rest>",
        "azureml/discovery",  # azureml-core asks it without a token: base URLs only
    ]
