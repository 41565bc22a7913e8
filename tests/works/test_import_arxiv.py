"""import_arxiv against real PostgreSQL, with the real arXiv API feed of ../shared/data/arxiv/.

The feed holds ten entries: new and old id schemes, DOIs, journal references,
affiliations, MSC and ACM classes among the categories, and two comments on one
lecture with the same title, year and venue. Variants (a newer version, a
broken file, arXiv's error answer) are made from it by editing its text here;
the OpenAlex side of "no duplicates" is a hand-written OpenAlex record that
copies one entry's real DOI and title.
"""

import re
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.management import CommandError, call_command

from works import arxiv_api
from works.arxiv_api import ArxivClient
from works.importers import import_entities
from works.importers.arxiv import import_arxiv_paths
from works.management.commands.import_arxiv import Command
from works.models import (
    ORCID_PUT_CODE,
    Author,
    AuthorAffiliation,
    Authorship,
    Source,
    Work,
)
from works.signals import authors_changed

pytestmark = pytest.mark.django_db

GARIK_DOI = "10.1007/s11191-014-9716-8"
NEYMAN_COMMENT = "Comment: The 2005 Neyman Lecture: Dynamic Indeterminism in Science"
ERROR_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>ArXiv Query: search_query=&amp;id_list=1234.12345&amp;start=0&amp;max_results=10</title>
  <id>http://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""


@pytest.fixture
def feed_path(shared_data: Path) -> Path:
    return shared_data / "arxiv" / "api-query-all-science.atom.xml"


@pytest.fixture
def feed(feed_path: Path) -> str:
    return feed_path.read_text()


