"""Exports of a record and of a work, each parsed back by a parser other than its writer.

BibTeX is written by bibtexparser (LaTeX by pylatexenc's encoder) and read here
by pybtex, its LaTeX turned back into text by pylatexenc's latex2text; RIS is
written by rispy and read by the line grammar of the RIS specification below;
CSL-JSON is read by json and checked against a schema of the CSL data model;
CSV by the csv module.
"""

import csv
import datetime
import functools
import io
import json
import re
from urllib.parse import unquote

import jsonschema
import pytest
from django.urls import reverse
from pybtex.database import Person, parse_string
from pylatexenc import latex2text

from tests.factories import AuthorFactory, AuthorshipFactory, SourceFactory, WorkFactory
from works import exports
from works.demo import seed
from works.demo.services import seed_researcher_load
from works.models import Authorship, Work

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
FORMATS = ("bib", "ris", "json", "csv")
CONTENT_TYPES = {
    "bib": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "json": "application/vnd.citationstyles.csl+json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
# The record's own queries: the author, the works with their sources, their authors.
RECORD_EXPORT_QUERIES = 3

# The seed record gives the years of the seed page (works/demo/seed.py): 2020 for
# the two papers that papers.bib dates to their NeurIPS 2019 proceedings.
SEED_YEARS_DIFFERING_FROM_BIB = {
    "LCA: Loss Change Allocation for Neural Network Training": (2019, 2020),
    "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask": (2019, 2020),
}


# ---------------------------------------------------------------- parsers


@functools.cache
def _latex_converter() -> latex2text.LatexNodes2Text:
    # The three text commands the writer uses for characters BibTeX or LaTeX
    # would otherwise read as syntax, which latex2text's defaults lack.
    db = latex2text.get_default_latex_context_db()
    db.add_context_category(
        "bibtex-literals",
        prepend=True,
        macros=[
            latex2text.MacroTextSpec("textbraceleft", "{"),
            latex2text.MacroTextSpec("textbraceright", "}"),
            latex2text.MacroTextSpec("textasciicircum", "^"),
        ],
    )
    return latex2text.LatexNodes2Text(latex_context=db, math_mode="verbatim")


def _latex_to_text(latex: str) -> str:
    return _latex_converter().latex_to_text(latex)


def _full_name(person: Person) -> str:
    parts = person.first_names + person.middle_names + person.prelast_names + person.last_names
    return _latex_to_text(" ".join(parts))


def parse_bibtex(text: str) -> list[dict]:
    """Entries in file order as pybtex reads them, fields back as plain text."""
    data = parse_string(text, "bibtex")
    entries = []
    for key, entry in data.entries.items():
        fields = {name.lower(): value for name, value in entry.fields.items()}
        decoded = {
            name: value if name in ("doi", "url", "eprint") else _latex_to_text(value)
            for name, value in fields.items()
        }
        decoded["authors"] = [_full_name(p) for p in entry.persons.get("author", [])]
        entries.append({"key": key, "type": entry.type, **decoded})
    return entries


_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  - ?(.*)$")


def parse_ris(text: str) -> list[dict[str, list[str]]]:
    """RIS by its specification: TY opens a record, ER closes it, every line is 'XX  - value'."""
    assert "\r\n" in text
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.split("\r\n"):
        if not line:
            continue
        match = _RIS_LINE.match(line)
        assert match, f"not an RIS line: {line!r}"
        tag, value = match.groups()
        if tag == "TY":
            assert current is None
            current = {"TY": [value]}
        elif tag == "ER":
            assert current is not None
            records.append(current)
            current = None
        else:
            assert current is not None, f"{tag} outside a record"
            current.setdefault(tag, []).append(value)
    assert current is None
    return records


def _ris_name(value: str) -> str:
    family, _, given = value.partition(", ")
    return f"{given} {family}" if given else family


# The parts of the CSL data model (citationstyles.org's csl-data schema) these
# exports write; any other key is an error.
_CSL_TYPES = [
    "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
    "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
    "entry-dictionary", "entry-encyclopedia", "figure", "graphic", "hearing", "interview",
    "legal_case", "legislation", "manuscript", "map", "motion_picture", "musical_score",
    "pamphlet", "paper-conference", "patent", "performance", "periodical",
    "personal_communication", "post", "post-weblog", "regulation", "report", "review",
    "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage",
]  # fmt: skip
_STRING = {"type": "string"}
_STRING_OR_NUMBER = {"type": ["string", "number"]}
CSL_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["type", "id"],
        "additionalProperties": False,
        "properties": {
            "type": {"enum": _CSL_TYPES},
            "id": _STRING_OR_NUMBER,
            "title": _STRING,
            "author": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"family": _STRING, "given": _STRING, "literal": _STRING},
                },
            },
            "issued": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "date-parts": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 2,
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 3,
                            "items": _STRING_OR_NUMBER,
                        },
                    }
                },
            },
            "container-title": _STRING,
            "publisher": _STRING,
            "volume": _STRING_OR_NUMBER,
            "issue": _STRING_OR_NUMBER,
            "page": _STRING_OR_NUMBER,
            "number": _STRING_OR_NUMBER,
            "DOI": _STRING,
            "URL": _STRING,
            "abstract": _STRING,
        },
    },
}


