"""Pick the store for a tracking URI: ``local`` (or none) or ``http(s)://``."""

from __future__ import annotations

from studio.errors import ValidationError
from studio.sdk.stores.base import Store

_stores: dict[str, Store] = {}


def store_for(uri: str | None) -> Store:
    import os

    key = uri or "local"
    if key.startswith(("http://", "https://")):
        key = f"{key}#{os.environ.get('STUDIO_TOKEN', '')}"
    if key not in _stores:
        if key == "local" or key.startswith("local:"):
            from studio.sdk.stores.local import LocalStore

            _stores[key] = LocalStore()
        elif key.startswith(("http://", "https://")):
            from studio.sdk.stores.rest import RestStore

            _stores[key] = RestStore(uri)
        else:
            raise ValidationError(
                f"Unknown tracking URI {uri!r}: use 'local' or an http(s):// URL.",
                field="tracking_uri",
            )
    return _stores[key]
