from django.apps import AppConfig


class CollaborationConfig(AppConfig):
    name = "profiles.collaboration"
    label = "collaboration"
    verbose_name = "Direct collaboration"
