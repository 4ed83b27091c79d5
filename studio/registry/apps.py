from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "studio.registry"
    label = "registry"
    verbose_name = "Model registry"
