from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "studio.execution"
    label = "execution"

    def ready(self) -> None:
        from studio.execution.services import stop_leftovers_here
        from studio.tracking.services import liveness

        liveness.when_lost(stop_leftovers_here)
