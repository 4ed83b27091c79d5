"""Wire protocols of clients nobody here wrote, mapped onto the services:
``azureml`` (the run history azureml-core speaks inside a submitted job)."""