def write(tmp_path: Path, text: str | bytes, name: str = "feed.xml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


def entries_of(feed: str) -> list[str]:
    return re.findall(r"  <entry>.*?</entry>\n", feed, flags=re.S)


def with_entries(feed: str, entries: list[str]) -> str:
    head = feed[: feed.index("  <entry>")]
    return head + "".join(entries) + "</feed>\n"


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_arxiv", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def failing(*args: str, **options: Any) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_arxiv", *args, stdout=StringIO(), stderr=err, **options)
    return str(failure.value), err.getvalue()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row an import writes, with updated_at: a re-import must leave them all alone."""
    return {
        "works": sorted(
            Work.objects.values_list(
                "id", "doi", "arxiv_id", "title", "abstract", "other_ids", "pdf_url", "updated_at"
            )
        ),
        "authors": sorted(Author.objects.values_list("id", "display_name", "updated_at")),
        "authorships": sorted(
            Authorship.objects.values_list("id", "work_id", "author_id", "position", "origin")
        ),
        "affiliations": sorted(
            AuthorAffiliation.objects.values_list("id", "author_id", "institution_name", "years")
        ),
    }


def authors_of(work: Work) -> list[tuple[str, int, str]]:
    return list(
        work.authorships.order_by("position").values_list(
            "author__display_name", "position", "origin"
        )
    )


def test_the_shared_feed_brings_every_entry_with_its_fields(feed_path: Path) -> None:
    out, err = run(str(feed_path))

    assert out.splitlines() == [
        "created 10, updated 0, unchanged 0, skipped 0",
        "13 authors changed",
    ]
    assert err == ""
    works = {w.arxiv_id: w for w in Work.objects.all()}
    # Both id schemes, versions stripped.
    assert set(works) >= {"1501.05039", "quant-ph/0210005", "physics/0507092"}
    data_science = works["1501.05039"]
    assert data_science.title == "Defining Data Science"
    assert data_science.abstract.startswith(
        "Data science is gaining more and more and widespread attention, but no consensus"
    )
    assert str(data_science.publication_date) == "2015-01-21"
    assert (data_science.type, data_science.doi) == ("preprint", "")
    assert data_science.source is not None and data_science.source.display_name == "arXiv"
    assert data_science.pdf_url == "http://arxiv.org/pdf/1501.05039v1"
    assert (data_science.is_oa, data_science.oa_status) == (True, "green")
    assert data_science.other_ids == {"arxiv_version": "v1", "arxiv_categories": "cs.DB cs.CY"}
    assert authors_of(data_science) == [("Yangyong Zhu", 0, "arxiv"), ("Yun Xiong", 1, "arxiv")]
    # A title wrapped over three lines reads as one.
    garik = works["1503.01162"]
    assert garik.title == (
        "Report on a Boston University Conference December 7-8, 2012 on 'How Can the History "
        "and Philosophy of Science Contribute to Contemporary U.S. Science Teaching?'"
    )
    assert (garik.doi, garik.type, garik.source) == (GARIK_DOI, "article", None)
    # The work is the published version: the journal's year, not arXiv's date of 2015.
    assert (garik.publication_year, garik.publication_date) == (2014, None)
    assert garik.other_ids["arxiv_journal_ref"] == (
        "Science & Education, September 2014, 23(9): 1853-1873"
    )
    assert garik.other_ids["arxiv_categories"] == "physics.ed-ph physics.hist-ph physics.soc-ph"
    assert authors_of(garik)[1] == ("Yann Benétreau-Dupin", 1, "arxiv")
    # MSC and ACM classes that the author put among the categories are told apart.
    assert works["1802.03292"].other_ids == {
        "arxiv_version": "v1",
        "arxiv_categories": "cs.LO",
        "msc_class": "03B70, 68Q99",
        "acm_class": "F.4.1; F.4.m; K.2",
    }
    # Affiliations: a line each, in the year of the paper; no institution is made.
    giacomelli = Author.objects.filter(display_name__endswith="Giacomelli")
    assert sorted(
        AuthorAffiliation.objects.filter(author__in=giacomelli).values_list(
            "author__display_name", "institution_name", "years", "origin", "institution"
        )
    ) == [
        ("G. Giacomelli", "Bologna University and INFN", [2005], "arxiv", None),
        ("R. Giacomelli", "Bologna University and INFN", [2005], "arxiv", None),
    ]
    assert Source.objects.count() == 1


def test_two_comments_with_one_title_and_year_stay_two_works(feed_path: Path) -> None:
    run(str(feed_path))

    comments = Work.objects.filter(title=NEYMAN_COMMENT).order_by("arxiv_id")
    assert [(w.arxiv_id, w.doi) for w in comments] == [
        ("0808.0631", "10.1214/07-sts246b"),
        ("0808.0638", "10.1214/07-sts246a"),
    ]


def test_a_reimport_changes_nothing(feed_path: Path) -> None:
    run(str(feed_path))
    before = snapshot()

    out, _ = run(str(feed_path))

    assert snapshot() == before
    assert out.splitlines() == [
        "created 0, updated 0, unchanged 10, skipped 0",
        "0 authors changed",
    ]


def test_an_import_announces_changed_authors_once_committed(
    feed_path: Path, django_capture_on_commit_callbacks
) -> None:
    received: list[list[int]] = []

    def listener(sender: Any, author_ids: list[int], **kwargs: Any) -> None:
        received.append(author_ids)

    authors_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_arxiv_paths([feed_path])
        with django_capture_on_commit_callbacks(execute=True):
            import_arxiv_paths([feed_path])
    finally:
        authors_changed.disconnect(listener)

    assert received == [sorted(Author.objects.values_list("pk", flat=True))]


def test_a_newer_version_updates_arxivs_own_work_and_an_older_one_never_goes_back(
    tmp_path: Path, feed: str
) -> None:
    run(str(write(tmp_path, feed, "v1.xml")))
    v2 = feed.replace("1501.05039v1", "1501.05039v2").replace(
        "<title>Defining Data Science</title>", "<title>Defining  data science, revised</title>"
    )
    v2 = v2.replace(
        "<name>Yun Xiong</name>\n    </author>",
        "<name>Yun Xiong</name>\n    </author>\n    <author><name>Ann Other</name></author>",
    )

    out, _ = run(str(write(tmp_path, v2, "v2.xml")))
    assert out.startswith("created 0, updated 1, unchanged 9")
    work = Work.objects.get(arxiv_id="1501.05039")
    assert work.title == "Defining data science, revised"
    assert work.other_ids["arxiv_version"] == "v2"
    assert work.pdf_url == "http://arxiv.org/pdf/1501.05039v2"
    # arXiv's own author list gains the added author; the others are not repeated.
    assert authors_of(work) == [
        ("Yangyong Zhu", 0, "arxiv"),
        ("Yun Xiong", 1, "arxiv"),
        ("Ann Other", 2, "arxiv"),
    ]
    before = snapshot()

    out, _ = run(str(write(tmp_path, feed, "v1.xml")))
    assert snapshot() == before
    assert out.startswith("created 0, updated 0, unchanged 10")


def test_one_feed_listing_two_versions_keeps_the_latest(tmp_path: Path, feed: str) -> None:
    first = entries_of(feed)[0]
    newer = first.replace("1501.05039v1", "1501.05039v3")
    run(str(write(tmp_path, with_entries(feed, [first, newer]))))

    work = Work.objects.get()
    assert (work.arxiv_id, work.other_ids["arxiv_version"]) == ("1501.05039", "v3")
    assert Author.objects.count() == 2


# --- one work, two locations ------------------------------------------------


def openalex_garik() -> dict[str, Any]:
    """The published version as OpenAlex would list it (hand-written: the entry's real
    DOI in capitals, its title, the authors under OpenAlex ids, one name without accent)."""

    def authorship(openalex_id: str, name: str, position: str) -> dict[str, Any]:
        author = {"id": f"https://openalex.org/{openalex_id}", "display_name": name}
        return {
            "author_position": position,
            "author": author,
            "institutions": [],
            "raw_author_name": name,
        }

    return {
        "id": "https://openalex.org/W4000000011",
        "doi": "https://doi.org/10.1007/S11191-014-9716-8",
        "title": "Report on a Boston University Conference December 7\u20138, 2012 on "
        "\u2018How Can the History and Philosophy of Science Contribute to Contemporary US "
        "Science Teaching?\u2019",
        "publication_year": 2014,
        "type": "article",
        "cited_by_count": 3,
        "authorships": [
            authorship("A5000000011", "Peter Garik", "first"),
            authorship("A5000000012", "Yann Benetreau-Dupin", "last"),
        ],
    }


def test_an_entry_with_a_doi_joins_the_published_work_openalex_brought(feed_path: Path) -> None:
    import_entities([openalex_garik()])
    published = Work.objects.get(openalex_id="W4000000011")
    authors_before = authors_of(published)

    out, _ = run(str(feed_path))

    assert out.startswith("created 9, updated 1, unchanged 0")
    assert Work.objects.filter(doi=GARIK_DOI).get() == published
    published.refresh_from_db()
    # The work gains the arXiv id and the arXiv copy; OpenAlex's facts stay.
    assert published.arxiv_id == "1503.01162"
    assert published.pdf_url == "http://arxiv.org/pdf/1503.01162v1"
    assert published.other_ids["arxiv_journal_ref"].startswith("Science & Education")
    assert (published.publication_year, published.type) == (2014, "article")
    assert published.title.startswith("Report on a Boston University Conference December 7\u20138")
    assert published.abstract.startswith("This is an editorial report")
    # Matched by position and family name: no second Garik, no second Benétreau-Dupin.
    assert authors_of(published) == authors_before
    assert not Author.objects.filter(display_name__in=["Peter Garik"]).exclude(
        openalex_id="A5000000011"
    )

    before = snapshot()
    run(str(feed_path))
    import_entities([openalex_garik()])
    assert snapshot() == before


def test_openalex_after_arxiv_takes_over_arxivs_authors_on_the_work_not_a_second_list(
    feed_path: Path,
) -> None:
    """The other order: the arXiv-made authors become OpenAlex's (same work, position and
    family name), so the work lists each person once."""
    run(str(feed_path))
    work = Work.objects.get(doi=GARIK_DOI)
    garik = Author.objects.get(authorships__work=work, display_name="Peter Garik")

    import_entities([openalex_garik()])

    work.refresh_from_db()
    assert work.openalex_id == "W4000000011"
    assert [name for name, _, _ in authors_of(work)] == ["Peter Garik", "Yann Benetreau-Dupin"]
    garik.refresh_from_db()
    assert garik.openalex_id == "A5000000011", "the arXiv-made record is OpenAlex's now"
    assert set(work.authorships.values_list("author__openalex_id", flat=True)) == {
        "A5000000011",
        "A5000000012",
    }
    before = snapshot()
    import_entities([openalex_garik()])
    run(str(feed_path))
    assert snapshot() == before


def test_openalex_after_arxiv_moves_arxivs_authorship_to_the_openalex_record_it_has(
    feed_path: Path,
) -> None:
    """OpenAlex's author is stored already (from another work): the arXiv-made author's
    authorship on this work goes to it, and the work lists Garik once."""
    stored = Author.objects.create(display_name="Peter Garik", openalex_id="A5000000011")
    run(str(feed_path))
    work = Work.objects.get(doi=GARIK_DOI)

    import_entities([openalex_garik()])

    assert [name for name, _, _ in authors_of(work)] == ["Peter Garik", "Yann Benetreau-Dupin"]
    assert work.authorships.get(position=0).author == stored
    assert authors_of(work)[0] == ("Peter Garik", 0, "arxiv")


def test_an_entry_with_only_a_journal_reference_joins_the_published_work_by_title_and_its_year(
    tmp_path: Path, feed: str
) -> None:
    record = openalex_garik()
    record["doi"] = None
    record["title"] = (
        "Report on a Boston University Conference December 7-8, 2012 on 'How Can the History "
        "and Philosophy of Science Contribute to Contemporary U.S. Science Teaching?'"
    )
    import_entities([record])
    no_doi = re.sub(r"\s*<arxiv:doi[^>]*>10.1007/s11191-014-9716-8</arxiv:doi>", "", feed)

    run(str(write(tmp_path, no_doi)))

    # Received by arXiv in 2015, published in 2014: one work.
    published = Work.objects.get(openalex_id="W4000000011")
    assert Work.objects.filter(title__startswith="Report on a Boston").get() == published
    assert published.arxiv_id == "1503.01162"


def test_two_entries_naming_one_doi_are_one_work_and_the_second_is_reported(
    tmp_path: Path, feed: str
) -> None:
    first, second = entries_of(feed)[3:5]
    second = second.replace("10.1214/07-STS246A", "10.1214/07-STS246B")
    path = write(tmp_path, with_entries(feed, [first, second]))

    out, err = run(str(path))

    assert Work.objects.get().arxiv_id == "0808.0631"
    assert err.strip() == (
        f"{path}:line 32 entry 0808.0638v1: the same work as line 10 entry 0808.0631v1 "
        "(DOI 10.1214/07-sts246b): imported once, under that entry's arXiv id"
    )
    assert out.startswith("created 1, updated 0, unchanged 1")


def test_the_work_page_links_the_arxiv_copy_and_its_pdf(client, feed_path: Path) -> None:
    run(str(feed_path))
    work = Work.objects.get(arxiv_id="quant-ph/0210005")

    page = client.get(f"/works/{work.pk}/").content.decode()

    assert 'href="https://arxiv.org/abs/quant-ph/0210005"' in page
    assert 'href="http://arxiv.org/pdf/quant-ph/0210005v1"' in page
    assert "Michael A. Nielsen" in page


def test_an_entry_joins_a_work_orcid_made_by_its_arxiv_id_without_a_second_author(
    feed_path: Path,
) -> None:
    nielsen = Author.objects.create(display_name="M. A. Nielsen", orcid="0000-0002-1825-0097")
    work = Work.objects.create(
        title="Quantum information science and complex quantum systems (QCMC 2002)",
        arxiv_id="quant-ph/0210005",
        publication_year=2002,
        other_ids={ORCID_PUT_CODE: "555"},
    )
    Authorship.objects.create(work=work, author=nielsen, position=0, origin="orcid")

    run(str(feed_path))

    work.refresh_from_db()
    assert Work.objects.filter(arxiv_id="quant-ph/0210005").get() == work
    assert work.title == "Quantum information science and complex quantum systems (QCMC 2002)"
    assert work.pdf_url == "http://arxiv.org/pdf/quant-ph/0210005v1"
    assert work.other_ids == {
        ORCID_PUT_CODE: "555",
        "arxiv_version": "v1",
        "arxiv_categories": "quant-ph",
    }
    assert authors_of(work) == [("M. A. Nielsen", 0, "orcid")]
    assert not Author.objects.filter(display_name="Michael A. Nielsen").exists()


def test_a_work_another_source_listed_gains_no_unmatched_arxiv_author(feed_path: Path) -> None:
    """An arXiv name that matches nobody on such a work is a spelling, not a missing author."""
    someone = Author.objects.create(display_name="Zhu Yang-Yong")
    work = Work.objects.create(title="Defining data science", publication_year=2015)
    Authorship.objects.create(work=work, author=someone, position=0, origin="openalex")

    run(str(feed_path))

    work.refresh_from_db()
    assert work.arxiv_id == "1501.05039"  # matched by title and year
    assert authors_of(work) == [("Zhu Yang-Yong", 0, "openalex")]


def test_new_work_authors_are_never_put_on_an_existing_record_by_name(feed_path: Path) -> None:
    existing = Author.objects.create(display_name="Assaf Kfoury", openalex_id="A5000000099")

    run(str(feed_path))

    work = Work.objects.get(arxiv_id="1802.03292")
    (authorship,) = work.authorships.all()
    assert authorship.author != existing
    assert (authorship.author.display_name, authorship.author.openalex_id) == ("Assaf Kfoury", "")
    assert not existing.authorships.exists()


# --- bad input ---------------------------------------------------------------


def test_an_entry_without_a_title_is_named_by_line_and_skipped(tmp_path: Path, feed: str) -> None:
    broken = feed.replace(
        "<title>Quantum information science and complex quantum systems</title>", "<title/>"
    )
    path = write(tmp_path, broken)

    out, err = run(str(path))

    assert err.strip() == (
        f"{path}:line 80 entry quant-ph/0210005v1: an entry without a title: not imported"
    )
    assert out.startswith("created 9, updated 0, unchanged 0, skipped 1")
    assert not Work.objects.filter(arxiv_id="quant-ph/0210005").exists()


def test_strict_stops_at_the_first_problem_and_writes_nothing(tmp_path: Path, feed: str) -> None:
    path = write(tmp_path, feed.replace("<title>Defining Data Science</title>", "<title> </title>"))

    message, _ = failing(str(path), strict=True)

    assert message == (
        f"{path}:line 10 entry 1501.05039v1: an entry without a title: not imported\n"
        "Strict import stopped: nothing was written."
    )
    assert not Work.objects.exists() and not Author.objects.exists()


def test_strict_writes_no_file_when_a_later_one_is_bad(tmp_path: Path, feed_path: Path) -> None:
    bad = write(tmp_path, b"<html><body>Service Unavailable</body></html>", "bad.xml")

    message, _ = failing(str(feed_path), str(bad), strict=True)

    assert message.startswith(f"{bad}:file: not an arXiv feed: the document is <html>")
    assert not Work.objects.exists()


def test_a_truncated_file_is_refused_by_name(tmp_path: Path, feed_path: Path) -> None:
    path = write(tmp_path, feed_path.read_bytes()[:5000], "truncated.xml")

    message, _ = failing(str(path))

    assert message.startswith(
        f"Could not import: {path}: truncated XML: the file ends before its feed is complete"
    )
    assert not Work.objects.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file: not an arXiv feed"),
        (
            b'{"message-type": "work"}',
            "not XML: not well-formed (invalid token) at line 1 column 1",
        ),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
            "not an arXiv feed: the document is <rss>, not an Atom <feed>",
        ),
        (ERROR_FEED, "arXiv answered with an error: incorrect id format for 1234.12345"),
        (
            # "Billion laughs": refused before any entity is expanded.
            b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>',
            "not an arXiv feed: it has a DOCTYPE (refused, as arXiv's feeds have none)",
        ),
        (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">&xxe;</feed>',
            "not XML: undefined entity at line 1 column 64",
        ),
    ],
)
def test_a_file_that_is_not_an_arxiv_feed_gets_a_clear_error(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = write(tmp_path, content, "other.xml")

    message, err = failing(str(path))

    assert message.startswith(f"Could not import: {path}: {reason}")
    assert f"{path}:file: {reason}" in err
    assert not Work.objects.exists()


def test_a_bad_file_does_not_stop_the_good_one(tmp_path: Path, feed_path: Path) -> None:
    bad = write(tmp_path, ERROR_FEED, "error.xml")

    message, _ = failing(str(bad), str(feed_path))

    assert message.startswith(f"Could not import: {bad}: arXiv answered with an error")
    assert Work.objects.count() == 10


# --- the API -------------------------------------------------------------------


def api_command(handler: Any, slept: list[float] | None = None) -> Command:
    command = Command(stdout=StringIO(), stderr=StringIO())
    command.arxiv_client = ArxivClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=(slept if slept is not None else []).append,
        clock=lambda: 0.0,  # every request "at once": each must wait the full interval
    )
    return command


def serving(feed: str, seen: list[httpx.Request]) -> Any:
    """A handler answering each id_list with the shared feed's entries for those ids."""
    by_id = {re.search(r"abs/(\S+?)v\d+</id>", e)[1]: e for e in entries_of(feed)}  # type: ignore[index]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        ids = parse_qs(urlsplit(str(request.url)).query)["id_list"][0].split(",")
        return httpx.Response(200, text=with_entries(feed, [by_id[i] for i in ids if i in by_id]))

    return handler


