from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "studio.execution"
    label = "execution"
