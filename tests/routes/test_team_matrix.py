"""Route policy (see test_declared.py): team matrix."""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import get_resolver

import studio.urls  # noqa: F401  (every API module registered before operations are listed)
from studio.accounts.invitations import invitation_create
from studio.accounts.models import Invitation
from studio.accounts.services import token_create
from studio.api.base import api
from studio.tracking import services
from tests.routes.common import (
    _call,
    _content,
    _state,
)

# --- the routes of issue 11, cell by cell --------------------------------------------------
#
# Every route issue 11 added (workspaces, invitations, accounts, audit), requested by each
# kind of caller; each cell is the status that caller gets. A refused request changes
# nothing; an allowed write changes something. The policy each route declares is checked
# against the matrix's, so the table cannot drift from the route declaration.

PERSONAS = ("anonymous", "non-member", "reader", "contributor", "owner", "superuser")
TO_SIGN_IN = 302  # anonymous callers of the studio's pages are sent to sign in
R = "refused"
W = "write"  # allowed, and it changes something
G = "read"  # allowed, and it changes nothing


@dataclass(frozen=True)
class Cell:
    status: int
    effect: str  # R, W or G


def _row(*cells: tuple[int, str]) -> dict[str, Cell]:
    return {p: Cell(*c) for p, c in zip(PERSONAS, cells, strict=True)}