def parse_csl(text: str) -> list[dict]:
    items = json.loads(text)
    jsonschema.validate(items, CSL_SCHEMA)
    return items


def _csl_name(name: dict) -> str:
    return name.get("literal") or f"{name['given']} {name['family']}"


def parse_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def common_fields(extension: str, content: bytes) -> list[dict]:
    """Each format's records as {title, authors, year, arxiv, doi}: what every format must keep."""
    text = content.decode("utf-8")
    if extension == "bib":
        return [
            {
                "title": e["title"],
                "authors": e["authors"],
                "year": int(e["year"]),
                "arxiv": e.get("eprint", ""),
                "doi": e.get("doi", ""),
            }
            for e in parse_bibtex(text)
        ]
    if extension == "ris":
        return [
            {
                "title": r["TI"][0],
                "authors": [_ris_name(a) for a in r.get("AU", [])],
                "year": int(r["PY"][0]),
                "arxiv": r.get("AN", [""])[0].removeprefix("arXiv:"),
                "doi": r.get("DO", [""])[0],
            }
            for r in parse_ris(text)
        ]
    if extension == "json":
        return [
            {
                "title": i["title"],
                "authors": [_csl_name(a) for a in i["author"]],
                "year": i["issued"]["date-parts"][0][0],
                "arxiv": i.get("number", "").removeprefix("arXiv:"),
                "doi": i.get("DOI", ""),
            }
            for i in parse_csl(text)
        ]
    return [
        {
            "title": row["title"],
            "authors": row["authors"].split("; ") if row["authors"] else [],
            "year": int(row["year"]),
            "arxiv": row["arxiv_id"],
            "doi": row["doi"],
        }
        for row in parse_csv(content)
    ]


def papers_bib(shared_data) -> dict[str, dict]:
    """../shared/data/seed-researcher/papers.bib by title: its authors in order and year."""
    data = parse_string((shared_data / "seed-researcher" / "papers.bib").read_text(), "bibtex")
    return {
        entry.fields["title"]: {
            "authors": [_full_name(p) for p in entry.persons["author"]],
            "year": int(entry.fields["year"]),
        }
        for entry in data.entries.values()
    }


def record_url(author, extension: str) -> str:
    return reverse("profiles:researcher_export", args=[author.pk, extension])


def work_url(work, extension: str) -> str:
    return reverse("works:work_export", args=[work.pk, extension])


def make_work(authors, **fields) -> Work:
    work = WorkFactory.create(**fields)
    for position, author in enumerate(authors):
        AuthorshipFactory.create(work=work, author=author, position=position)
    return work


# ---------------------------------------------------------------- the seed researcher


