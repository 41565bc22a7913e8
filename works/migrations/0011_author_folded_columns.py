# Researcher search reads folded names from stored generated columns instead of
# computing works_fold() again and again. With the folded expressions only in the
# index definitions, PostgreSQL folded each candidate's name and variants again for
# the LIKE and %> rechecks, both word_similarity() ranks, the tsvector of the
# prefix tier and the exact-name tier: a search for "Kovačević" (1,263 candidates
# in 100,000 authors) took 30 ms of SQL where the unfolded search took 28 and the
# stored columns take 23. The columns are computed once per written row, as the
# expression indexes were; the trigram indexes move onto them (same names).
# Adding the columns rewrites works_author once per column.

import django.contrib.postgres.indexes
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0010_authoraffiliation_until_present"),
    ]

    operations = [
        # Dropped first so that the table rewrites do not rebuild them.
        migrations.RemoveIndex(model_name="author", name="author_name_fold_trgm"),
        migrations.RemoveIndex(model_name="author", name="author_variants_fold_trgm"),
        migrations.AddField(
            model_name="author",
            name="name_folded",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    models.F("display_name"), function="works_fold", output_field=models.TextField()
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="author",
            name="variants_folded",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    models.Func(
                        models.F("name_variants"),
                        function="works_author_variants_text",
                        output_field=models.TextField(),
                    ),
                    function="works_fold",
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddIndex(
            model_name="author",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["name_folded"], name="author_name_fold_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="author",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["variants_folded"],
                name="author_variants_fold_trgm",
                opclasses=["gin_trgm_ops"],
            ),
        ),
        # pg_trgm estimates how many rows LIKE and %> keep by running the operator
        # over every most-common value and histogram entry of the column: with the
        # default 100 (up to 201 values a column, three conditions a search) that
        # was 1.0-1.5 ms of planning per search, more than the index scans of most
        # searches. With 10 it is 0.3-0.4 ms and the plan stays the same (the
        # candidates are only ever the BitmapOr of the two trigram indexes).
        # ANALYZE now: the new columns have no statistics until it runs.
        migrations.RunSQL(
            sql=[
                """
                ALTER TABLE works_author
                ALTER COLUMN name_folded SET STATISTICS 10,
                ALTER COLUMN variants_folded SET STATISTICS 10
                """,
                "ANALYZE works_author (name_folded, variants_folded)",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