def test_ids_are_fetched_in_batches_spaced_three_seconds_apart(
    feed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arxiv_api, "BATCH_SIZE", 4)
    seen: list[httpx.Request] = []
    slept: list[float] = []
    ids = [re.search(r"abs/(\S+?)</id>", e)[1] for e in entries_of(feed)]  # type: ignore[index]
    command = api_command(serving(feed, seen), slept)

    call_command(command, ids=ids)

    assert [parse_qs(urlsplit(str(r.url)).query)["id_list"][0] for r in seen] == [
        "1501.05039,1503.01162,quant-ph/0210005,0808.0631",
        "0808.0638,0808.0639,0705.1367,1802.03292",
        "physics/0507092,1312.7288",
    ]
    assert str(seen[0].url).startswith("http://export.arxiv.org/api/query?id_list=")
    assert slept == [3.0, 3.0]
    assert Work.objects.count() == 10


def test_a_busy_api_is_retried_and_an_id_arxiv_does_not_know_is_reported(feed: str) -> None:
    seen: list[httpx.Request] = []
    slept: list[float] = []
    serve = serving(feed, seen)

    def handler(request: httpx.Request) -> httpx.Response:
        if not seen:
            seen.append(request)
            return httpx.Response(503, text="busy", headers={"Retry-After": "10"})
        return serve(request)

    command = api_command(handler, slept)
    call_command(command, ids=["arXiv:1501.05039v2", "https://arxiv.org/abs/0901.00001"])

    assert len(seen) == 2 and slept == [10.0]
    assert Work.objects.get().arxiv_id == "1501.05039"
    assert "0901.00001: arXiv sent no entry for it" in command.stderr.getvalue()


