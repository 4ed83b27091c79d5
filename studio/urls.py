from django.contrib.auth import views as auth_views
from django.urls import include, path

import studio.api.registry  # noqa: F401  (the model registry's routes)
from studio.accounts.forms import SignInForm
from studio.accounts.routes import route
from studio.api import environments, execution, files, runs, saved_views, workspaces  # noqa: F401  (register the API's routes)
from studio.api.base import api, error_page, unknown_route
from studio.compat import azureml
from studio.web.views import errors


def _error_handler(status: int, page):
    """JSON under /api/, the studio's page elsewhere."""

    def handler(request, exception=None):
        return error_page(request, status) or page(request)

    return handler


handler400 = _error_handler(400, errors.bad_request)
handler403 = _error_handler(403, errors.permission_denied)
handler404 = _error_handler(404, errors.page_not_found)
handler500 = _error_handler(500, errors.server_error)

urlpatterns = [
    path(
        "accounts/login/",
        route("public")(auth_views.LoginView.as_view(authentication_form=SignInForm)),
        name="login",
    ),
    path("accounts/logout/", route("public")(auth_views.LogoutView.as_view()), name="logout"),
    path("api/v1/", api.urls),
    path(f"{azureml.PREFIX}/", include("studio.compat.azureml.urls")),
    path("", include("studio.compat.mlflow.urls")),
    path("api/<path:rest>", unknown_route),
    path("", include("studio.web.urls")),
]
