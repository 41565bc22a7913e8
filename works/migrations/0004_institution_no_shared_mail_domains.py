"""Drop free-mail and shared-host domains that earlier imports stored on institutions.

An institution whose OpenAlex homepage was a webmail host (https://www.gmail.com/)
got email_domains = {gmail.com}; the importer no longer derives such domains
(works.email_domains), and this removes the ones already stored. Data only.
"""

from django.db import migrations

from works import email_domains

BATCH = 2000


def remove_shared_domains(apps, schema_editor):
    Institution = apps.get_model("works", "Institution")
    changed = []
    rows = Institution.objects.exclude(email_domains=[]).only("id", "email_domains")
    for institution in rows.iterator(chunk_size=BATCH):
        kept = [d for d in institution.email_domains if not email_domains.is_shared(d)]
        if kept != institution.email_domains:
            institution.email_domains = kept
            changed.append(institution)
        if len(changed) >= BATCH:
            Institution.objects.bulk_update(changed, ["email_domains"])
            changed = []
    Institution.objects.bulk_update(changed, ["email_domains"])


class Migration(migrations.Migration):
    dependencies = [("works", "0003_lean_link_indexes")]

    operations = [
        migrations.RunPython(remove_shared_domains, migrations.RunPython.noop, elidable=True),
    ]