ANON = (TO_SIGN_IN, R)
ANON_API = (401, R)
MATRIX_WEB = {
    # name: (method, url, form, declared (policy, post), cells)
    "workspace-settings GET": (
        "GET",
        "/settings/workspace/?ws=default",
        None,
        ("read", "owner"),
        _row(ANON, (404, R), (200, G), (200, G), (200, G), (200, G)),
    ),
    "workspace-settings POST archive": (
        "POST",
        "/settings/workspace/?ws=default",
        {"action": "archive"},
        ("read", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (302, W), (302, W)),
    ),
    "workspace-settings POST delete": (
        "POST",
        "/settings/workspace/?ws=default",
        {"action": "delete", "confirm": "default"},
        ("read", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (302, W), (302, W)),
    ),
    "workspace-create GET": (
        "GET",
        "/settings/workspaces/new/",
        None,
        ("read", "read"),
        _row(ANON, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "workspace-create POST": (
        "POST",
        "/settings/workspaces/new/",
        {"name": "team-x"},
        ("read", "read"),
        _row(ANON, (302, W), (302, W), (302, W), (302, W), (302, W)),
    ),
    "invitation-create": (
        "POST",
        "/settings/members/invite/?ws=default",
        {"role": "reader", "note": "x"},
        ("owner", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (201, W), (201, W)),
    ),
    "invitation-revoke": (
        "POST",
        "/settings/invitations/{invitation_id}/revoke/",
        {},
        ("owner", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (302, W), (302, W)),
    ),
    "invitation-open GET": (
        "GET",
        "/accounts/invite/{token}/",
        None,
        ("public", "public"),
        _row((200, G), (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    # The link is the authority: anyone holding it joins (a member with a higher role
    # keeps it, the link is spent either way); anonymous callers make an account.
    "invitation-open POST": (
        "POST",
        "/accounts/invite/{token}/",
        {"username": "erin", "password": "a long enough passphrase"},
        ("public", "public"),
        _row((302, W), (302, W), (302, W), (302, W), (302, W), (302, W)),
    ),
    "invitation-open POST (spent link)": (
        "POST",
        "/accounts/invite/{spent}/",
        {"username": "erin", "password": "a long enough passphrase"},
        ("public", "public"),
        _row((410, R), (410, R), (410, R), (410, R), (410, R), (410, R)),
    ),
    "password-change GET": (
        "GET",
        "/accounts/password/",
        None,
        ("read", "read"),
        _row(ANON, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "password-change POST": (
        "POST",
        "/accounts/password/",
        {"old_password": "pw-{username}", "new_password": "another long passphrase"},
        ("read", "read"),
        _row(ANON, (302, W), (302, W), (302, W), (302, W), (302, W)),
    ),
    "profile": (
        "GET",
        "/accounts/profile/",
        None,
        ("read", "read"),
        _row(ANON, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "user-list GET": (
        "GET",
        "/settings/users/",
        None,
        ("superuser", "superuser"),
        _row(ANON, (403, R), (403, R), (403, R), (403, R), (200, G)),
    ),
    "user-list POST": (
        "POST",
        "/settings/users/",
        {"username": "frank"},
        ("superuser", "superuser"),
        _row(ANON, (403, R), (403, R), (403, R), (403, R), (201, W)),
    ),
    "user-change deactivate": (
        "POST",
        "/settings/users/{user_id}/",
        {"action": "deactivate"},
        ("superuser", "superuser"),
        _row(ANON, (404, R), (404, R), (404, R), (404, R), (302, W)),
    ),
    "user-change reset": (
        "POST",
        "/settings/users/{user_id}/",
        {"action": "reset"},
        ("superuser", "superuser"),
        _row(ANON, (404, R), (404, R), (404, R), (404, R), (201, W)),
    ),
    "audit-list": (
        "GET",
        "/settings/audit/?ws=default",
        None,
        ("owner", "owner"),
        _row(ANON, (404, R), (403, R), (403, R), (200, G), (200, G)),
    ),
}
MATRIX_API = {
    "GET /workspaces": (
        "GET",
        "/api/v1/workspaces",
        None,
        "read",
        _row(ANON_API, (200, G), (200, G), (200, G), (200, G), (200, G)),
    ),
    "POST /workspaces": (
        "POST",
        "/api/v1/workspaces",
        {"name": "team-x"},
        "read",
        _row(ANON_API, (200, W), (200, W), (200, W), (200, W), (200, W)),
    ),
    "PATCH /workspaces/default": (
        "PATCH",
        "/api/v1/workspaces/default",
        {"archived": True},
        "owner",
        _row(ANON_API, (404, R), (403, R), (403, R), (200, W), (200, W)),
    ),
    "DELETE /workspaces/default": (
        "DELETE",
        "/api/v1/workspaces/default",
        {"confirm": "default"},
        "owner",
        _row(ANON_API, (404, R), (403, R), (403, R), (200, W), (200, W)),
    ),
}
# The routes issue 11 added: the matrix must name each of them.
ISSUE_11_WEB = {
    "workspace-settings",
    "workspace-create",
    "invitation-create",
    "invitation-revoke",
    "invitation-open",
    "password-change",
    "profile",
    "user-list",
    "user-change",
    "audit-list",
}
ISSUE_11_API = {
    ("GET", "/workspaces"),
    ("POST", "/workspaces"),
    ("PATCH", "/workspaces/{name}"),
    ("DELETE", "/workspaces/{name}"),
}


@pytest.fixture
def team(owner, member, reader, outsider, workspace):
    """ "default" with a finished run, a pending invitation and a spent one; the six
    callers, each with an API token (made before anything is compared)."""
    experiment = services.experiment_get_or_create(workspace=workspace, name="secret-exp")
    run = services.run_create(experiment=experiment, submitted_by="alice")
    services.run_complete(run=run)
    _, token = invitation_create(workspace=workspace, role="reader", created_by=owner)
    _, spent = invitation_create(workspace=workspace, role="reader", created_by=owner)
    from studio.accounts.invitations import invitation_accept

    invitation_accept(secret=spent, username="gina", password="a long enough passphrase")
    root = User.objects.create_superuser("root", password="pw-root")
    users = {
        "anonymous": None,
        "non-member": outsider,
        "reader": reader,
        "contributor": member,
        "owner": owner,
        "superuser": root,
    }
    secrets = {p: token_create(user=u, name="matrix")[1] for p, u in users.items() if u}
    invitation = Invitation.objects.get(accepted_at=None)
    return {
        "users": users,
        "secrets": secrets,
        "url": {
            "invitation_id": invitation.pk,
            "token": token,
            "spent": spent,
            "user_id": reader.pk,
        },
    }


def _cells(matrix):
    return [
        pytest.param(name, persona, id=f"{name} as {persona}")
        for name in matrix
        for persona in PERSONAS
    ]


def _effect(before, cell: Cell, where: str) -> None:
    changed = _state() != before
    if cell.effect == W:
        assert changed, f"{where}: allowed, but nothing changed"
    else:
        assert not changed, f"{where}: {cell.effect}, but something changed"


@pytest.mark.parametrize("name, persona", _cells(MATRIX_WEB))
def test_issue_11_page_matrix(client, team, name, persona):
    method, url, form, declared, cells = MATRIX_WEB[name]
    user = team["users"][persona]
    url = url.format(**team["url"])
    view = get_resolver().resolve(url.split("?")[0]).func
    assert (view.studio_policy, view.studio_post) == declared, name
    if user is not None:
        client.force_login(user)
    if form is not None:
        form = {k: v.format(username=getattr(user, "username", "")) for k, v in form.items()}
    before = _state()
    response = client.get(url) if method == "GET" else client.post(url, form)
    cell = cells[persona]
    assert response.status_code == cell.status, (name, persona, _content(response)[:300])
    if user is None and cell.status == TO_SIGN_IN and declared[0] != "public":
        assert response["Location"].startswith("/accounts/login/?next="), name
    _effect(before, cell, f"{name} as {persona}")


@pytest.mark.parametrize("name, persona", _cells(MATRIX_API))
def test_issue_11_api_matrix(team, name, persona):
    method, url, body, declared, cells = MATRIX_API[name]
    secret = team["secrets"].get(persona)
    caller = Client(HTTP_AUTHORIZATION=f"Bearer {secret}") if secret else Client()
    before = _state()
    response = _call(caller, method, url, json.dumps(body or {}), "application/json")
    cell = cells[persona]
    assert response.status_code == cell.status, (name, persona, response.content[:300])
    if cell.effect == R:
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}
        assert response.json()["error"]["code"] == code[cell.status]
    _effect(before, cell, f"{name} as {persona}")


def test_the_matrix_covers_every_route_of_issue_11():
    """Each route issue 11 added has its rows, and the API rows declare what the
    operations declare."""
    assert {name.split(" ")[0] for name in MATRIX_WEB} == ISSUE_11_WEB
    declared = {}
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    declared[(method, prefix + path)] = operation.view_func.studio_policy
    rows = {
        (method, url.removeprefix("/api/v1").replace("/default", "/{name}")): need
        for method, url, _, need, _ in MATRIX_API.values()
    }
    assert set(rows) == ISSUE_11_API
    assert {key: declared[key] for key in rows} == rows
