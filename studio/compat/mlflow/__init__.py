"""MLflow's tracking REST API, the subset the ``mlflow`` 3.x client needs to log
into Studio unchanged (``MLFLOW_TRACKING_URI=http://studio:8000``,
``MLFLOW_TRACKING_TOKEN=<Studio API token>``).

How MLflow's objects map onto Studio's (``protocol`` holds the pure rules,
``views`` the endpoints, which only call the tracking services and selectors):

- an MLflow experiment is a Studio experiment of the token's workspace; its id is
  the experiment's primary key as a string ("0", MLflow's default experiment, is
  Studio's experiment ``Default``);
- an MLflow run is a Studio run; its id is the run's ``uuid`` as 32 hex digits;
  a nested run (``mlflow.parentRunId``) is a child run; ``mlflow.runName`` is the
  display name; params are properties (immutable), tags are tags, metrics are
  scalar series (timestamps in ms become epoch seconds);
- artifacts are the run's files under ``outputs/``, served through MLflow's
  artifact proxy (``mlflow-artifacts:/<experiment>/<run>/artifacts``).

The workspace of a token: the one it is narrowed to; for an unnarrowed token, the
user's only workspace (a user in several must use a workspace-scoped token)."""
