"""studio/asgi.py: a live stream (an ``async def`` view) goes to Django's ASGI
handler, every other request to its WSGI handler on the server's thread pool."""

from __future__ import annotations

import inspect

import pytest
from django.urls import reverse

from studio import asgi


@pytest.mark.parametrize(
    "path",
    [lambda: reverse("runs-live"), lambda: reverse("run-live", args=["exp_1"])],
)
def test_live_streams_are_served_by_the_asgi_handler(path):
    assert asgi.streams(path())


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/runs/exp_1/metrics",
        "/api/v1/workspaces",
        "/runs/",
        "/runs/exp_1/",
        "/accounts/login/",
        "/static/studio/css/studio.css",
        "/no/such/page/",
    ],
)
def test_every_other_request_goes_to_the_threaded_wsgi_handler(path):
    assert not asgi.streams(path)


def test_the_decision_follows_the_view_not_a_list_of_urls():
    from studio.web.views import live

    assert inspect.iscoroutinefunction(live.runs_live)
    assert inspect.iscoroutinefunction(live.run_live)
