"""Which client logged a run: named from the user agent, shown on the run page."""

import pytest

from studio.rules import clients
from studio.tracking import services
from studio.tracking.models import Run


@pytest.mark.parametrize(
    "user_agent, expected",
    [
        ("mlflow-python-client/3.17.2", "mlflow 3.17.2"),
        (
            "python/3.12.3 (Linux-6.1) msrest/0.7.1 azureml._restclient/core.1.61.0.post4",
            "azureml-core 1.61.0.post4",
        ),
        ("azureml-core/1.61.0 python/3.12", "azureml-core 1.61.0"),
        (  # as azureml-core 1.61.0.post4 sends it from a job (seen on the wire)
            "python/3.12.1 (Linux-6.18.44-x86_64-with-glibc2.36) msrest/0.7.1 "
            "azureml._restclient/1.5.0 azureml-sdk-core/1.61.0",
            "azureml-core 1.61.0",
        ),
        ("python-httpx/0.28.1", ""),
        ("Mozilla/5.0 (X11; Linux x86_64)", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_the_client_is_named_from_its_user_agent(user_agent, expected):
    assert clients.logged_with(user_agent) == expected


def test_a_run_remembers_the_client_that_logged_it(run):
    services.run_note_client(run=run, user_agent="curl/8.0")
    assert Run.objects.get(pk=run.pk).logged_with == ""
    services.run_note_client(run=run, user_agent="mlflow-python-client/3.17.2")
    assert Run.objects.get(pk=run.pk).logged_with == "mlflow 3.17.2"
    assert run.logged_with == "mlflow 3.17.2"
