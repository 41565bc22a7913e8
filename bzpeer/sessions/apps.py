from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "bzpeer.sessions"
    label = "bzpeer_sessions"
    verbose_name = "Sessions"
    default_auto_field = "django.db.models.BigAutoField"
