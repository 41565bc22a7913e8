from django.apps import AppConfig


class GraphConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "graph"

    def ready(self) -> None:
        from graph import signals  # noqa: F401  (connects the receivers)
