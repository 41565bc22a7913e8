"""import_crossref against real PostgreSQL, with the real Crossref responses of
../shared/data/crossref/ (four `work` responses, four `work-list` pages, two
error bodies).

What the shared files lack is written here on top of copies of them, and
named where it is: an author without a name, a malformed ORCID iD, a page
cursor (the recorded lists were not paged), the stored authors a rule is
tested against, and the OpenAlex side of "no duplicates" (a hand-written
OpenAlex work carrying a real DOI and real author names).
"""

import copy
import json
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command

from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from works import selectors
from works.crossref_api import CrossrefClient
from works.importers import import_entities
from works.importers.crossref import import_crossref_paths
from works.management.commands.import_crossref import Command
from works.models import Author, AuthorMetrics, Authorship, Work
from works.signals import authors_changed

pytestmark = pytest.mark.django_db

JCLINPATH = "10.1136/jclinpath-2020-206745"
ESMO = "10.1136/esmoopen-2020-000776"
IWASA_ORCID = "0000-0003-3863-9582"
UNTITLED = "10.1002/humu.2018.39.issue-6"


@pytest.fixture
def crossref_dir(shared_data: Path) -> Path:
    return shared_data / "crossref"


def response(crossref_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((crossref_dir / name).read_text())
    return data


def jclinpath_path(crossref_dir: Path) -> Path:
    return crossref_dir / "work-10.1136_jclinpath_2020_206745.json"


def esmo_path(crossref_dir: Path) -> Path:
    return crossref_dir / "work-10.1136_esmoopen_2020_000776.json"


def members_path(crossref_dir: Path) -> Path:
    return crossref_dir / "list-test_members_mixed_ids_works_warn.json"


def all_responses(crossref_dir: Path) -> list[str]:
    return [str(p) for p in sorted(crossref_dir.glob("work-*.json"))] + [
        str(p) for p in sorted(crossref_dir.glob("list-*.json"))
    ]


def write(tmp_path: Path, data: Any, name: str = "response.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_crossref", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def failing(*args: str, **options: Any) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_crossref", *args, stdout=StringIO(), stderr=err, **options)
    return str(failure.value), err.getvalue()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row an import writes, with updated_at: a re-import must leave them all alone."""
    return {
        "works": sorted(
            Work.objects.values_list(
                "id",
                "doi",
                "title",
                "abstract",
                "cited_by_count",
                "referenced_works",
                "publication_date",
                "updated_at",
            )
        ),
        "authors": sorted(Author.objects.values_list("id", "display_name", "orcid", "updated_at")),
        "authorships": sorted(
            Authorship.objects.values_list(
                "id", "work_id", "author_id", "position", "origin", "raw_affiliations"
            )
        ),
    }


def names_on(doi: str) -> list[tuple[str, int, str, str]]:
    return list(
        Authorship.objects.filter(work__doi=doi)
        .order_by("position")
        .values_list("author__display_name", "position", "author__orcid", "origin")
    )


# --- what is imported ----------------------------------------------------------


def test_a_work_response_brings_the_work_with_plain_text_title_and_abstract(
    crossref_dir: Path,
) -> None:
    out, err = run(str(jclinpath_path(crossref_dir)))

    assert out.startswith("created 1, updated 0, unchanged 0, skipped 0")
    assert err == ""
    work = Work.objects.get()
    assert work.doi == JCLINPATH
    # Crossref's title list, its <i> tags and line breaks gone.
    assert work.title == (
        "Construction of a reference material panel for detecting KRAS / NRAS / EGFR / BRAF / "
        "MET mutations in plasma ctDNA"
    )
    assert (work.type, work.source.display_name) == ("article", "Journal of Clinical Pathology")
    assert (work.publication_year, str(work.publication_date)) == (2020, "2020-08-17")
    # JATS: no tags left, each section title and paragraph its own paragraph.
    paragraphs = work.abstract.split("\n\n")
    assert paragraphs[:2] == [
        "Background",
        "The absence of high-quality next-generation sequencing (NGS) reference material (RM) "
        "has impeded the clinical use of liquid biopsies with plasma cell-free DNA (cfDNA) in "
        "China.",
    ]
    assert paragraphs[2] == "Objective"
    assert "<" not in work.abstract and "jats" not in work.abstract
    assert work.cited_by_count == 10
    assert work.referenced_works_count == 36
    assert work.referenced_works[:2] == ["10.3322/caac.21338", "10.1016/j.cllc.2015.07.002"]
    assert work.license_url == "http://creativecommons.org/licenses/by-nc/4.0/"
    assert work.biblio == {"volume": "74", "issue": "5", "first_page": "314", "last_page": "320"}
    # The first author, their affiliations as the publisher wrote them.
    first = work.authorships.order_by("position").select_related("author").first()
    assert first is not None
    assert (first.author.display_name, first.origin) == ("Jun Xu", "crossref")
    assert first.raw_affiliations == [
        "Department of Neurosurgery, China-Japan Friendship Hospital, Beijing, China"
    ]
    assert work.authorships.count() == 15


def test_a_year_only_or_month_only_date_stays_year_only(crossref_dir: Path) -> None:
    run(str(esmo_path(crossref_dir)), str(members_path(crossref_dir)))

    year_only = Work.objects.get(doi=ESMO)  # issued [[2020]]
    assert (year_only.publication_year, year_only.publication_date) == (2020, None)
    month_only = Work.objects.get(doi="10.1111/j.1600-0404.1997.tb00218.x")  # [[1997, 5]]
    assert (month_only.publication_year, month_only.publication_date) == (1997, None)
    dated = Work.objects.get(doi="10.4061/2010/505436")  # [[2010, 12, 5]]
    assert str(dated.publication_date) == "2010-12-05"


def test_authors_with_orcid_keep_the_bare_id_and_their_order(crossref_dir: Path) -> None:
    run(str(esmo_path(crossref_dir)))

    names = names_on(ESMO)
    assert len(names) == 13
    assert names[0] == ("Satoru Iwasa", 0, IWASA_ORCID, "crossref")
    assert names[12][1:3] == (12, "0000-0003-0692-8419")
    assert [n[1] for n in names] == list(range(13))


def test_a_pdf_link_is_kept(crossref_dir: Path) -> None:
    run(str(members_path(crossref_dir)))

    assert (
        Work.objects.get(doi="10.4061/2010/505436").pdf_url
        == "http://downloads.hindawi.com/archive/2010/505436.pdf"
    )


def test_references_link_works_by_doi_both_ways(crossref_dir: Path) -> None:
    cited = Work.objects.create(doi="10.3322/caac.21338", title="Cancer statistics, 2016")
    run(str(jclinpath_path(crossref_dir)))
    citing = Work.objects.get(doi=JCLINPATH)

    assert list(selectors.work_references(work=citing).works) == [cited]
    assert list(selectors.work_cited_by(work=cited).works) == [citing]


def test_every_shared_response_imports_and_a_reimport_changes_nothing(
    crossref_dir: Path,
) -> None:
    out, err = run(*all_responses(crossref_dir))

    # Two lists share four works, and both hold the title-less journal issue.
    assert out.startswith("created 45, updated 0, unchanged 4, skipped 2")
    assert err.count("a work without a title") == 2
    before = snapshot()

    out, _ = run(*all_responses(crossref_dir))

    assert out.startswith("created 0, updated 0, unchanged 49, skipped 2")
    assert "\n0 authors changed" in out
    assert snapshot() == before


def test_an_import_recounts_metrics_and_retires_pages_once_committed(
    crossref_dir: Path, django_capture_on_commit_callbacks
) -> None:
    received: list[list[int]] = []

    def listener(sender: Any, author_ids: list[int], **kwargs: Any) -> None:
        received.append(author_ids)

    authors_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_crossref_paths([esmo_path(crossref_dir)])
        with django_capture_on_commit_callbacks(execute=True):
            import_crossref_paths([esmo_path(crossref_dir)])  # unchanged: nobody to tell
    finally:
        authors_changed.disconnect(listener)

    iwasa = Author.objects.get(orcid=IWASA_ORCID)
    assert len(received) == 1 and len(received[0]) == 13 and iwasa.pk in received[0]
    assert AuthorMetrics.objects.get(author=iwasa).works == 1


# --- matching what other sources stored ------------------------------------------


def openalex_esmo(*, cited_by_count: int) -> list[dict[str, Any]]:
    """The ESMO Open paper as OpenAlex might hold it (hand-written: the real DOI in
    capitals, the real first and second authors without ORCID iDs)."""

    def authorship(openalex_id: str, name: str, position: str) -> dict[str, Any]:
        return {
            "author_position": position,
            "author": {"id": f"https://openalex.org/{openalex_id}", "display_name": name},
            "institutions": [],
            "raw_author_name": name,
        }

    return [
        {
            "id": "https://openalex.org/W4000000101",
            "doi": f"https://doi.org/{ESMO.upper()}",
            "title": "Phase II study of lenvatinib for metastatic colorectal cancer",
            "publication_year": 2020,
            "type": "article",
            "cited_by_count": cited_by_count,
            "authorships": [
                authorship("A5000000101", "Satoru Iwasa", "first"),
                authorship("A5000000102", "Natsuko Okita", "middle"),
            ],
        }
    ]


def test_on_top_of_openalex_the_work_and_its_authors_are_not_duplicated(
    crossref_dir: Path,
) -> None:
    import_entities(openalex_esmo(cited_by_count=30))
    iwasa = Author.objects.get(openalex_id="A5000000101")
    okita = Author.objects.get(openalex_id="A5000000102")

    out, _ = run(str(esmo_path(crossref_dir)))

    assert out.startswith("created 0, updated 1, unchanged 0, skipped 0")
    work = Work.objects.get()
    # OpenAlex's title and higher count stay; what it lacked is filled.
    assert work.title == "Phase II study of lenvatinib for metastatic colorectal cancer"
    assert work.cited_by_count == 30
    assert work.referenced_works_count == 28 and work.source is not None
    # The first two are OpenAlex's authors, matched by position and family name;
    # Iwasa's record gains Crossref's ORCID iD. The other eleven join.
    names = names_on(ESMO)
    assert names[:2] == [
        ("Satoru Iwasa", 0, IWASA_ORCID, "openalex"),
        ("Natsuko Okita", 1, "", "openalex"),
    ]
    assert len(names) == 13 and {n[3] for n in names[2:]} == {"crossref"}
    assert Author.objects.filter(display_name__in=["Satoru Iwasa", "Natsuko Okita"]).count() == 2
    iwasa.refresh_from_db()
    okita.refresh_from_db()
    assert (iwasa.orcid, okita.orcid) == (IWASA_ORCID, "")

    before = snapshot()
    out, _ = run(str(esmo_path(crossref_dir)))
    assert out.startswith("created 0, updated 0, unchanged 1, skipped 0")
    assert snapshot() == before
    # OpenAlex again leaves what Crossref filled (its references, venue, licence)
    # and changes nothing either.
    stats = import_entities(openalex_esmo(cited_by_count=30))
    assert (stats.created, stats.updated) == (0, 0)
    assert snapshot() == before


def test_a_lower_count_never_replaces_a_higher_one_and_a_higher_one_does(
    crossref_dir: Path,
) -> None:
    import_entities(openalex_esmo(cited_by_count=3))

    run(str(esmo_path(crossref_dir)))

    assert Work.objects.get().cited_by_count == 16  # Crossref's is-referenced-by-count


def test_an_openalex_reimport_keeps_crossrefs_higher_count_and_neither_flips_it(
    crossref_dir: Path, client: Any
) -> None:
    import_entities(openalex_esmo(cited_by_count=3))
    run(str(esmo_path(crossref_dir)))

    stats = import_entities(openalex_esmo(cited_by_count=3))

    assert Work.objects.get().cited_by_count == 16, "the larger of the two sources' counts"
    assert (stats.created, stats.updated) == (0, 0)
    page = client.get(f"/works/{Work.objects.get().pk}/").content.decode()
    assert "<strong>16</strong> citations" in page
    assert "the larger of the two is kept" in page
    before = snapshot()
    run(str(esmo_path(crossref_dir)))
    import_entities(openalex_esmo(cited_by_count=3))
    assert snapshot() == before
    # A count that grows past Crossref's is taken.
    import_entities(openalex_esmo(cited_by_count=40))
    assert Work.objects.get().cited_by_count == 40


def test_openalex_after_crossref_takes_over_the_work_by_doi(crossref_dir: Path) -> None:
    run(str(esmo_path(crossref_dir)))
    from_crossref = Work.objects.get()

    import_entities(openalex_esmo(cited_by_count=30))

    assert Work.objects.get() == from_crossref
    from_crossref.refresh_from_db()
    assert from_crossref.openalex_id == "W4000000101"


def test_an_author_found_by_orcid_is_the_stored_one(crossref_dir: Path) -> None:
    stored = AuthorFactory(display_name="S. Iwasa", orcid=IWASA_ORCID)

    run(str(esmo_path(crossref_dir)))

    assert Authorship.objects.get(work__doi=ESMO, position=0).author == stored
    assert Author.objects.filter(orcid=IWASA_ORCID).count() == 1
    stored.refresh_from_db()
    assert stored.display_name == "S. Iwasa"  # Crossref names only the authors it creates


def test_an_author_without_orcid_is_reused_only_with_a_shared_coauthor(
    crossref_dir: Path,
) -> None:
    # Natsuko Okita already wrote with Satoru Iwasa (found on the new work by
    # ORCID): the same person. The stored Aya Kuchiba shares no one with it:
    # a name alone is not enough, so Crossref's Aya Kuchiba is a new record.
    iwasa = AuthorFactory(display_name="Satoru Iwasa", orcid=IWASA_ORCID)
    okita = AuthorFactory(display_name="Natsuko Okita")
    kuchiba = AuthorFactory(display_name="Aya Kuchiba")
    earlier = WorkFactory(title="An earlier trial")
    AuthorshipFactory(work=earlier, author=iwasa, position=0)
    AuthorshipFactory(work=earlier, author=okita, position=1)
    AuthorshipFactory(author=kuchiba)

    run(str(esmo_path(crossref_dir)))

    on_work = dict(
        Authorship.objects.filter(work__doi=ESMO).values_list("author__display_name", "author")
    )
    assert on_work["Natsuko Okita"] == okita.pk
    assert on_work["Aya Kuchiba"] != kuchiba.pk
    assert Author.objects.filter(display_name="Natsuko Okita").count() == 1
    assert Author.objects.filter(display_name="Aya Kuchiba").count() == 2


def test_changed_affiliations_update_crossrefs_authorships_without_new_authors(
    tmp_path: Path, crossref_dir: Path
) -> None:
    data = response(crossref_dir, "work-10.1136_jclinpath_2020_206745.json")
    run(str(write(tmp_path, data)))
    authors = Author.objects.count()

    data["message"]["author"][0]["affiliation"] = [{"name": "Peking University"}]
    del data["message"]["author"][14]  # the last author left the record
    out, _ = run(str(write(tmp_path, data)))

    assert out.startswith("created 0, updated 1, unchanged 0, skipped 0")
    assert Author.objects.count() == authors
    first = Authorship.objects.get(work__doi=JCLINPATH, position=0)
    assert first.raw_affiliations == ["Peking University"]
    assert Authorship.objects.filter(work__doi=JCLINPATH).count() == 14


def test_a_disputed_authorship_is_left_as_the_person_decided(crossref_dir: Path) -> None:
    run(str(esmo_path(crossref_dir)))
    Authorship.objects.filter(work__doi=ESMO, position=0).update(status="disputed")
    before = snapshot()

    run(str(esmo_path(crossref_dir)))

    assert snapshot() == before
    assert Authorship.objects.get(work__doi=ESMO, position=0).status == "disputed"


# --- bad input -----------------------------------------------------------------


def test_an_entry_without_a_title_is_named_and_skipped_and_the_rest_imported(
    crossref_dir: Path,
) -> None:
    path = members_path(crossref_dir)

    out, err = run(str(path))

    assert (
        err.strip()
        == f"{path}:message/items[4] DOI {UNTITLED}: a work without a title: not imported"
    )
    assert out.startswith("created 19, updated 0, unchanged 0, skipped 1")
    assert not Work.objects.filter(doi=UNTITLED).exists()


def test_strict_stops_at_the_first_problem_and_writes_nothing(crossref_dir: Path) -> None:
    message, _ = failing(str(esmo_path(crossref_dir)), str(members_path(crossref_dir)), strict=True)

    assert "a work without a title" in message
    assert message.endswith("Strict import stopped: nothing was written.")
    assert Work.objects.count() == 0 and Author.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (
            "error-404-resource-failure.json",
            "Crossref answered resource-failure: Cursor specified but it is invalid "
            "(value 'thing')",
        ),
        (
            "error-400-validation-failure.json",
            "Crossref answered validation-failure: Integer specified as things but must be a "
            "positive integer less than or equal to 1000. (value 'things')",
        ),
    ],
)
def test_an_error_body_is_reported_in_crossrefs_words_and_changes_nothing(
    crossref_dir: Path, name: str, said: str
) -> None:
    WorkFactory()
    before = snapshot()

    message, _ = failing(str(crossref_dir / name))

    assert message == f"Could not import: {crossref_dir / name}: {said}"
    assert snapshot() == before


def test_a_truncated_file_is_refused_by_name_and_the_good_one_imported(
    tmp_path: Path, crossref_dir: Path
) -> None:
    raw = jclinpath_path(crossref_dir).read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(raw[: len(raw) // 2])

    message, _ = failing(str(cut), str(esmo_path(crossref_dir)))

    assert message.startswith(f"Could not import: {cut}: truncated JSON")
    assert list(Work.objects.values_list("doi", flat=True)) == [ESMO]


def test_a_response_that_is_not_a_works_response_is_refused(
    tmp_path: Path, crossref_dir: Path
) -> None:
    data = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    data["message-type"] = "member"
    member = write(tmp_path, data, "member.json")
    orcid_record = write(tmp_path, {"orcid-identifier": {"path": IWASA_ORCID}}, "orcid.json")

    message, _ = failing(str(member), str(orcid_record))

    assert f"{member}: not a Crossref works response: message-type 'member'" in message
    assert f"{orcid_record}: not a Crossref works response: message-type 'none'" in message
    assert Work.objects.count() == 0


def test_an_author_without_a_name_or_with_a_bad_orcid_is_noted_and_the_work_imported(
    tmp_path: Path, crossref_dir: Path
) -> None:
    data = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    authors = data["message"]["author"]
    authors[1] = {"sequence": "additional", "affiliation": []}
    authors[0]["ORCID"] = "https://orcid.org/0000-0003-3863-9583"  # wrong check digit
    path = write(tmp_path, data)

    out, err = run(str(path))

    assert f"{path}:message DOI {ESMO} author[1]: an author without a name: left out" in err
    assert "ORCID iD with a wrong check digit" in err
    assert out.startswith("created 1, updated 0, unchanged 0, skipped 0")
    names = names_on(ESMO)
    assert names[0] == ("Satoru Iwasa", 0, "", "crossref")
    assert [n[1] for n in names] == [0, *range(2, 13)]


# --- the API -------------------------------------------------------------------


def api_command(handler: Any, **client: Any) -> tuple[Command, list[float]]:
    slept: list[float] = []
    command = Command(stdout=StringIO(), stderr=StringIO())
    command.crossref_client = CrossrefClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        mailto="team@bzpeer.example",
        sleep=slept.append,
        **client,
    )
    return command, slept


def test_doi_option_asks_the_polite_pool_and_waits_as_told_on_429(crossref_dir: Path) -> None:
    body = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "3"}, text="slow down")
        return httpx.Response(200, json=body)

    command, slept = api_command(handler)
    call_command(command, doi=[f"https://doi.org/{ESMO.upper()}"])

    assert slept == [3.0]
    assert [r.url.path for r in seen] == [f"/works/{ESMO}"] * 2
    assert seen[0].url.params["mailto"] == "team@bzpeer.example"
    assert "mailto:team@bzpeer.example" in seen[0].headers["User-Agent"]
    assert Work.objects.get().doi == ESMO


def test_doi_option_reports_crossrefs_not_found_and_imports_the_others(
    crossref_dir: Path,
) -> None:
    body = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(ESMO):
            return httpx.Response(200, json=body)
        return httpx.Response(404, text="Resource not found.")

    command, _ = api_command(handler)
    with pytest.raises(CommandError, match=r"Crossref has no such work: .*/works/10\.1000/nope"):
        call_command(command, doi=["10.1000/nope", ESMO])

    assert list(Work.objects.values_list("doi", flat=True)) == [ESMO]


def test_an_error_body_from_the_api_changes_nothing(crossref_dir: Path) -> None:
    body = response(crossref_dir, "error-400-validation-failure.json")
    command, _ = api_command(lambda request: httpx.Response(400, json=body))

    with pytest.raises(CommandError, match="Crossref answered validation-failure: Integer"):
        call_command(command, query="ecology")

    assert Work.objects.count() == 0


def test_query_option_follows_the_cursor_and_stops_at_the_page_cap(crossref_dir: Path) -> None:
    # The recorded pages were not paged: a cursor is added to copies of them.
    first = response(crossref_dir, "list-test_works_field_queries.json")
    first["message"]["next-cursor"] = "DnF1ZXJ5VGhlbkZldGNoBgAAAA"
    second = copy.deepcopy(response(crossref_dir, "list-test_members_mixed_ids_works_warn.json"))
    second["message"]["next-cursor"] = "DnF1ZXJ5VGhlbkZldGNoBgAAAB"
    pages = {"*": first, "DnF1ZXJ5VGhlbkZldGNoBgAAAA": second}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[request.url.params["cursor"]])

    command, _ = api_command(handler, rows=20)
    call_command(command, query="ecological forecasting", max_pages=2)

    assert [r.url.params["cursor"] for r in seen] == ["*", "DnF1ZXJ5VGhlbkZldGNoBgAAAA"]
    assert {r.url.params["query"] for r in seen} == {"ecological forecasting"}
    assert {r.url.params["rows"] for r in seen} == {"20"}
    assert Work.objects.count() == 39  # 20 + 19 (the journal issue has no title)
    assert "Stopped after 2 pages: more remain (--max-pages)." in command.stdout.getvalue()


def test_no_files_and_no_api_option_is_refused() -> None:
    message, _ = failing()
    assert message == "Give Crossref response files, or --doi DOI..., or --query TEXT."


def two_copies(crossref_dir: Path, *, with_orcids: bool) -> dict[str, Any]:
    """A work-list holding the ESMO Open paper twice, under a second DOI and title."""
    work = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")["message"]
    other = copy.deepcopy(work)
    other["DOI"] = "10.1136/esmoopen-2020-999999"
    other["title"] = ["A follow-up of the lenvatinib study in colorectal cancer"]
    if not with_orcids:
        for author in [*work["author"], *other["author"]]:
            author.pop("ORCID", None)
    return {"status": "ok", "message-type": "work-list", "message": {"items": [work, other]}}


def test_in_one_response_a_name_and_a_shared_coauthor_make_one_author(
    tmp_path: Path, crossref_dir: Path
) -> None:
    run(str(write(tmp_path, two_copies(crossref_dir, with_orcids=True))))

    assert Work.objects.count() == 2
    assert Author.objects.count() == 13


def test_in_one_response_a_name_alone_does_not_make_one_author(
    tmp_path: Path, crossref_dir: Path
) -> None:
    run(str(write(tmp_path, two_copies(crossref_dir, with_orcids=False))))

    assert Author.objects.count() == 26


def test_an_organisation_author_is_named_by_its_name_and_found_again(
    tmp_path: Path, crossref_dir: Path
) -> None:
    # The shared responses have no group author: one replaces the sixth person.
    data = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    data["message"]["author"][5] = {
        "name": "ESMO Colorectal Cancer Study Group",
        "sequence": "additional",
        "affiliation": [],
    }
    path = write(tmp_path, data)
    run(str(path))
    before = snapshot()

    run(str(path))

    assert names_on(ESMO)[5] == ("ESMO Colorectal Cancer Study Group", 5, "", "crossref")
    assert snapshot() == before


def test_a_server_error_is_retried_with_backoff(crossref_dir: Path) -> None:
    body = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    answers = [httpx.Response(502, text="bad gateway"), httpx.Response(503, text="busy")]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=body)

    command, slept = api_command(handler)
    call_command(command, doi=[ESMO])

    assert slept == [1.0, 2.0]
    assert Work.objects.filter(doi=ESMO).exists()


def test_a_search_whose_second_page_fails_keeps_the_first(crossref_dir: Path) -> None:
    first = response(crossref_dir, "list-test_works_field_queries.json")
    first["message"]["next-cursor"] = "DnF1ZXJ5VGhlbkZldGNoBgAAAA"
    invalid = response(crossref_dir, "error-404-resource-failure.json")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["cursor"] == "*":
            return httpx.Response(200, json=first)
        return httpx.Response(404, json=invalid)

    command, _ = api_command(handler, rows=20)
    with pytest.raises(CommandError, match="Crossref answered resource-failure: Cursor"):
        call_command(command, query="ecological forecasting")

    assert Work.objects.count() == 20


@pytest.mark.parametrize(
    ("other_name", "orcid"),
    [("Kenji Iwasa", IWASA_ORCID), ("Satoru Iwasa", IWASA_ORCID), ("Kenji Iwasa", "")],
)
def test_of_two_authors_sharing_a_name_the_same_person_is_chosen(
    tmp_path: Path, crossref_dir: Path, other_name: str, orcid: str
) -> None:
    # Hand-written: OpenAlex lists another Iwasa (a namesake, or only the same
    # family name) first, and Satoru Iwasa (with the iD Crossref gives, or
    # neither has one) second; Crossref has Satoru Iwasa first.
    work = openalex_esmo(cited_by_count=30)[0]
    satoru = copy.deepcopy(work["authorships"][0])
    satoru["author"]["orcid"] = f"https://orcid.org/{orcid}" if orcid else None
    other = work["authorships"][0]
    other["author"] = {"id": "https://openalex.org/A5000000103", "display_name": other_name}
    other["raw_author_name"] = other_name
    work["authorships"] = [other, satoru]
    import_entities([work])
    # Crossref's record, with an affiliation for him (hand-written) to show
    # which authorship it reached.
    data = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    data["message"]["author"][0]["affiliation"] = [{"name": "National Cancer Center"}]
    if not orcid:
        del data["message"]["author"][0]["ORCID"]

    run(str(write(tmp_path, data)))

    assert list(
        Authorship.objects.filter(work__doi=ESMO, author__display_name__endswith="Iwasa")
        .order_by("position")
        .values_list("author__display_name", "author__orcid", "raw_affiliations")
    ) == [(other_name, "", []), ("Satoru Iwasa", orcid, ["National Cancer Center"])]
    assert Author.objects.filter(display_name__endswith="Iwasa").count() == 2


def test_one_orcid_reaching_two_stored_records_of_a_person_is_written_on_one(
    tmp_path: Path, crossref_dir: Path
) -> None:
    # Hand-written: OpenAlex split Satoru Iwasa into two records, one per paper.
    first = openalex_esmo(cited_by_count=30)[0]
    second = copy.deepcopy(first)
    second["id"] = "https://openalex.org/W4000000102"
    second["doi"] = "https://doi.org/10.1136/esmoopen-2020-999999"
    second["title"] = "A follow-up of the lenvatinib study in colorectal cancer"
    second["authorships"][0]["author"]["id"] = "https://openalex.org/A5000000109"
    second["authorships"][1]["author"]["id"] = "https://openalex.org/A5000000110"
    import_entities([first, second])

    out, _ = run(str(write(tmp_path, two_copies(crossref_dir, with_orcids=True))))

    assert out.startswith("created 0, updated 2, unchanged 0, skipped 0")
    assert list(
        Author.objects.filter(display_name="Satoru Iwasa")
        .order_by("openalex_id")
        .values_list("openalex_id", "orcid")
    ) == [("A5000000101", IWASA_ORCID), ("A5000000109", "")]


def test_strict_doi_fetch_writes_nothing_when_one_doi_fails(crossref_dir: Path) -> None:
    body = response(crossref_dir, "work-10.1136_esmoopen_2020_000776.json")
    not_found = response(crossref_dir, "error-404-resource-failure.json")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(ESMO):
            return httpx.Response(200, json=body)
        return httpx.Response(404, json=not_found)

    command, _ = api_command(handler)
    with pytest.raises(CommandError, match=r"Strict import stopped: nothing was written\."):
        call_command(command, doi=[ESMO, "10.1000/nope"], strict=True)

    assert Work.objects.count() == 0 and Author.objects.count() == 0
