"""Copy the live sessions of Django's table into bzpeer_session, each with its user's id,
so nobody is signed out when the site moves to it. Expired ones are left behind;
Django's table is left as it is (clearsessions no longer looks at it)."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import migrations
from django.utils import timezone


def copy_live_sessions(apps, schema_editor):
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("bzpeer_sessions", "Session")
    decoder = DjangoSessionStore()
    batch = []
    for old in Old.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000):
        # decode() answers {} for data it cannot verify: such a session belongs to nobody.
        user_id = decoder.decode(old.session_data).get(SESSION_KEY)
        try:
            user_id = int(user_id) if user_id is not None else None
        except (TypeError, ValueError):
            user_id = None
        batch.append(
            New(
                session_key=old.session_key,
                session_data=old.session_data,
                expire_date=old.expire_date,
                user_id=user_id,
            )
        )
        if len(batch) >= 2000:
            New.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    New.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("bzpeer_sessions", "0001_session_with_user"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_live_sessions, migrations.RunPython.noop)]
