# The full-text document of a work (0009) stops being a generated column: a
# trigger computes it, with the same expression, unless the writer gives it.
#
# Why: a generated column is computed by the backend that inserts the row, on
# the import's critical path, and it was the largest part of writing a work:
# on 30,000 generated works it cost 1.3-1.4 s of the 8 s of CPU the writer's
# PostgreSQL backend spent.
# The OpenAlex import now has it computed on a connection of its own, ahead of
# the writes, while the writer waits on the database (works.importers.openalex,
# _Receiver), and hands it over with the row.
#
# The trigger keeps every other writer (the ORM, the admin, raw SQL) exactly as
# before: it computes the document when none is given, and again when the title
# or abstract changes but the document does not. A document that is given is
# trusted to be this expression of the row's title and abstract, which is the
# only thing the importer gives (upsert.WORK).
#
# Existing rows keep their documents as they are: DROP EXPRESSION only stops the
# column being computed (no rewrite, the GIN index stays).
from django.db import migrations

_DOCUMENT = "to_tsvector('english'::regconfig, works_fold(NEW.title || ' ' || NEW.abstract))"


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0014_arxiv_origin"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE works_work ALTER COLUMN search_document DROP EXPRESSION",
                f"""
                CREATE FUNCTION works_work_search_document() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.search_document IS NULL
                        OR (TG_OP = 'UPDATE'
                            AND (NEW.title, NEW.abstract) IS DISTINCT FROM (OLD.title, OLD.abstract)
                            AND NEW.search_document IS NOT DISTINCT FROM OLD.search_document)
                    THEN
                        NEW.search_document := {_DOCUMENT};
                    END IF;
                    RETURN NEW;
                END
                $$
                """,
                """
                CREATE TRIGGER work_search_document
                BEFORE INSERT OR UPDATE OF title, abstract, search_document ON works_work
                FOR EACH ROW EXECUTE FUNCTION works_work_search_document()
                """,
            ],
            reverse_sql=[
                "DROP TRIGGER IF EXISTS work_search_document ON works_work",
                "DROP FUNCTION IF EXISTS works_work_search_document()",
                # A column cannot become generated again: it is made anew (0009's).
                "DROP INDEX IF EXISTS work_search_gin",
                "ALTER TABLE works_work DROP COLUMN search_document",
                """
                ALTER TABLE works_work ADD COLUMN search_document tsvector
                GENERATED ALWAYS AS (
                    to_tsvector('english'::regconfig, works_fold(title || ' ' || abstract))
                ) STORED
                """,
                "CREATE INDEX work_search_gin ON works_work USING gin (search_document)",
            ],
        ),
    ]
