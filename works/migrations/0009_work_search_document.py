# Full-text search within a researcher's works (profiles.selectors.works_for_filter).
#
# Measured with 32,000 works, 2,000 of them one author's (180-word abstracts):
# computing to_tsvector() per row while filtering the author's works took
# 270 ms; reading this stored column took 35 ms, and its GIN index 0.5 ms
# when the words are rare. A GIN index on the expression alone was not used:
# the planner reads the author's works first, then computes every row again.
#
# The column is not a model field on purpose: every query that loads works
# (lists, feeds, select_related) would carry a few kilobytes of tsvector per
# row that only the search reads. Accents and case are folded as researcher
# search folds names (works_fold, migration 0007); English stemming.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0008_research_record"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                """
                ALTER TABLE works_work ADD COLUMN search_document tsvector
                GENERATED ALWAYS AS (
                    to_tsvector('english'::regconfig, works_fold(title || ' ' || abstract))
                ) STORED
                """,
                "CREATE INDEX work_search_gin ON works_work USING gin (search_document)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS work_search_gin",
                "ALTER TABLE works_work DROP COLUMN IF EXISTS search_document",
            ],
        ),
    ]