def test_an_error_answer_from_the_api_is_reported_and_nothing_written() -> None:
    command = api_command(lambda request: httpx.Response(200, content=ERROR_FEED))

    with pytest.raises(CommandError, match="arXiv answered with an error: incorrect id format"):
        call_command(command, ids=["1234.12345"])
    assert not Work.objects.exists()


def test_a_malformed_id_is_refused_before_any_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    command = api_command(handler)

    with pytest.raises(CommandError, match=re.escape("Not arXiv ids: '1501.050', 'hello'")):
        call_command(command, ids=["1501.050", "hello", "1501.05039"])
    assert seen == []


@pytest.mark.parametrize("cut", [5000, 14_000, 15_370])
def test_a_feed_cut_anywhere_is_called_truncated(tmp_path: Path, feed_path: Path, cut: int) -> None:
    path = write(tmp_path, feed_path.read_bytes()[:cut], "cut.xml")

    message, _ = failing(str(path))

    assert "truncated XML: the file ends before its feed is complete" in message


def test_an_api_that_stays_busy_is_given_up_after_five_spaced_attempts() -> None:
    slept: list[float] = []
    command = api_command(lambda request: httpx.Response(503, text="busy"), slept)

    with pytest.raises(CommandError, match="The arXiv API answered 503 after 5 attempts"):
        call_command(command, ids=["1501.05039"])
    assert slept == [3.0, 6.0, 12.0, 24.0]
    assert not Work.objects.exists()
