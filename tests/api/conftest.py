"""The API tests call as the personas of tests/conftest.py: ``owner.api.get(...)``."""

import json


def post(client, path, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data, content_type=content_type)
