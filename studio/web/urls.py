from django.urls import path

from studio.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/", views.run_list, name="run-list"),
    path("settings/tokens/", views.token_list, name="token-list"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
]