@pytest.mark.shared_data
@pytest.mark.parametrize("extension", FORMATS)
def test_seed_record_comes_back_as_papers_bib_has_it(client, shared_data, extension):
    hattie = seed_researcher_load().author
    expected = papers_bib(shared_data)
    arxiv_ids = {w.title: w.arxiv_id for w in seed.WORKS}

    response = client.get(record_url(hattie, extension))

    assert response.status_code == 200
    records = common_fields(extension, response.content)
    # Newest first, as the page lists them; 2020's tie broken by the newer id.
    assert [r["title"] for r in records] == [
        "Fortuitous Forgetting in Connectionist Networks",
        "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask",
        "LCA: Loss Change Allocation for Neural Network Training",
    ]
    for record in records:
        bib = expected[record["title"]]
        assert record["authors"] == bib["authors"]
        bib_year, record_year = SEED_YEARS_DIFFERING_FROM_BIB.get(
            record["title"], (bib["year"], bib["year"])
        )
        assert bib["year"] == bib_year and record["year"] == record_year
        assert record["arxiv"] == arxiv_ids[record["title"]]
        assert record["doi"] == ""


def test_seed_bibtex_is_arxivs_own_form_for_preprints(client):
    hattie = seed_researcher_load().author

    entries = parse_bibtex(client.get(record_url(hattie, "bib")).content.decode())

    fortuitous = entries[0]
    assert fortuitous["type"] == "misc"
    assert fortuitous["key"] == "zhou2022fortuitous"
    assert fortuitous["archiveprefix"] == "arXiv"
    assert fortuitous["eprint"] == "2202.00155"
    assert fortuitous["url"] == "https://arxiv.org/abs/2202.00155"
    assert fortuitous["abstract"].startswith("Forgetting is often seen as an unwanted")
    assert [e["key"] for e in entries] == [
        "zhou2022fortuitous",
        "zhou2020deconstructing",
        "lan2020lca",
    ]


def test_seed_ris_and_csl_name_the_preprint_server(client):
    hattie = seed_researcher_load().author

    ris = parse_ris(client.get(record_url(hattie, "ris")).content.decode())
    csl = parse_csl(client.get(record_url(hattie, "json")).content.decode())

    assert ris[0]["TY"] == ["UNPB"]
    assert ris[0]["T2"] == ["arXiv"]
    assert ris[0]["AU"][0] == "Zhou, Hattie"
    assert ris[0]["UR"] == ["https://arxiv.org/abs/2202.00155"]
    assert csl[0]["type"] == "article"
    assert csl[0]["publisher"] == "arXiv"
    assert csl[0]["author"][0] == {"family": "Zhou", "given": "Hattie"}
    assert csl[0]["issued"] == {"date-parts": [[2022]]}


# ---------------------------------------------------------------- what a record holds


def test_record_export_leaves_out_a_work_its_owner_marked_not_mine(client):
    author = AuthorFactory.create(display_name="Ada Lovelace")
    make_work([author], title="Notes on the Analytical Engine", publication_year=1843)
    disputed = make_work([author], title="Someone else's paper", publication_year=1850)
    Authorship.objects.filter(work=disputed).update(status=Authorship.Status.DISPUTED)

    for extension in FORMATS:
        response = client.get(record_url(author, extension))
        titles = [r["title"] for r in common_fields(extension, response.content)]
        assert titles == ["Notes on the Analytical Engine"], extension
        assert b"Someone else" not in response.content


def test_record_export_holds_what_the_filtered_list_shows_in_its_order(client):
    author = AuthorFactory.create(display_name="Ada Lovelace")
    make_work([author], title="Engines", type="article", publication_year=2019, cited_by_count=5)
    make_work([author], title="Looms", type="preprint", publication_year=2021, cited_by_count=50)
    make_work([author], title="Tables", type="article", publication_year=2022, cited_by_count=20)

    page = client.get(
        reverse("profiles:researcher_detail", args=[author.pk]),
        {"type": "article", "sort": "cited"},
    ).content.decode()
    found = re.search(r'href="(/researchers/[^"]+/export\.csv[^"]*)"', page)
    assert found is not None
    export_link = found.group(1).replace("&amp;", "&")
    assert "type=article" in export_link and "sort=cited" in export_link
    for extension in FORMATS:
        response = client.get(record_url(author, extension), {"type": "article", "sort": "cited"})
        titles = [r["title"] for r in common_fields(extension, response.content)]
        assert titles == ["Tables", "Engines"], extension
    assert [r["title"] for r in common_fields("csv", client.get(export_link).content)] == [
        "Tables",
        "Engines",
    ]


