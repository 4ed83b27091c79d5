"""Route coverage (docs/requirements.md C2): every URL the project serves declares who may
call it, so a new route cannot ship without an authorization decision."""

from django.urls import URLPattern, URLResolver, get_resolver

from studio.api.base import api
from studio.core.policy import POLICIES


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


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
    assert public == ["", "accounts/login/", "accounts/logout/", "api/<path:rest>"]
