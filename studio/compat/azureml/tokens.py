"""The token a job's azureml-core sends (AZUREML_RUN_TOKEN): a JWT signed with a
server key whose claims name the run-scoped ``ApiToken`` the job already has.

Verifying one is: signature, ``exp``, and that ApiToken still live (not revoked, its
run not ended, its user active). The permission checks then are the ones every API
route makes: ``access.access_run(user, run_id, need=..., token=that ApiToken)``, so a
job's token reaches its run and the runs below it, nothing else, whoever asks.

A job of the ``local`` target with the local store has no server and no account to
act for: its supervisor serves the protocol itself (``local``) with the authority
the job would have through the local store, narrowed the same way by an unsaved
run-scoped ApiToken, and signs with a key of its own that no other server knows.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone

from studio.accounts.models import ApiToken
from studio.errors import NotAuthenticated
from studio.rules.transitions import TERMINAL
from studio.tracking.models import Run
from studio.tracking.services import liveness

AUDIENCE = "studio-azureml"
# A file's content URI (upload or download) carries a token of its own, for that
# file and that operation only, as a storage service's signed URL does.
CONTENT = "studio-azureml-content"
ALGORITHM = "HS256"
# A token outlives its run's lease by this much; the client asks for a new one
# (the token route) 95 seconds before it expires.
LIFETIME = dt.timedelta(hours=1)


@dataclass
class Grant:
    """Who a verified token acts for, and the run-scoped ApiToken it narrows to."""

    user: Any
    token: ApiToken
    run_id: str  # the token's own run (the job's)


class LocalStoreUser:
    """The authority of a job of the local store (it may open the database itself):
    only the supervisor's own endpoint (``local``) acts for it, always through a
    run-scoped token."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    is_anonymous = False
    pk = None

    def __init__(self, username: str) -> None:
        self.username = username

    def get_username(self) -> str:
        return self.username


# Set by ``local.serve`` in a supervisor of the local store: its key and its job's run.
_local: dict[str, Any] = {}


def _key() -> str:
    return settings.SECRET_KEY


def expires_at() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=liveness.lease_seconds()) + LIFETIME


def mint(*, token: ApiToken, audience: str = AUDIENCE, **extra: str) -> tuple[str, dt.datetime]:
    """A JWT for the run-scoped ``token`` and when it expires; ``extra`` claims narrow
    a content URI's token to one file and one operation."""
    if token.run_id is None:
        raise ValueError("Only a run-scoped token is handed to a job.")
    exp = expires_at()
    run_id = Run.objects.filter(pk=token.run_id).values_list("run_id", flat=True).get()
    claims = {"aud": audience, "sub": run_id, "exp": exp, "iat": timezone.now(), **extra}
    if token.pk is None:  # the local store's job: no stored token, the supervisor's key
        return jwt.encode({**claims, "local": True}, _local["key"], ALGORITHM), exp
    return jwt.encode({**claims, "tid": token.pk}, _key(), ALGORITHM), exp


def mint_for_secret(secret: str) -> str:
    """The JWT of the run-scoped token whose secret the caller just minted."""
    from studio.accounts.services import hash_token

    return mint(token=ApiToken.objects.get(key_hash=hash_token(secret)))[0]


def local_enable(*, run: Run) -> str:
    """Make this process the endpoint of ``run``'s job (the local store's): returns the
    job's JWT, signed with a key only this process knows."""
    _local.update(key=secrets.token_urlsafe(32), run_pk=run.pk)
    return mint(token=_local_token(run))[0]


def _local_token(run: Run) -> ApiToken:
    return ApiToken(name=f"job {run.run_id}", workspace_id=run.workspace_id, run=run)


def verify(raw: str, *, audience: str = AUDIENCE, **expected: str) -> Grant:
    """The grant of a bearer JWT, or NotAuthenticated (bad signature, expired, for
    another audience or other ``expected`` claims, or its token revoked or its run
    ended)."""
    refused = NotAuthenticated("Send a valid run token: Authorization: Bearer <token>.")
    if not raw or len(raw) > 4000:
        raise refused
    try:
        header = jwt.get_unverified_header(raw)
        unverified = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise refused from None
    if header.get("alg") != ALGORITHM:
        raise refused
    key = _local.get("key") if unverified.get("local") else _key()
    if not key:
        raise refused
    try:
        claims = jwt.decode(
            raw, key, algorithms=[ALGORITHM], audience=audience, options={"require": ["exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The run token has expired; ask for a new one.") from None
    except jwt.PyJWTError:
        raise refused from None
    if any(claims.get(k) != v for k, v in expected.items()):
        raise refused
    if claims.get("local"):
        run = Run.objects.filter(pk=_local.get("run_pk"), run_id=claims.get("sub")).first()
        if run is None or run.status in TERMINAL:
            raise refused
        user = LocalStoreUser(run.submitted_by)
        return Grant(user=user, token=_local_token(run), run_id=run.run_id)
    token = (
        ApiToken.objects.select_related("user", "run")
        .filter(pk=claims.get("tid"), revoked_at__isnull=True, run__run_id=claims.get("sub"))
        .exclude(run__status__in=TERMINAL)
        .first()
    )
    if token is None or not token.user.is_active:
        raise refused
    return Grant(user=token.user, token=token, run_id=token.run.run_id)
