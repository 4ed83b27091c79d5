from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "studio.audit"
    label = "audit"

    def ready(self) -> None:
        from studio.audit import signals  # noqa: F401  (sign-in receivers)
