from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("works", "0009_work_search_document")]

    operations = [
        migrations.AddField(
            model_name="authoraffiliation",
            name="until_present",
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