def test_record_export_with_a_filter_it_cannot_read_says_why(client):
    author = AuthorFactory.create(display_name="Ada Lovelace")
    make_work([author], title="Engines", publication_year=2019)
    response = client.get(record_url(author, "bib"), {"year_from": "2023", "year_to": "2020"})
    assert response.status_code == 400
    assert "filter is not valid" in response.content.decode()
    assert "attachment" not in response.get("Content-Disposition", "")


def test_work_export_leaves_out_an_author_who_disputed_it(client):
    kept, gone = AuthorFactory.create(display_name="Kept Author"), AuthorFactory.create()
    work = make_work([kept, gone], title="Shared paper")
    Authorship.objects.filter(work=work, author=gone).update(status=Authorship.Status.DISPUTED)

    for extension in FORMATS:
        records = common_fields(extension, client.get(work_url(work, extension)).content)
        assert records[0]["authors"] == ["Kept Author"], extension


def test_journal_article_carries_venue_volume_issue_pages_and_doi(client):
    journal = SourceFactory.create(display_name="Journal of Things", type="journal")
    author = AuthorFactory.create(display_name="Grace Hopper")
    work = make_work(
        [author],
        title="Compilers",
        source=journal,
        doi="10.1000/xyz_1",
        biblio={"volume": "12", "issue": "3", "first_page": "101", "last_page": "120"},
        publication_date=datetime.date(1952, 5, 3),
        publication_year=1952,
    )

    bib = parse_bibtex(client.get(work_url(work, "bib")).content.decode())[0]
    ris = parse_ris(client.get(work_url(work, "ris")).content.decode())[0]
    csl = parse_csl(client.get(work_url(work, "json")).content.decode())[0]
    row = parse_csv(client.get(work_url(work, "csv")).content)[0]

    assert (bib["type"], bib["journal"], bib["volume"], bib["number"]) == (
        "article",
        "Journal of Things",
        "12",
        "3",
    )
    assert bib["pages"] == "101\u2013120"  # "--" in BibTeX, an en dash once typeset
    assert (bib["doi"], bib["url"]) == ("10.1000/xyz_1", "https://doi.org/10.1000/xyz_1")
    assert ris["TY"] == ["JOUR"]
    assert (ris["VL"], ris["IS"], ris["SP"], ris["EP"]) == (["12"], ["3"], ["101"], ["120"])
    assert ris["DO"] == ["10.1000/xyz_1"]
    assert ris["DA"] == ["1952/05/03"]
    assert csl["type"] == "article-journal"
    assert csl["container-title"] == "Journal of Things"
    assert (csl["volume"], csl["issue"], csl["page"]) == ("12", "3", "101-120")
    assert csl["issued"] == {"date-parts": [[1952, 5, 3]]}
    assert (row["venue"], row["pages"], row["type"]) == ("Journal of Things", "101-120", "article")


