"""factory_boy factories. Each object is made the way the product makes it (a user with
``create_user``, everything else through the services), so the domain rules hold in
tests too: a ``RunFactory`` run gets its id, number and status from ``run_create``.

    RunFactory()                                   # a run in "explore-runs" of "default"
    RunFactory(experiment=experiment, display_name="tuned", tags={"lr": "0.1"})
    MembershipFactory(user__username="eve", workspace=workspace, role=Role.READER)
"""

from __future__ import annotations

import factory
from django.conf import settings
from django.test import Client
from factory.django import DjangoModelFactory

from studio.accounts.models import Membership, Role
from studio.accounts.services import membership_add, token_create
from studio.tracking import services
from studio.tracking.models import Experiment, Run, Workspace


class UserFactory(DjangoModelFactory):
    """A user whose password is ``pw-<username>``."""

    class Meta:
        model = settings.AUTH_USER_MODEL

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.LazyAttribute(lambda user: f"pw-{user.username}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, **kwargs)


class _ServiceFactory(DjangoModelFactory):
    """Made by the service in ``_service``, called with the factory's fields."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, **kwargs):
        return cls._service(**kwargs)


class WorkspaceFactory(_ServiceFactory):
    class Meta:
        model = Workspace

    _service = staticmethod(services.workspace_get_or_create)
    name = "default"


class MembershipFactory(_ServiceFactory):
    class Meta:
        model = Membership

    _service = staticmethod(membership_add)
    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.CONTRIBUTOR


class ExperimentFactory(_ServiceFactory):
    class Meta:
        model = Experiment

    _service = staticmethod(services.experiment_get_or_create)
    workspace = factory.SubFactory(WorkspaceFactory)
    name = "explore-runs"


class RunFactory(_ServiceFactory):
    """Any keyword ``run_create`` takes (status, parent, tags, properties ...)."""

    class Meta:
        model = Run

    _service = staticmethod(services.run_create)
    experiment = factory.SubFactory(ExperimentFactory)
    submitted_by = "alice"


def client_for(user, **token_scope) -> Client:
    """A test client that calls the API as ``user`` with a new token (``workspace=`` or
    ``run=`` narrow it)."""
    _, secret = token_create(user=user, name="test", **token_scope)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


class ApiClient:
    """``persona.api``: ``client_for(persona)``, its token made on first use, so a test
    that never calls the API has no token it did not ask for."""

    def __init__(self, user):
        self._user = user
        self._client: Client | None = None

    def __getattr__(self, name: str):
        if self._client is None:
            self._client = client_for(self._user)
        return getattr(self._client, name)


def bulk_runs(experiment: Experiment, count: int, start: int = 1) -> list[Run]:
    """``count`` completed top-level runs of ``experiment`` numbered from ``start``,
    written in one statement (query-count tests at 3 and 300 runs); returned with
    their primary keys and numbers."""
    from studio.tracking.models import RunStatus

    Run.objects.bulk_create(
        Run(
            run_id=f"{experiment.name}_{start + i}",
            workspace_id=experiment.workspace_id,
            experiment=experiment,
            number=start + i,
            status=RunStatus.COMPLETED,
            submitted_by="alice",
        )
        for i in range(count)
    )
    return list(Run.objects.filter(experiment=experiment, number__gte=start).only("pk", "number"))
