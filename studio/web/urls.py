from django.urls import path

from studio.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/", views.run_list, name="run-list"),
]