@pytest.mark.parametrize(
    ("work_type", "source_type", "bibtex_type", "ris_type", "csl_type"),
    [
        ("article", "conference", "inproceedings", "CPAPER", "paper-conference"),
        ("book-chapter", "book series", "incollection", "CHAP", "chapter"),
        ("book", "book series", "book", "BOOK", "book"),
        ("dissertation", "repository", "phdthesis", "THES", "thesis"),
        ("dataset", "repository", "misc", "DATA", "dataset"),
        ("paratext", "journal", "misc", "GEN", "document"),
    ],
)
def test_each_type_maps_to_its_kind_in_every_format(
    client, work_type, source_type, bibtex_type, ris_type, csl_type
):
    source = SourceFactory.create(display_name="Venue", type=source_type)
    work = make_work([AuthorFactory.create()], type=work_type, source=source)

    assert parse_bibtex(client.get(work_url(work, "bib")).content.decode())[0]["type"] == (
        bibtex_type
    )
    assert parse_ris(client.get(work_url(work, "ris")).content.decode())[0]["TY"] == [ris_type]
    assert parse_csl(client.get(work_url(work, "json")).content.decode())[0]["type"] == csl_type


# ---------------------------------------------------------------- hostile content

HOSTILE_TITLE = (
    "Über {unbalanced} braces} and {one more, 50% & $x_1^2$ in \\LaTeX \\end{document} "
    '#hash ~tilde "quoted", comma;\nnext line @home'
)
HOSTILE_AUTHORS = ["Jörg Müller-Łukasiewicz", "Smith and Wesson", "王小明", "Ludwig van Beethoven"]


@pytest.fixture
def hostile_work():
    source = SourceFactory.create(display_name="Proc. {of} & 100% Things", type="journal")
    authors = [AuthorFactory.create(display_name=name) for name in HOSTILE_AUTHORS]
    return make_work(
        authors,
        title=HOSTILE_TITLE,
        source=source,
        abstract="First paragraph.\n\nSecond } paragraph, with \\section{x}.",
        doi="10.1000/a_b%c",
    )


@pytest.mark.parametrize("extension", FORMATS)
def test_hostile_title_and_names_come_back_as_they_were(client, hostile_work, extension):
    response = client.get(work_url(hostile_work, extension))

    (record,) = common_fields(extension, response.content)
    # One line: a newline means nothing in a title and would break RIS and CSV rows.
    assert record["title"] == " ".join(HOSTILE_TITLE.split())
    assert record["authors"] == HOSTILE_AUTHORS
    assert record["doi"] == "10.1000/a_b%c"


def test_hostile_bibtex_keeps_every_field_and_venue(client, hostile_work):
    (entry,) = parse_bibtex(client.get(work_url(hostile_work, "bib")).content.decode())

    assert entry["journal"] == "Proc. {of} & 100% Things"
    assert entry["abstract"] == "First paragraph. Second } paragraph, with \\section{x}."
    assert entry["year"] == "2020"


def test_csv_cells_that_a_spreadsheet_would_run_are_made_text(client):
    author = AuthorFactory.create(display_name="@SUM(1+1)")
    make_work([author], title='=HYPERLINK("http://x","y")', type="-1+2")
    make_work([author], title="+cmd|' /C calc'!A0", abstract="\tTabbed")

    rows = parse_csv(client.get(record_url(author, "csv")).content)

    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t")]
    titles = {row["title"] for row in rows}
    assert titles == {'\'=HYPERLINK("http://x","y")', "'+cmd|' /C calc'!A0"}
    assert {row["authors"] for row in rows} == {"'@SUM(1+1)"}
    assert {row["type"] for row in rows} == {"'-1+2", "article"}


def test_csv_keeps_commas_quotes_and_newlines_inside_their_cells(client, hostile_work):
    (row,) = parse_csv(client.get(work_url(hostile_work, "csv")).content)

    assert row["title"] == " ".join(HOSTILE_TITLE.split())
    assert row["venue"] == "Proc. {of} & 100% Things"
    assert list(row) == list(exports.CSV_COLUMNS)


def test_formatted_reference_escapes_the_title_once(client):
    work = make_work([AuthorFactory.create()], title="<script>alert(1)</script> & Co")

    html = client.get(reverse("works:work_detail", args=[work.pk])).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "&amp;lt;" not in html


# ---------------------------------------------------------------- responses


