"""Description history (a version per save, from every door: web, API, SDK) and
attachments (pasted images, typed by their bytes, on disk and in S3)."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings

from studio.errors import NotFound, PayloadTooLarge, ValidationError
from studio.tracking import selectors, services
from studio.tracking.models import DescriptionVersion, RunFile
from tests.factories import RunFactory
from tests.web.run_page_helpers import PNG

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
HTML = b"<!doctype html><script>alert(1)</script>"


def versions(run):
    return list(
        run.description_versions.order_by("number").values_list(
            "number", "text", "author__username"
        )
    )


def test_every_save_that_changes_the_text_is_a_version_with_its_author(run, member, owner):
    services.run_update(run=run, description="first", author=member)
    services.run_update(run=run, description="first", author=owner)  # nothing changed
    services.run_update(run=run, description="second", author=owner)
    services.run_update(run=run, description="third")  # the SDK's local store: no author
    run.refresh_from_db()
    assert run.description == "third"
    assert versions(run) == [(1, "first", "bob"), (2, "second", "alice"), (3, "third", None)]


def test_a_rename_alone_records_no_version(run):
    services.run_update(run=run, display_name="tuned")
    assert versions(run) == []


def test_bad_text_changes_nothing(run, member):
    services.run_update(run=run, description="kept", author=member)
    with pytest.raises(ValidationError):
        services.run_update(
            run=run, display_name="new name", description="x" * 1_000_001, author=member
        )
    run.refresh_from_db()
    assert run.description == "kept" and run.display_name != "new name"
    assert versions(run) == [(1, "kept", "bob")]


def test_a_text_from_before_history_becomes_version_one(run, member):
    type(run).objects.filter(pk=run.pk).update(description="old text")
    run.refresh_from_db()
    services.run_update(run=run, description="new text", author=member)
    assert versions(run) == [(1, "old text", None), (2, "new text", "bob")]


def test_restore_is_a_new_version_with_the_old_text(run, member, owner):
    services.run_update(run=run, description="one", author=member)
    services.run_update(run=run, description="two", author=member)
    restored = services.description_restore(run=run, number=1, author=owner)
    run.refresh_from_db()
    assert run.description == "one"
    assert (restored.number, restored.restored_from, restored.author) == (3, 1, owner)
    assert versions(run) == [(1, "one", "bob"), (2, "two", "bob"), (3, "one", "alice")]


def test_restoring_the_current_text_or_a_missing_version_is_refused(run, member):
    services.run_update(run=run, description="one", author=member)
    with pytest.raises(ValidationError, match="already"):
        services.description_restore(run=run, number=1, author=member)
    with pytest.raises(NotFound):
        services.description_restore(run=run, number=9, author=member)
    assert DescriptionVersion.objects.filter(run=run).count() == 1


def test_the_api_save_is_a_version_by_the_tokens_user(run, member):
    response = member.api.patch(
        f"/api/v1/runs/{run.run_id}", {"description": "via API"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert versions(run) == [(1, "via API", "bob")]


# --- attachments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "suffix"), [(PNG, ".png"), (JPEG, ".jpg"), (GIF, ".gif"), (WEBP, ".webp")]
)
def test_an_image_is_stored_as_a_description_file_named_by_its_bytes(run, data, suffix):
    stored = services.description_attachment_upload(run=run, content=io.BytesIO(data + b"\0" * 64))
    assert stored.name.startswith("description/") and stored.name.endswith(suffix)
    got = selectors.file_read(
        run_file=selectors.file_get(run=run, name=stored.name), limit=len(data)
    )[0]
    assert got == data


def test_a_finished_run_takes_an_attachment_but_no_output(run):
    run = services.run_complete(run=run)
    assert run.is_terminal
    stored = services.description_attachment_upload(run=run, content=io.BytesIO(PNG))
    assert RunFile.objects.filter(run=run, name=stored.name).exists()
    with pytest.raises(Exception, match="takes no new files"):
        services.run_file_upload(run=run, name="outputs/x.png", content=io.BytesIO(PNG))


@pytest.mark.parametrize("data", [SVG, HTML, b"", b"GIF8", b"RIFF\0\0\0\0AVI LIST", b"\x89PNX"])
def test_anything_but_a_raster_image_is_refused_and_nothing_is_stored(run, data):
    with pytest.raises(ValidationError, match="PNG, JPEG, GIF or WebP"):
        services.description_attachment_upload(run=run, content=io.BytesIO(data))
    assert not RunFile.objects.filter(run=run).exists()


@override_settings(STUDIO_MAX_ATTACHMENT_BYTES=100)
def test_an_image_over_the_cap_is_refused_and_nothing_is_stored(run):
    with pytest.raises(PayloadTooLarge):
        services.description_attachment_upload(run=run, content=io.BytesIO(PNG + b"\0" * 200))
    with pytest.raises(PayloadTooLarge):
        services.description_attachment_upload(run=run, content=io.BytesIO(PNG), size=101)
    assert not RunFile.objects.filter(run=run).exists()


def test_two_attachments_never_collide(experiment):
    run = RunFactory(experiment=experiment)
    names = {
        services.description_attachment_upload(run=run, content=io.BytesIO(PNG)).name
        for _ in range(3)
    }
    assert len(names) == 3
