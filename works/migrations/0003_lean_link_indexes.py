"""Drop the one-column indexes of link-table foreign keys that a two-column index covers.

Only the indexes go: Django's own AlterField would also drop and re-add each
foreign key constraint, which re-checks every row of these large tables under
a lock. The names are Django's generated ones, the same on every database.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0002_author_variants_trgm"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="authorship",
                    name="author",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="authorships",
                        to="works.author",
                    ),
                ),
                migrations.AlterField(
                    model_name="authorship",
                    name="status_changed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="authorship",
                    name="work",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="authorships",
                        to="works.work",
                    ),
                ),
                migrations.AlterField(
                    model_name="authortopic",
                    name="author",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="works.author",
                    ),
                ),
                migrations.AlterField(
                    model_name="worktopic",
                    name="topic",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="works.topic",
                    ),
                ),
                migrations.AlterField(
                    model_name="worktopic",
                    name="work",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, to="works.work"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    """
                    DROP INDEX IF EXISTS works_authorship_author_id_dcf0ef8a;
                    DROP INDEX IF EXISTS works_authorship_status_changed_by_id_21b5b266;
                    DROP INDEX IF EXISTS works_authorship_work_id_2b6feac7;
                    DROP INDEX IF EXISTS works_authortopic_author_id_23f98d2e;
                    DROP INDEX IF EXISTS works_worktopic_topic_id_e3c08095;
                    DROP INDEX IF EXISTS works_worktopic_work_id_b80f39f5;
                    """,
                    reverse_sql="""
                    CREATE INDEX works_authorship_author_id_dcf0ef8a
                        ON works_authorship (author_id);
                    CREATE INDEX works_authorship_status_changed_by_id_21b5b266
                        ON works_authorship (status_changed_by_id);
                    CREATE INDEX works_authorship_work_id_2b6feac7 ON works_authorship (work_id);
                    CREATE INDEX works_authortopic_author_id_23f98d2e
                        ON works_authortopic (author_id);
                    CREATE INDEX works_worktopic_topic_id_e3c08095 ON works_worktopic (topic_id);
                    CREATE INDEX works_worktopic_work_id_b80f39f5 ON works_worktopic (work_id);
                    """,
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="authorship",
            index=models.Index(
                condition=models.Q(("status_changed_by__isnull", False)),
                fields=["status_changed_by"],
                name="authorship_changed_by_idx",
            ),
        ),
    ]
