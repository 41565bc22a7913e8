from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "bzpeer.outbox"
    label = "outbox"
    verbose_name = "Outbound email"
