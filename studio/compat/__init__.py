"""Wire protocols of clients nobody here wrote (issue 12), each mapped onto the
tracking services: ``azureml`` (the run history azureml-core speaks inside a
submitted job) and ``mlflow`` (MLflow's tracking REST API)."""
