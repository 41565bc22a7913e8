# Researcher search ignores accents and letter case: "kovacevic" finds
# "Kovačević", "PESIC" finds "Pešić". Search compares works_fold() of both
# sides: lower(unaccent(...)). unaccent() is only STABLE (its dictionary could
# change), so an IMMUTABLE function with the dictionary named explicitly is
# needed to index it; every name in its body is schema-qualified so that the
# function does not depend on search_path (pg_dump restores with an empty one).
# The trigram indexes move from the raw text to the folded text: the search no
# longer reads the raw ones, and keeping both would only slow every import.

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations
from django.db.models import F, Func, TextField
from django.contrib.postgres.indexes import OpClass


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0006_work_recent_idx"),
    ]

    operations = [
        UnaccentExtension(),
        migrations.RunSQL(
            sql=[
                # unaccent's own C function, declared IMMUTABLE: ~1 us a name where
                # an SQL wrapper around unaccent() costs ~13 us (it cannot be
                # inlined), paid on every row a search rechecks and ranks and on
                # every author an import writes. Declaring a C function needs a
                # superuser; without one, the SQL wrapper does the same, slower.
                """
                DO $do$ BEGIN
                    CREATE FUNCTION works_unaccent(regdictionary, text) RETURNS text
                    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
                    AS '$libdir/unaccent', 'unaccent_dict';
                EXCEPTION WHEN insufficient_privilege THEN
                    CREATE FUNCTION works_unaccent(regdictionary, text) RETURNS text
                    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                    AS $f$ SELECT public.unaccent($1, $2) $f$;
                END $do$
                """,
                # Inlined by the planner (all it calls is IMMUTABLE) in queries
                # and index expressions alike, so both still match.
                """
                CREATE FUNCTION works_fold(text) RETURNS text
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                AS $$ SELECT pg_catalog.lower(
                    public.works_unaccent('public.unaccent'::regdictionary, $1)
                ) $$
                """,
            ],
            reverse_sql=[
                "DROP FUNCTION IF EXISTS works_fold(text)",
                "DROP FUNCTION IF EXISTS works_unaccent(regdictionary, text)",
            ],
        ),
        migrations.RemoveIndex(model_name="author", name="author_name_trgm"),
        migrations.RunSQL(
            sql="DROP INDEX IF EXISTS author_variants_trgm",
            reverse_sql="""
            CREATE INDEX author_variants_trgm ON works_author
            USING gin (works_author_variants_text(name_variants) gin_trgm_ops)
            """,
        ),
        migrations.AddIndex(
            model_name="author",
            index=django.contrib.postgres.indexes.GinIndex(
                OpClass(
                    Func(F("display_name"), function="works_fold", output_field=TextField()),
                    name="gin_trgm_ops",
                ),
                name="author_name_fold_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="author",
            index=django.contrib.postgres.indexes.GinIndex(
                OpClass(
                    Func(
                        Func(
                            F("name_variants"),
                            function="works_author_variants_text",
                            output_field=TextField(),
                        ),
                        function="works_fold",
                        output_field=TextField(),
                    ),
                    name="gin_trgm_ops",
                ),
                name="author_variants_fold_trgm",
            ),
        ),
    ]
