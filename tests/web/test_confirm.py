"""Every destructive action asks first: a POST form that deletes, removes, revokes,
cancels, archives, deactivates or resets carries ``data-confirm`` (studio.js opens a
dialog with its text), on the form or on its destructive button."""

from __future__ import annotations

import re
from pathlib import Path

from studio.tracking.models import RunStatus

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FORM = re.compile(r"(<form\b[^>]*>)(.*?)</form>", re.S)
DESTRUCTIVE_URL = re.compile(r"{% url '[\w-]*(delete|revoke|cancel|remove|purge)[\w-]*'")
DESTRUCTIVE_VALUE = re.compile(
    r'value="[^"]*\b(remove|delete|deactivate|archive|reset|cancel|purge|trash)\b'
)
# Reversible at once from the same place, so not asked: a tag removed is typed again.
EXEMPT = {("web/_run_tags.html", "remove")}


def destructive_forms(root: Path):
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        text = path.read_text()
        for found in FORM.finditer(text):
            tag, body = found.groups()
            if 'method="post"' not in tag:
                continue
            url = DESTRUCTIVE_URL.search(tag)
            values = DESTRUCTIVE_VALUE.findall(body)
            if not url and not values:
                continue
            if any((name, v) in EXEMPT for v in values):
                continue
            inside_dialog = text.rfind("<dialog", 0, found.start()) > text.rfind(
                "</dialog>", 0, found.start()
            )
            yield name, tag, body, inside_dialog


def unasked(root: Path) -> list[tuple[str, str]]:
    """The destructive forms under ``root`` that would post without asking."""
    missing = []
    for name, tag, body, inside_dialog in destructive_forms(root):
        if inside_dialog:  # the form is the question itself (the run's cancel dialog)
            continue
        buttons = re.findall(r"<button\b[^>]*>", body)
        asking = "data-confirm=" in tag or any(
            "data-confirm=" in b for b in buttons if DESTRUCTIVE_VALUE.search(b)
        )
        if not asking:
            missing.append((name, tag))
    return missing


def test_every_destructive_post_form_asks_first():
    found = [name for name, *_ in destructive_forms(TEMPLATES)]
    # bulk cancel, view delete, member removal, invitation and token revoke, password
    # reset, deactivation, workspace archive and delete, the run's cancel dialog
    assert len(found) >= 10, found
    assert unasked(TEMPLATES) == []


def test_the_walk_finds_a_destructive_form_that_does_not_ask(tmp_path):
    (tmp_path / "x.html").write_text(
        """<form method="post" action="{% url 'thing-delete' 1 %}"><button>Delete</button></form>"""
        """<form method="post"><input type="hidden" name="action" value="remove">"""
        """<button type="submit">Remove</button></form>"""
        """<form method="post"><button name="action" value="compare">Compare</button>"""
        """<button name="action" value="cancel" data-confirm="Cancel {count}?">x</button></form>"""
    )
    assert [tag for _, tag in unasked(tmp_path)] == [
        """<form method="post" action="{% url 'thing-delete' 1 %}">""",
        """<form method="post">""",
    ]


def test_bulk_cancel_names_what_it_cancels(client, member, run):
    client.force_login(member)
    body = client.get("/runs/").content.decode()
    assert 'data-confirm="Cancel the {count} selected runs?' in body
    assert f'data-confirm-item="{run.label}"' in body


def test_member_removal_says_whom_and_from_where(client, owner, member, workspace):
    client.force_login(owner)
    body = client.get("/settings/members/").content.decode()
    assert f'data-confirm="Remove {member.get_username()} from {workspace.name}?' in body


def test_without_javascript_the_bulk_cancel_still_posts_and_cancels(client, member, run):
    client.force_login(member)
    response = client.post(
        "/actions/runs/", {"action": "cancel", "run": [run.run_id], "next": "/runs/"}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELED
