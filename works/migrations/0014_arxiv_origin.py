# The arXiv import (works.importers.arxiv): authorships and affiliation lines
# it writes say they came from arXiv; affiliation lines may also say Crossref,
# so that both origin lists name every source.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("works", "0013_crossref_import"),
    ]

    operations = [
        migrations.AlterField(
            model_name="authoraffiliation",
            name="origin",
            field=models.CharField(
                choices=[
                    ("openalex", "OpenAlex"),
                    ("orcid", "ORCID"),
                    ("crossref", "Crossref"),
                    ("arxiv", "arXiv"),
                    ("owner", "The researcher"),
                ],
                default="openalex",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="authorship",
            name="origin",
            field=models.CharField(
                choices=[
                    ("openalex", "OpenAlex"),
                    ("orcid", "ORCID"),
                    ("crossref", "Crossref"),
                    ("arxiv", "arXiv"),
                    ("publisher", "Publisher metadata (BibTeX)"),
                    ("claimant", "The researcher"),
                    ("synthetic", "Generated demo data"),
                ],
                default="openalex",
                max_length=16,
            ),
        ),
    ]
