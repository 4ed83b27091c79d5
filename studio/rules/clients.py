"""Which client logged a run, from the user agent its requests carry.

The clients Studio speaks the protocol of: ``azureml-core`` (v1's run history,
``studio.compat.azureml``) and ``mlflow`` (MLflow's tracking REST API,
``studio.compat.mlflow``). Anything else (Studio's own SDK, a browser, curl) is
not named: the run page then says nothing about it."""

from __future__ import annotations

import re

# (pattern on the user agent, the name shown). The first that matches wins.
_CLIENTS = (
    # azureml-core's REST clients: "... azureml._restclient/core.1.61.0 ..." and
    # "... azureml-core/1.61.0 ..."
    (re.compile(r"azureml\._restclient/core\.(\d[\w.+-]*)"), "azureml-core"),
    (re.compile(r"azureml-core/(\d[\w.+-]*)"), "azureml-core"),
    # What azureml-core 1.61.0 really sends inside a job (its REST clients, msrest):
    # "python/3.12.1 (Linux-...) msrest/0.7.1 azureml._restclient/1.5.0
    # azureml-sdk-core/1.61.0"
    (re.compile(r"azureml-sdk-core/(\d[\w.+-]*)"), "azureml-core"),
    # MLflow's Python client: "mlflow-python-client/3.17.2"
    (re.compile(r"mlflow-python-client/(\d[\w.+-]*)"), "mlflow"),
    (re.compile(r"\bmlflow/(\d[\w.+-]*)"), "mlflow"),
)


def logged_with(user_agent: str | None) -> str:
    """``"azureml-core 1.61.0"``, ``"mlflow 3.17.2"``, or ``""`` when the user agent
    names no client Studio recognises."""
    if not user_agent:
        return ""
    for pattern, name in _CLIENTS:
        found = pattern.search(user_agent)
        if found:
            return f"{name} {found.group(1)}"[:100]
    return ""
