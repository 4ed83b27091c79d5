"""Every page of the studio, grouped by what it shows. Views live in studio/web/views/,
one module per group."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from studio.accounts.routes import route
from studio.web.views import (
    account,
    audit,
    charts,
    compare,
    compute,
    descriptions,
    environments,
    experiments,
    invitations,
    live,
    members,
    run_page,
    runs,
    saved_views,
    tokens,
    trash,
    workspaces,
)
from studio.web.views import models as model_views

runs_list = [
    path("runs/", runs.run_list, name="run-list"),
    path("runs.csv", runs.run_export, name="run-export"),
    path("actions/runs/", runs.run_bulk, name="run-bulk"),
    path("fragments/runs/<str:run_id>/children/", runs.run_children_rows, name="run-children-rows"),
    path("live/runs/", live.runs_live, name="runs-live"),
]

one_run = [
    path("", run_page.run_detail, name="run-detail"),
    path("name/", run_page.run_rename, name="run-rename"),
    path("description/", run_page.run_describe, name="run-describe"),
    path(
        "description/history/",
        descriptions.description_history,
        name="run-description-history",
    ),
    path(
        "description/restore/",
        descriptions.description_restore,
        name="run-description-restore",
    ),
    path("description/attach/", descriptions.description_attach, name="run-description-attach"),
    path("tags/", run_page.run_tags, name="run-tags"),
    path("cancel/", run_page.run_cancel, name="run-cancel"),
    path("archive/", trash.run_archive, name="run-archive"),
    path("unarchive/", trash.run_unarchive, name="run-unarchive"),
    path("delete/", trash.run_delete, name="run-delete"),
    path("chart/", run_page.run_chart, name="run-chart"),
    path("children/", run_page.run_children, name="run-children"),
    path("log/", run_page.run_log, name="run-log"),
    path("log/search/", run_page.run_log_search, name="run-log-search"),
    path("live/", live.run_live, name="run-live"),
    path("files/<path:name>", run_page.run_file, name="run-file"),
]

experiment_pages = [
    path("", experiments.experiment_list, name="experiment-list"),
    path("<str:name>/", experiments.experiment_detail, name="experiment-detail"),
]

model_pages = [
    path("", model_views.model_list, name="model-list"),
    path("<str:model>/", model_views.model_detail, name="model-detail"),
    path("<str:model>/<int:version>/", model_views.model_version, name="model-version"),
    path("<str:model>/<int:version>/files/<path:file>", model_views.model_file, name="model-file"),
]

view_pages = [
    path("", saved_views.view_list, name="view-list"),
    path("<int:view_id>/", saved_views.view_detail, name="view-detail"),
    path("<int:view_id>/edit/", saved_views.view_edit, name="view-edit"),
    path("<int:view_id>/delete/", saved_views.view_delete, name="view-delete"),
    path("<int:view_id>/default/", saved_views.view_default, name="view-default"),
]

settings_pages = [
    path("tokens/", tokens.token_list, name="token-list"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke_view, name="token-revoke"),
    path("members/", members.member_list, name="member-list"),
    path("members/<int:membership_id>/", members.member_change, name="member-change"),
    path("members/invite/", invitations.invitation_create, name="invitation-create"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        invitations.invitation_revoke,
        name="invitation-revoke",
    ),
    path("users/", account.user_list, name="user-list"),
    path("users/<int:user_id>/", account.user_change, name="user-change"),
    path("audit/", audit.audit_list, name="audit-list"),
    path("workspace/", workspaces.workspace_settings, name="workspace-settings"),
    path("workspaces/new/", workspaces.workspace_create, name="workspace-create"),
]

account_pages = [
    path("invite/<str:token>/", invitations.invitation_open, name="invitation-open"),
    path("password/", account.password_change, name="password-change"),
    path("profile/", account.profile, name="profile"),
    path("profile/theme/", account.theme_set, name="theme-set"),
    path(
        "set-password/<uidb64>/<token>/",
        route("public")(
            auth_views.PasswordResetConfirmView.as_view(
                template_name="accounts/set_password.html",
                success_url=reverse_lazy("login"),
                reset_url_token="set",
            )
        ),
        name="set-password",
    ),
]

urlpatterns = [
    path("", runs.home, name="home"),
    *runs_list,
    path("runs/<str:run_id>/", include(one_run)),
    path("compare/", compare.compare, name="compare"),
    path("trash/", trash.trash_list, name="trash-list"),
    path("trash/<str:run_id>/restore/", trash.trash_restore, name="trash-restore"),
    path("trash/<str:run_id>/delete/", trash.trash_purge, name="trash-purge"),
    path("charts/series/", charts.chart_series, name="chart-series"),
    path("experiments/", include(experiment_pages)),
    path("models/", include(model_pages)),
    path("views/", include(view_pages)),
    path("environments/", environments.environment_list, name="environment-list"),
    path("compute/", compute.compute_list, name="compute-list"),
    path("settings/", include(settings_pages)),
    path("accounts/", include(account_pages)),
]
