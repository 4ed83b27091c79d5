"""The description on the run page (issue 15): history with diffs and restore, pasted
images through the access-checked file view, live chart embeds and run/view cards
resolved with the viewer's access, the conflict view with the draft beside the saved
text, and who may do what."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from studio.tracking import saved_views, services
from studio.tracking.models import DescriptionVersion, RunFile
from studio.web.run_tabs import digest
from tests.factories import ExperimentFactory, RunFactory
from tests.web.run_page_helpers import PNG, Elements

FRAGMENT = {"HTTP_X_STUDIO_FRAGMENT": "1"}


def save(client, run, text):
    run.refresh_from_db()
    return client.post(
        f"/runs/{run.run_id}/description/",
        {"description": text, "base": digest(run.description), "action": "save"},
    )


def history(client, run, **query):
    return client.get(f"/runs/{run.run_id}/description/history/", query)


# --- history ---------------------------------------------------------------------------------


def test_saves_on_the_page_are_listed_with_author_and_a_diff(client, member, run):
    client.force_login(member)
    assert save(client, run, "line one\nline two").status_code == 302
    assert save(client, run, "line one\nline 2 <script>x</script>").status_code == 302
    response = history(client, run)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('<tr data-version="') == 2 and "bob" in body
    assert '<span class="diff-del">-line two</span>' in body
    assert '<span class="diff-add">+line 2 &lt;script&gt;x&lt;/script&gt;</span>' in body
    assert "<script>x" not in body


def test_a_diff_between_any_two_versions(client, member, run):
    client.force_login(member)
    for text in ("a", "b", "c"):
        save(client, run, text)
    body = history(client, run, a=1, b=3).content.decode()
    assert "From v1 to v3" in body
    assert '<span class="diff-del">-a</span>' in body and '<span class="diff-add">+c</span>' in body
    response = history(client, run, a=1, b=99)
    assert response.status_code == 400 and "No such version" in response.content.decode()


def test_restore_makes_a_new_version_and_readers_only_look(client, member, reader, run):
    services.run_update(run=run, description="first", author=member)
    services.run_update(run=run, description="second", author=member)
    client.force_login(reader)
    body = history(client, run).content.decode()
    assert "Restore" not in body and "v2" in body
    assert (
        client.post(f"/runs/{run.run_id}/description/restore/", {"version": 1}).status_code == 403
    )
    assert DescriptionVersion.objects.filter(run=run).count() == 2

    client.force_login(member)
    assert "Restore" in history(client, run).content.decode()
    response = client.post(f"/runs/{run.run_id}/description/restore/", {"version": 1})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.description == "first"
    newest = DescriptionVersion.objects.filter(run=run).first()
    assert (newest.number, newest.restored_from, newest.author) == (3, 1, member)
    client.post(f"/runs/{run.run_id}/description/restore/", {"version": "x"})
    assert DescriptionVersion.objects.filter(run=run).count() == 3


def test_an_outsider_sees_no_history_and_cannot_attach(client, outsider, run):
    client.force_login(outsider)
    assert history(client, run).status_code == 404
    upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")
    assert (
        client.post(f"/runs/{run.run_id}/description/attach/", {"file": upload}).status_code == 404
    )
    assert (
        client.post(f"/runs/{run.run_id}/description/restore/", {"version": 1}).status_code == 404
    )


def test_the_run_page_links_to_the_history(client, reader, run):
    client.force_login(reader)
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert f'href="/runs/{run.run_id}/description/history/"' in body


# --- attachments -------------------------------------------------------------------------------


def attach(client, run, name, data, content_type="image/png"):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(f"/runs/{run.run_id}/description/attach/", {"file": upload})


def test_a_pasted_image_is_stored_and_shown_through_the_file_view(client, member, run):
    run = services.run_complete(run=run)  # finished runs take attachments too
    client.force_login(member)
    response = attach(client, run, "screen shot.png", PNG)
    assert response.status_code == 201, response.content
    payload = response.json()
    assert re.fullmatch(r"description/[0-9a-f]{16}\.png", payload["name"])
    assert payload["markdown"] == f"![screen shot]({payload['name']})"
    save(client, run, payload["markdown"])
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    src = f"/runs/{run.run_id}/files/{payload['name']}?inline=1"
    assert {"src": src, "alt": "screen shot"} in Elements(body).find("img")
    served = client.get(src)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == PNG


def test_a_pasted_svg_or_html_is_refused_whatever_it_is_called(client, member, run):
    client.force_login(member)
    for name, data, kind in (
        ("x.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/png"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        ("x.gif", b"<html><script>alert(1)</script>", "text/html"),
    ):
        response = attach(client, run, name, data, kind)
        assert response.status_code == 400
        assert "PNG, JPEG, GIF or WebP" in response.json()["error"]
    assert not RunFile.objects.filter(run=run).exists()


@override_settings(STUDIO_MAX_ATTACHMENT_BYTES=64)
def test_an_image_over_the_cap_is_a_413(client, member, run):
    client.force_login(member)
    response = attach(client, run, "big.png", PNG + b"\0" * 100)
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert not RunFile.objects.filter(run=run).exists()


def test_a_reader_cannot_attach_and_a_request_without_a_file_is_refused(
    client, member, reader, run
):
    client.force_login(reader)
    assert attach(client, run, "a.png", PNG).status_code == 403
    client.force_login(member)
    response = client.post(f"/runs/{run.run_id}/description/attach/", {})
    assert response.status_code == 400 and response.json()["field"] == "file"


# --- embeds ------------------------------------------------------------------------------------


def test_a_chart_block_names_this_run_and_its_siblings(client, member, experiment):
    parent = RunFactory(experiment=experiment, display_name="sweep")
    kids = [
        RunFactory(experiment=experiment, parent=parent, display_name=f"lr {i}") for i in range(3)
    ]
    services.run_update(
        run=kids[0],
        description="```chart metric=val_loss runs=this,parent.children smoothing=0.6\n```",
    )
    client.force_login(member)
    body = client.get(f"/runs/{kids[0].run_id}/").content.decode()
    charts = [a for a in Elements(body).find("div") if a.get("class") == "md-chart"]
    assert charts == [
        {"class": "md-chart", "data-metric": "val_loss", "data-smooth": "ema:0.6", "data-log": "0"}
    ]
    runs = [a["data-run"] for a in Elements(body).find("a") if "data-run" in a]
    assert runs == [k.run_id for k in kids]
    assert "studio/js/charts.js" in body and "vendor/plotly.min.js" in body


def test_a_chart_with_bad_parameters_shows_an_inline_error(client, member, run):
    services.run_update(run=run, description="```chart metric=x runs=parent\n```\n\nstill here")
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert "Chart: runs=parent: this run has no parent." in body and "still here" in body


def test_a_chart_of_a_run_the_viewer_cannot_see_is_an_error_not_a_leak(
    client, member, run, other_workspace
):
    hidden = RunFactory(experiment=ExperimentFactory(workspace=other_workspace, name="secret"))
    services.run_update(run=run, description=f"```chart metric=x runs=this,{hidden.run_id}\n```")
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert "md-embed-error" in body and f'data-run="{hidden.run_id}"' not in body


def test_references_are_cards_only_for_what_the_viewer_can_open(
    client, member, owner, run, experiment, other_workspace
):
    other = RunFactory(experiment=experiment, display_name="baseline")
    hidden = RunFactory(
        experiment=ExperimentFactory(workspace=other_workspace, name="secret"),
        display_name="secret run",
    )
    shared = saved_views.view_create(
        workspace=run.workspace, owner=owner, name="Best runs", state={}, shared=True
    )
    private = saved_views.view_create(
        workspace=run.workspace, owner=owner, name="Alice only", state={}, shared=False
    )
    services.run_update(
        run=run,
        description=f"vs run:{other.run_id}, run:{hidden.run_id}, view:{shared.pk} and view:{private.pk}",
    )
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert (
        f'<a class="md-card" href="/runs/{other.run_id}/"><span class="md-card-name">baseline</span>'
        in body
    )
    assert f"run:{hidden.run_id}" in body and "secret run" not in body
    assert (
        f'<a class="md-card md-card-view" href="/views/{shared.pk}/"><span class="md-card-name">'
        "Best runs</span>"
    ) in body
    assert "Alice only" not in body and f"view:{private.pk}" in body


# --- the editor --------------------------------------------------------------------------------


def test_the_conflict_view_shows_the_draft_beside_the_saved_text(client, member, run):
    client.force_login(member)
    stale = digest(run.description)
    services.run_update(run=run, description="**theirs**")
    response = client.post(
        f"/runs/{run.run_id}/description/",
        {"description": "*mine*", "base": stale, "action": "save"},
        **FRAGMENT,
    )
    assert response.status_code == 409
    body = response.content.decode()
    conflict = body[body.index("data-conflict") :]
    assert (
        conflict.index("Your draft") < conflict.index("<em>mine</em>") < conflict.index("Saved now")
    )
    assert conflict.index("Saved now") < conflict.index("<strong>theirs</strong>")
    assert 'data-saved="**theirs**"' in body  # the guard knows the draft is not saved


def test_the_editor_offers_shortcuts_and_the_attach_url(client, member, run):
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/", {"edit": "description"}).content.decode()
    assert f'data-attach-url="/runs/{run.run_id}/description/attach/"' in body
    assert "Ctrl+Enter saves" in body and "studio/js/description.js" in body


# --- chart legends -----------------------------------------------------------------------------


def _config(html: str) -> dict:
    import json

    return json.loads(
        re.search(r'id="panels-config" type="application/json">(.*?)</script>', html, re.S)[1]
    )


def test_chart_legends_carry_the_first_lines_of_each_description(client, member, experiment):
    from tests.web.run_page_helpers import log_series

    a = RunFactory(experiment=experiment, display_name="a")
    b = RunFactory(experiment=experiment, display_name="b")
    services.run_update(
        run=a, description="# Adam, lr 3e-4\n\n- warmup 1k </script>\n- third line\n"
    )
    for run in (a, b):
        log_series(run, "loss", [1.0, 0.5])
    client.force_login(member)
    listed = _config(client.get("/runs/", {"ws": experiment.workspace.name}).content.decode())
    assert {r["id"]: r["desc"] for r in listed["runs"]} == {
        a.run_id: "Adam, lr 3e-4\nwarmup 1k </script>",
        b.run_id: "",
    }
    compared = _config(client.get("/compare/", {"runs": f"{a.run_id},{b.run_id}"}).content.decode())
    assert [r["desc"] for r in compared["runs"]] == ["Adam, lr 3e-4\nwarmup 1k </script>", ""]


def test_a_long_first_line_is_cut_for_the_tooltip():
    from studio.web.descriptions import EXCERPT_CHARS, legend_excerpt

    cut = legend_excerpt("x" * 5000)
    assert len(cut) == EXCERPT_CHARS and cut.endswith("…")
