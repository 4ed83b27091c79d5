"""The model registry: named, versioned models made from a run's outputs or from
uploaded files (Azure ML v1's ``Model``, ``run.register_model``)."""
