import pytest
from django.test import Client

from studio.accounts.models import Role
from studio.accounts.services import membership_add, token_create
from studio.tracking import services


def client_for(user, **token_scope) -> Client:
    _, secret = token_create(user=user, name="test", **token_scope)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def alice(owner):
    owner.client = client_for(owner)
    return owner


@pytest.fixture
def bob(member):
    member.client = client_for(member)
    return member


@pytest.fixture
def dave(reader):
    reader.client = client_for(reader)
    return reader


@pytest.fixture
def charlie(outsider):
    outsider.client = client_for(outsider)
    return outsider


@pytest.fixture
def api_run(run):
    return run


def post(client, path, body, content_type="application/json"):
    import json

    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data, content_type=content_type)


__all__ = ["Role", "client_for", "membership_add", "post", "services"]
