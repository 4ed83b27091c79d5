"""The subset of Azure ML's run-history protocol that the real ``azureml-core``
uses inside a submitted job (``Run.get_context()``), served under ``/azureml/``.

- ``tokens``: the run-scoped JWT a job gets in AZUREML_RUN_TOKEN;
- ``wire``: the client's documents (run, metric, artifact) to and from Studio's;
- ``views`` and ``urls``: the routes, each mapped onto a service or a selector;
- ``jobenv``: the AZUREML_* variables of a job; ``local``: the endpoint a job of the
  local store gets (served by its supervisor);
- ``jobsite/sitecustomize.py``: sends the client's file uploads to Studio.
"""

PREFIX = "azureml"
