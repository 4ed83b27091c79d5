"""The JSON API's frame: the NinjaAPI instance, strict parsing, error mapping,
token authentication and the permission declaration every route must carry.

Errors are ``{"error": {"code", "message", "field"}}`` with the status that the
exception class names (``StudioError.http_status``), in one place: ``_studio_error``.
Anything unexpected is ``server_error`` with 500, also when it happens outside an
operation (``error_page``, the API's side of the project's ``handler400/403/404/500``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.security import HttpBearer

from studio.accounts.access import bearer_authenticate
from studio.accounts.routes import route
from studio.errors import (
    NotAuthenticated,
    PayloadTooLarge,
    StudioError,
    TooManyAttempts,
    UnsupportedMediaType,
    ValidationError,
)
from studio.rules import jsoncodec

logger = logging.getLogger("studio.api")


# Wire protocols of other clients (``studio.compat``) under /api/: they check their
# own bodies (MLflow's artifact PUTs carry the file's guessed type).
COMPAT_PREFIXES = ("/api/2.0/",)


class ContentTypeMiddleware:
    """Every state-changing API request must declare the one content type its route
    takes (JSON, or octet-stream for file uploads), whether or not it has a body:
    415 before any view code runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith("/api/")
            and not request.path.startswith(COMPAT_PREFIXES)
            and request.method
            in (
                "POST",
                "PUT",
                "PATCH",
                "DELETE",
            )
        ):
            is_upload = request.method == "PUT" and "/files/" in request.path
            wanted = "application/octet-stream" if is_upload else "application/json"
            got = (request.content_type or "").lower()
            if got != wanted:
                return _studio_error(
                    request,
                    UnsupportedMediaType(
                        f"Send the body as {wanted}, not {got or 'no content type'}.",
                        field="Content-Type",
                    ),
                )
        return self.get_response(request)


class StrictParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        # The content type was checked by ContentTypeMiddleware before any view ran.
        try:
            body = request.body
        except RequestDataTooBig:
            raise PayloadTooLarge(
                "The body is larger than the limit; split metrics into smaller batches.",
                field="body",
            ) from None
        return jsoncodec.loads(body)


class Renderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> str:
        return jsoncodec.dumps(data)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` only: never a cookie, never ``?token=``."""

    def authenticate(self, request: HttpRequest, token: str):
        return bearer_authenticate(request, token)


api = NinjaAPI(
    title="Studio API",
    version="1",
    description="Runs, metrics, tags, properties and files of Studio workspaces.",
    urls_namespace="api",
    auth=TokenAuth(),
    parser=StrictParser(),
    renderer=Renderer(),
    docs_url=None,
)


def error_response(request: HttpRequest, status: int, code: str, message: str, field=None):
    return api.create_response(
        request, {"error": {"code": code, "message": message, "field": field}}, status=status
    )


@api.exception_handler(StudioError)
def _studio_error(request: HttpRequest, exc: StudioError) -> HttpResponse:
    response = error_response(request, exc.http_status, exc.code, exc.message, exc.field)
    if isinstance(exc, TooManyAttempts):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "payload")]
    field = ".".join(loc) or None
    code = "unknown_field" if first.get("type") == "extra_forbidden" else "invalid"
    message = first.get("msg", "Invalid request.")
    return error_response(request, 400, code, f"{field}: {message}" if field else message, field)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _studio_error(
        request, NotAuthenticated("Send a valid API token: Authorization: Bearer <token>.")
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "Not found.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # django-ninja wraps what the body parser raised; answer with the real cause.
    cause = exc.__cause__
    if isinstance(cause, StudioError):
        return _studio_error(request, cause)
    if isinstance(cause, RequestDataTooBig):
        return _too_big(request, cause)
    return error_response(request, exc.status_code, "error", str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _studio_error(
        request,
        PayloadTooLarge(
            "The body is larger than the limit; split it into smaller requests.", field="body"
        ),
    )


SERVER_ERROR = "The server failed to answer this request; the error has been logged."


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("Unexpected error in %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, 500, "server_error", SERVER_ERROR)


ERROR_PAGES = {
    400: ("invalid", "The request could not be understood."),
    403: ("permission_denied", "You are not allowed to do this."),
    404: ("not_found", "No such API route."),
    500: ("server_error", SERVER_ERROR),
}


def error_page(request: HttpRequest, status: int) -> HttpResponse | None:
    """The JSON error for what fails under /api/ outside an API operation (a
    middleware, the URL resolver); None elsewhere (the studio's HTML pages answer)."""
    if not request.path.startswith("/api/"):
        return None
    code, message = ERROR_PAGES[status]
    return error_response(request, status, code, message)


def page_limit(limit: int | None, default: int = 100, maximum: int = 1000) -> int:
    if limit is None:
        return default
    if type(limit) is not int or not 1 <= limit <= maximum:
        raise ValidationError(f"limit must be between 1 and {maximum}.", field="limit")
    return limit


JSON = "application/json"


def negotiate(request: HttpRequest, offered: tuple[str, ...]) -> str:
    """The media type to answer in: the one of ``offered`` the request's ``Accept``
    ranks highest (its q-value, then its order), JSON when it names none of them,
    names them only through a wildcard, or cannot be read. JSON is always possible
    and stays the default: a client gets another encoding only by asking for it."""
    best, best_q = JSON, 0.0
    for item in request.headers.get("Accept", "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media.lower() in offered and 0.0 < q <= 1.0 and q > best_q:
            best, best_q = media.lower(), q
    return best


@route("public")
def unknown_route(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /api/: a JSON 404, not an HTML page (mounted after the API)."""
    return error_response(request, 404, "not_found", f"No API route /api/{rest}.")