def test_record_export_is_a_named_download_of_each_type(client):
    author = AuthorFactory.create(display_name="Hattie Zhou")
    make_work([author])

    for extension in FORMATS:
        response = client.get(record_url(author, extension))
        assert response.status_code == 200
        assert response["Content-Type"] == CONTENT_TYPES[extension]
        assert response["Content-Disposition"] == (
            f'attachment; filename="hattie-zhou-works.{extension}"'
        )


def test_record_export_with_the_htmx_header_is_the_same_file(client):
    author = AuthorFactory.create(display_name="Hattie Zhou")
    make_work([author], title="Only work")

    plain = client.get(record_url(author, "bib"))
    htmx = client.get(record_url(author, "bib"), **HX)

    assert htmx.status_code == 200
    assert htmx.content == plain.content
    assert htmx["Content-Disposition"] == plain["Content-Disposition"]


def test_work_export_with_the_htmx_header_is_the_same_file(client):
    work = make_work([AuthorFactory.create(display_name="Hattie Zhou")], title="Only work")

    plain = client.get(work_url(work, "ris"))
    htmx = client.get(work_url(work, "ris"), **HX)

    assert htmx.status_code == 200
    assert htmx["Content-Type"] == CONTENT_TYPES["ris"]
    assert htmx.content == plain.content


def test_non_ascii_name_gets_an_ascii_filename_and_the_full_one_by_rfc_5987(client):
    accented = AuthorFactory.create(display_name="Žofie Müller")
    chinese = AuthorFactory.create(display_name="王小明")

    accented_header = client.get(record_url(accented, "csv"))["Content-Disposition"]
    chinese_header = client.get(record_url(chinese, "ris"))["Content-Disposition"]

    assert accented_header.startswith('attachment; filename="zofie-muller-works.csv"; ')
    assert unquote(accented_header.split("filename*=UTF-8''")[1]) == "žofie-müller-works.csv"
    assert chinese_header.startswith(f'attachment; filename="researcher-{chinese.pk}-works.ris"')
    assert unquote(chinese_header.split("filename*=UTF-8''")[1]) == "王小明-works.ris"
    accented_header.encode("ascii")
    chinese_header.encode("ascii")


def test_work_export_is_named_after_first_author_year_and_title(client):
    author = AuthorFactory.create(display_name="Hattie Zhou")
    work = make_work(
        [author],
        title="Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask",
        publication_year=2020,
    )

    response = client.get(work_url(work, "bib"))

    assert response["Content-Type"] == CONTENT_TYPES["bib"]
    assert response["Content-Disposition"] == (
        'attachment; filename="zhou-2020-deconstructing-lottery-tickets-zeros-signs-and.bib"'
    )


