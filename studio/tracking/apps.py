from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "studio.tracking"
    label = "tracking"
    verbose_name = "Tracking"
