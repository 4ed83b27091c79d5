"""MLflow's routes, under both of its prefixes (the client uses /api/2.0/, MLflow's
web UI /ajax-api/2.0/)."""

from django.urls import path

from studio.compat.mlflow import views

TRACKING = [
    ("experiments/create", views.experiment_create),
    ("experiments/get", views.experiment_get),
    ("experiments/get-by-name", views.experiment_get_by_name),
    ("experiments/search", views.experiment_search),
    ("runs/create", views.run_create),
    ("runs/get", views.run_get),
    ("runs/update", views.run_update),
    ("runs/search", views.run_search),
    ("runs/delete", views.run_delete),
    ("runs/restore", views.run_restore),
    ("runs/log-batch", views.log_batch),
    ("runs/log-metric", views.log_metric),
    ("runs/log-parameter", views.log_parameter),
    ("runs/set-tag", views.set_tag),
    ("runs/delete-tag", views.delete_tag),
    ("metrics/get-history", views.metric_history),
    ("runs/log-inputs", views.log_inputs),
    ("runs/outputs", views.log_outputs),
    ("logged-models", views.model_create),
    ("logged-models/<str:model>", views.model_get),
    ("logged-models/<str:model>/params", views.model_params),
    ("logged-models/<str:model>/tags", views.model_tags),
]

urlpatterns = [
    *(
        path(
            f"{prefix}/2.0/mlflow/{route}",
            view,
            name=f"mlflow-{route.replace('/', '-').replace('<str:model>', 'model')}"
            if prefix == "api"
            else None,
        )
        for prefix in ("api", "ajax-api")
        for route, view in TRACKING
    ),
    path("api/2.0/mlflow-artifacts/artifacts", views.artifact_list, name="mlflow-artifact-list"),
    path("api/2.0/mlflow-artifacts/artifacts/<path:path>", views.artifact, name="mlflow-artifact"),
    path("ajax-api/2.0/mlflow-artifacts/artifacts", views.artifact_list),
    path("ajax-api/2.0/mlflow-artifacts/artifacts/<path:path>", views.artifact),
]
urlpatterns.append(path("api/2.0/<path:rest>", views.unknown))
