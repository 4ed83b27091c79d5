"""The studio's error pages (``handler400/403/404/500`` and ``CSRF_FAILURE_VIEW``): the
studio's frame and navigation, what went wrong in a sentence, and a way back.

They say nothing about the request, not even its path or the exception's text (either
may name an object the caller may not see), and show no traceback.
"""

from __future__ import annotations

import logging

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from studio.web.common import came_from

log = logging.getLogger(__name__)

PAGES = {
    400: ("Bad request", "The studio could not understand this request."),
    403: ("Not allowed", "Your role in this workspace does not allow this."),
    404: ("Page not found", "There is no such page, or it is not yours to see."),
    500: ("Something went wrong", "The studio failed to answer; the error has been logged."),
}
CSRF = (
    "The form could not be sent",
    "It expired or did not come from this studio's page. Go back, reload the page and "
    "send it again.",
)


def _back(request: HttpRequest) -> str:
    """The page the caller came from when it is on this studio, else the runs list."""
    try:
        return came_from(request, reverse("run-list"))
    except DisallowedHost:  # the 400 for a Host header this studio does not serve
        return reverse("run-list")


def _page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    context = {"status": status, "title": title, "message": message}
    try:
        context["back"] = _back(request)
        return render(request, "web/error.html", context, status=status)
    except Exception:  # a failing database or host check must not hide the error page
        if status != 500:
            raise
        log.exception("the error page failed with its navigation; served without it")
        context["back"] = "/"
        return HttpResponse(render_to_string("web/error.html", context), status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 400, *PAGES[400])


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, *PAGES[403])


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404, *PAGES[404])


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, 500, *PAGES[500])


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(request, 403, *CSRF)
