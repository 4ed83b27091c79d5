"""The JSON API's wire, as its two Python clients speak it: the SDK's REST store and
a supervisor reporting from the submitting machine (``execution.backends``). One
request: a JSON body in, the API's error envelope turned back into the exception
class of its code (``errors.error_from_code``), an unreachable studio or a 5xx into
``Unavailable``."""

from __future__ import annotations

from typing import Any

from studio.errors import Unavailable, error_from_code
from studio.rules import jsoncodec


def call(client, uri: str, method: str, path: str, *, json_body: Any = None, **kwargs: Any):
    """The decoded JSON of the answer, or the ``httpx`` response when it is not JSON
    (a file)."""
    import httpx

    if json_body is not None:
        kwargs["content"] = jsoncodec.dumps(json_body)
        kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
    try:
        response = client.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        raise Unavailable(f"Cannot reach the studio at {uri}: {exc}", field="uri") from None
    if response.status_code >= 400:
        try:
            error = jsoncodec.loads(response.content)["error"]
        except Exception:
            if response.status_code >= 500:
                raise Unavailable(
                    f"The studio answered {response.status_code}.", field="uri"
                ) from None
            error = {"code": "error", "message": f"The studio answered {response.status_code}."}
        raise error_from_code(
            error.get("code", "error"),
            error.get("message", ""),
            error.get("field"),
            response.status_code,
        )
    if response.headers.get("content-type", "").startswith("application/json"):
        return jsoncodec.loads(response.content)
    return response
