# The ORCID import and the matcher every source shares (works.matching):
# works_title_key() is the title a work is matched by, IMMUTABLE (built on
# works_fold, migration 0007) so that an index can hold it; a partial index
# finds the works an ORCID import created by their put-code; an affiliation
# line keeps its id at the source and the organisation's ids.

import django.contrib.postgres.indexes
import django.db.models.fields.json
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0011_author_folded_columns"),
    ]

    operations = [
        migrations.RunSQL(
            # HTML tags (Crossref's <i>, <sub>) go first, then accents and case,
            # then every run of what is not a letter or digit becomes one space.
            sql="""
            CREATE FUNCTION works_title_key(text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS $$ SELECT pg_catalog.btrim(pg_catalog.regexp_replace(
                public.works_fold(pg_catalog.regexp_replace($1, '<[^>]*>', ' ', 'g')),
                '[^[:alnum:]]+', ' ', 'g'
            )) $$
            """,
            reverse_sql="DROP FUNCTION IF EXISTS works_title_key(text)",
        ),
        migrations.AddField(
            model_name="authoraffiliation",
            name="organization_ids",
            field=models.JSONField(
                blank=True,
                db_default={},
                default=dict,
                help_text=(
                    "The organisation's ids as the source gave them: "
                    '{"ror": ..., "grid": ...}.'
                ),
            ),
        ),
        migrations.AddField(
            model_name="authoraffiliation",
            name="source_key",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="authoraffiliation",
            name="origin",
            field=models.CharField(
                choices=[("openalex", "OpenAlex"), ("orcid", "ORCID"), ("owner", "The researcher")],
                default="openalex",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="work",
            # Hash, not B-tree: a B-tree entry over 2,704 bytes (a long title) fails the insert.
            index=django.contrib.postgres.indexes.HashIndex(
                models.Func(
                    models.F("title"), function="works_title_key", output_field=models.TextField()
                ),
                name="work_title_key_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="work",
            index=models.Index(
                django.db.models.fields.json.KeyTextTransform("orcid_put_code", "other_ids"),
                condition=models.Q(("other_ids__has_key", "orcid_put_code")),
                name="work_orcid_put_code_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="authoraffiliation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source_key", ""), _negated=True),
                fields=("author", "origin", "source_key"),
                name="authoraffiliation_source_key_uniq",
            ),
        ),
    ]
