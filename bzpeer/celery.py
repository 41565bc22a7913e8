import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bzpeer.settings")

app = Celery("bzpeer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# bzpeer is not an installed app; its own tasks module is registered by name.
app.autodiscover_tasks(["bzpeer"], related_name="tasks")