def test_unknown_format_is_a_404_page_naming_the_formats_there_are(client):
    author = AuthorFactory.create(display_name="Ada Lovelace")
    work = make_work([author])

    for url in (
        reverse("profiles:researcher_export", args=[author.pk, "docx"]),
        reverse("works:work_export", args=[work.pk, "docx"]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        html = response.content.decode()
        assert "There is no “.docx” export" in html
        for extension in FORMATS:
            assert f"/export.{extension}" in html


def test_unknown_format_with_the_htmx_header_is_the_same_404(client):
    author = AuthorFactory.create()

    response = client.get(reverse("profiles:researcher_export", args=[author.pk, "pdf"]), **HX)

    assert response.status_code == 404
    assert "There is no “.pdf” export" in response.content.decode()


def test_export_of_a_missing_record_or_work_is_404(client):
    assert client.get(reverse("profiles:researcher_export", args=[999999, "bib"])).status_code == (
        404
    )
    assert client.get(reverse("works:work_export", args=[999999, "bib"])).status_code == 404


def test_export_of_a_merged_record_redirects_with_its_filter(client):
    kept = AuthorFactory.create()
    merged = AuthorFactory.create(merged_into=kept)

    response = client.get(record_url(merged, "ris") + "?sort=cited&type=article")

    assert response.status_code == 301
    assert response["Location"] == record_url(kept, "ris") + "?sort=cited&type=article"


def test_record_export_reads_its_authors_in_one_query_however_many_works(
    client, django_assert_num_queries
):
    author = AuthorFactory.create(display_name="Prolific Person")
    coauthors = AuthorFactory.create_batch(3)
    works = Work.objects.bulk_create(
        Work(title=f"Work {i}", type="article", publication_year=2000 + i % 25) for i in range(5000)
    )
    Authorship.objects.bulk_create(
        Authorship(work=work, author=person, position=position)
        for work in works
        for position, person in enumerate([author, *coauthors])
    )

    with django_assert_num_queries(RECORD_EXPORT_QUERIES):
        response = client.get(record_url(author, "csv"))

    rows = parse_csv(response.content)
    assert len(rows) == 5000
    assert rows[0]["authors"].split("; ")[0] == "Prolific Person"
    assert len(rows[0]["authors"].split("; ")) == 4


# ---------------------------------------------------------------- the Cite control

WORK_PAGE_QUERIES = 2  # the work with its source, its authors


def test_work_page_has_the_cite_control_with_bibtex_apa_and_downloads(
    client, django_assert_num_queries
):
    hattie = seed_researcher_load().author
    work = Work.objects.get(arxiv_id="1905.01067")

    with django_assert_num_queries(WORK_PAGE_QUERIES):
        response = client.get(reverse("works:work_detail", args=[work.pk]))

    html = response.content.decode()
    assert '<details class="cite"' in html
    assert "@misc{zhou2020deconstructing," in html
    assert "Zhou, H., Lan, J., Liu, R., &amp; Yosinski, J. (2020)." in html
    assert "<i>Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask</i>" in html
    for extension in FORMATS:
        assert work_url(work, extension) in html
    assert hattie.display_name in html


def test_cite_page_works_without_javascript(client):
    seed_researcher_load()
    work = Work.objects.get(arxiv_id="2202.00155")

    response = client.get(reverse("works:work_cite", args=[work.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Cite “Fortuitous Forgetting in Connectionist Networks”" in html
    assert "@misc{zhou2022fortuitous," in html
    assert "Zhou, H., Vani, A., Larochelle, H., &amp; Courville, A. (2022)." in html


def test_cite_panel_for_htmx_is_the_fragment_alone(client):
    seed_researcher_load()
    work = Work.objects.get(arxiv_id="2202.00155")

    response = client.get(reverse("works:work_cite", args=[work.pk]), **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<h1" not in html
    assert "@misc{zhou2022fortuitous," in html
    assert 'data-copy-target="cite-bib-' in html


def test_cite_include_in_a_list_reads_nothing_and_loads_its_panel_on_open(
    django_assert_num_queries,
):
    from django.template.loader import render_to_string

    works = [make_work([AuthorFactory.create()], title=f"Listed {i}") for i in range(20)]
    listed = list(Work.objects.filter(pk__in=[w.pk for w in works]).only("id", "title"))

    with django_assert_num_queries(0):
        html = "".join(render_to_string("works/_cite.html", {"work": work}) for work in listed)

    assert html.count('hx-trigger="toggle once"') == 20
    assert html.count("Show the BibTeX and a formatted reference") == 20
    assert reverse("works:work_cite", args=[works[0].pk]) in html


def test_characters_written_without_encoding_are_left_alone_by_the_encoder():
    plain = [
        c
        for c in map(chr, range(32, 127))
        if re.fullmatch(f"[{exports.PLAIN_LATEX_CHARACTERS}]", c)
    ]

    assert len(plain) == 26 * 2 + 10 + 18  # letters, digits, " .,;:!?()'/+=*@[]-"
    for character in plain:
        assert exports._latex_encoder().unicode_to_latex(character) == character


def test_cite_bibtex_leaves_the_abstract_to_the_downloads(client):
    work = make_work([AuthorFactory.create()], abstract="A long abstract.")

    page = client.get(reverse("works:work_detail", args=[work.pk])).content.decode()
    download = client.get(work_url(work, "bib")).content.decode()

    assert "abstract = {A long abstract.}" in download
    assert "abstract =" not in page
