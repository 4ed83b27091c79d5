from django.urls import path

from studio.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/", views.run_list, name="run-list"),
    path("settings/tokens/", views.token_list, name="token-list"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
]

# --- the runs list, experiments, saved views and members (views.py and neighbours) ----
from studio.web import experiments, members, saved_views  # noqa: E402

urlpatterns += [
    path("runs.csv", views.run_export, name="run-export"),
    path("actions/runs/", views.run_bulk, name="run-bulk"),
    path("fragments/runs/status/", views.run_statuses, name="run-statuses"),
    path(
        "fragments/runs/<str:run_id>/children/",
        views.run_children_rows,
        name="run-children-rows",
    ),
    path("experiments/", experiments.experiment_list, name="experiment-list"),
    path("experiments/<str:name>/", experiments.experiment_detail, name="experiment-detail"),
    path("views/", saved_views.view_list, name="view-list"),
    path("views/<int:view_id>/", saved_views.view_detail, name="view-detail"),
    path("views/<int:view_id>/edit/", saved_views.view_edit, name="view-edit"),
    path("views/<int:view_id>/delete/", saved_views.view_delete, name="view-delete"),
    path("views/<int:view_id>/default/", saved_views.view_default, name="view-default"),
    path("settings/members/", members.member_list, name="member-list"),
    path("settings/members/<int:membership_id>/", members.member_change, name="member-change"),
]

# --- the run page, compare and their fragments (studio/web/run_page.py) ---------------
from studio.web import run_compare, run_page  # noqa: E402

urlpatterns += [
    path("runs/<str:run_id>/", run_page.run_detail, name="run-detail"),
    path("runs/<str:run_id>/name/", run_page.run_rename, name="run-rename"),
    path("runs/<str:run_id>/description/", run_page.run_describe, name="run-describe"),
    path("runs/<str:run_id>/tags/", run_page.run_tags, name="run-tags"),
    path("runs/<str:run_id>/cancel/", run_page.run_cancel, name="run-cancel"),
    path("runs/<str:run_id>/chart/", run_page.run_chart, name="run-chart"),
    path("runs/<str:run_id>/children/", run_page.run_children, name="run-children"),
    path("runs/<str:run_id>/log/", run_page.run_log, name="run-log"),
    path("runs/<str:run_id>/log/search/", run_page.run_log_search, name="run-log-search"),
    path("runs/<str:run_id>/files/<path:name>", run_page.run_file, name="run-file"),
    path("compare/", run_compare.compare, name="compare"),
]
