"""Wire protocols of clients nobody here wrote (issue 12), each mapped onto the
tracking services: ``mlflow`` (MLflow's tracking REST API)."""
