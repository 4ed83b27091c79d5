"""The run-history routes under /azureml/, as azureml-core builds them: a service
(``history``, ``metric``, ``artifact``), a version, then the workspace's ARM scope,
of which only the workspace name means something here."""

from django.urls import path, re_path

from studio.compat.azureml import views

WS = (
    r"^(?P<service>history|metric|artifact)/v(?:1|2)\.0/subscriptions/[^/]+/resourceGroups/[^/]+"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<workspace>[^/]+)/"
)
EXP = r"(?:experiments|experimentids)/(?P<experiment>[^/]+)/"
RUN = EXP + r"runs/(?P<run_id>[^/]+)"


def _ws(pattern: str, view, name: str):
    return re_path(WS + pattern + "$", view, name=f"azureml-{name}")


def _drop(view):
    """Routes whose service segment means nothing to the view."""

    def inner(request, service, **kwargs):
        return view(request, **kwargs)

    for attr in ("studio_policy", "studio_post", "studio_objects"):
        setattr(inner, attr, getattr(view, attr))
    inner.csrf_exempt = True
    return inner


urlpatterns = [
    path("discovery", views.discovery, name="azureml-discovery"),
    path("content/<str:run_id>/<path:path>", views.content, name="azureml-content"),
    _ws(RUN, _drop(views.run), "run"),
    _ws(RUN + "/details", _drop(views.run_details), "run-details"),
    _ws(RUN + "/children", _drop(views.run_children), "run-children"),
    _ws(RUN + "/events", _drop(views.run_events), "run-events"),
    _ws(RUN + "/token", _drop(views.token_refresh), "token"),
    _ws(RUN + "/metricsingest/wait", _drop(views.metrics_ingest_wait), "metrics-wait"),
    _ws(EXP + "batch/runs", _drop(views.runs_batch), "runs-batch"),
    _ws(EXP + "batch/events", _drop(views.events_batch), "events-batch"),
    _ws(r"runs/(?P<run_id>[^/]+)/batch", _drop(views.metrics_batch), "metrics-batch"),
    _ws(r"runs/(?P<run_id>[^/]+)/list", _drop(views.metrics_list), "metrics-list"),
    _ws(r"runs/(?P<run_id>[^/]+)/full", _drop(views.metrics_full), "metrics-full"),
    _ws(
        r"artifacts/batch/metadata/(?P<origin>[^/]+)/(?P<container>[^/]+)",
        _drop(views.artifacts_create),
        "artifacts-create",
    ),
    _ws(
        r"artifacts/prefix/contentinfo/(?P<origin>[^/]+)/(?P<container>[^/]+)(?:/(?P<path>.+))?",
        _drop(views.artifacts_prefix_info),
        "artifacts-prefix",
    ),
    _ws(
        r"artifacts/contentinfo/(?P<origin>[^/]+)/(?P<container>[^/]+)/(?P<path>.+)",
        _drop(views.artifact_info),
        "artifact-info",
    ),
    _ws(
        r"artifacts/content/(?P<origin>[^/]+)/(?P<container>[^/]+)/(?P<path>.+)",
        _drop(views.artifact_download),
        "artifact-content",
    ),
    _ws(
        r"artifacts/(?P<origin>[^/]+)/(?P<container>[^/]+)(?:/(?P<path>.+))?",
        _drop(views.artifacts_list),
        "artifacts-list",
    ),
]
