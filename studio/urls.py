from django.contrib.auth import views as auth_views
from django.urls import include, path

import studio.api.registry  # noqa: F401  (the model registry's routes)
from studio.accounts.routes import route
from studio.api import environments, execution, files, runs, saved_views, workspaces  # noqa: F401  (register the API's routes)
from studio.api.base import api, unknown_route

handler500 = "studio.api.base.server_error"

urlpatterns = [
    path("accounts/login/", route("public")(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", route("public")(auth_views.LogoutView.as_view()), name="logout"),
    path("api/v1/", api.urls),
    path("api/<path:rest>", unknown_route),
    path("", include("studio.web.urls")),
]
