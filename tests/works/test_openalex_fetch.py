"""The OpenAlex API client: only the HTTP layer is replaced (httpx.MockTransport).

Responses are small hand-written ones shaped like the real API's.
"""

import re
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command

from works.management.commands.import_openalex import Command
from works.models import Author, Authorship, Work
from works.openalex_api import (
    OpenAlexClient,
    OpenAlexError,
    OpenAlexNotFound,
    OpenAlexUnavailable,
    fetch_author_works,
    import_author,
    search_authors,
)

ADA_ORCID = "0000-0002-1825-0097"
ADA: dict[str, Any] = {
    "id": "https://openalex.org/A900000001",
    "orcid": f"https://orcid.org/{ADA_ORCID}",
    "display_name": "Ada Example",
    "display_name_alternatives": ["A. Example"],
    "works_count": 3,
    "cited_by_count": 7,
    "last_known_institutions": [
        {
            "id": "https://openalex.org/I900000001",
            "ror": "https://ror.org/0test0147",
            "display_name": "University of Testing",
            "country_code": "CA",
            "type": "education",
        }
    ],
    "topics": [],
    "works_api_url": "https://api.openalex.org/works?filter=author.id:A900000001",
}
BO: dict[str, Any] = {
    "id": "https://openalex.org/A900000002",
    "orcid": None,
    "display_name": "Bo Sample",
    "works_count": 1,
    "last_known_institutions": [],
}


def work(number: int) -> dict[str, Any]:
    return {
        "id": f"https://openalex.org/W90000010{number}",
        "doi": f"https://doi.org/10.1234/ada.{number}",
        "title": f"Ada's paper {number}",
        "display_name": f"Ada's paper {number}",
        "publication_year": 2020 + number,
        "publication_date": f"{2020 + number}-01-15",
        "language": "en",
        "type": "article",
        "primary_location": None,
        "authorships": [
            {
                "author_position": "first",
                "author": {
                    "id": ADA["id"],
                    "display_name": "Ada Example",
                    "orcid": ADA["orcid"],
                },
                "institutions": [],
                "is_corresponding": True,
                "raw_author_name": "Ada Example",
            }
        ],
        "cited_by_count": number,
        "primary_topic": None,
        "topics": [],
        "abstract_inverted_index": None,
    }


# cursor -> (works on that page, next cursor), as OpenAlex pages with cursor=*
PAGES: dict[str, tuple[list[dict[str, Any]], str | None]] = {
    "*": ([work(1), work(2)], "IlsxNjA5NDU2MDAwMDAwLCAnVzEwMV0i"),
    "IlsxNjA5NDU2MDAwMDAwLCAnVzEwMV0i": ([work(3)], "IlsxNjQwOTk1MjAwMDAwLCAnVzEwM10i"),
    "IlsxNjQwOTk1MjAwMDAwLCAnVzEwM10i": ([], None),
}


class FakeOpenAlex:
    """Answers like api.openalex.org for Ada; `failures` are answered first."""

    def __init__(self, failures: list[Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.failures = failures or []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        path, params = request.url.path, request.url.params
        if path in ("/authors/A900000001", f"/authors/orcid:{ADA_ORCID}"):
            return httpx.Response(200, json=ADA)
        if path == "/authors" and params.get("search"):
            found = [a for a in (ADA, BO) if params["search"].lower() in a["display_name"].lower()]
            return httpx.Response(200, json={"meta": {"count": len(found)}, "results": found})
        if path == "/works" and params.get("filter") == "author.id:A900000001":
            results, next_cursor = PAGES[params["cursor"]]
            meta = {"count": 3, "per_page": int(params["per-page"]), "next_cursor": next_cursor}
            return httpx.Response(200, json={"meta": meta, "results": results})
        return httpx.Response(404, json={"error": "not found"})

    def client(self, sleeps: list[float] | None = None) -> OpenAlexClient:
        return OpenAlexClient(
            http=httpx.Client(transport=httpx.MockTransport(self)),
            sleep=(sleeps.append if sleeps is not None else lambda seconds: None),
        )


@pytest.fixture(autouse=True)
def _openalex_settings(settings):
    settings.OPENALEX_API_URL = "https://api.openalex.org"
    settings.OPENALEX_MAILTO = "tests@bzpeer.example"


def test_fetch_author_works_follows_the_cursor_over_pages() -> None:
    api = FakeOpenAlex()

    entities = list(fetch_author_works("A900000001", client=api.client()))

    assert [e["id"].rsplit("/", 1)[1] for e in entities] == [
        "A900000001",
        "W900000101",
        "W900000102",
        "W900000103",
    ]
    cursors = [r.url.params["cursor"] for r in api.requests if r.url.path == "/works"]
    assert cursors == list(PAGES)
    assert {r.url.params["per-page"] for r in api.requests if r.url.path == "/works"} == {"200"}


def test_every_request_sends_mailto_and_a_user_agent() -> None:
    api = FakeOpenAlex()

    list(fetch_author_works("A900000001", client=api.client()))

    assert {r.url.params["mailto"] for r in api.requests} == {"tests@bzpeer.example"}
    assert all(r.headers["User-Agent"].startswith("BZPEER/") for r in api.requests)
    assert all("tests@bzpeer.example" in r.headers["User-Agent"] for r in api.requests)


@pytest.mark.parametrize(
    "author", [f"https://orcid.org/{ADA_ORCID}", ADA_ORCID, "0000000218250097"]
)
def test_an_orcid_in_any_form_asks_for_the_orcid_path(author) -> None:
    api = FakeOpenAlex()

    list(fetch_author_works(author, client=api.client()))

    assert api.requests[0].url.path == f"/authors/orcid:{ADA_ORCID}"


@pytest.mark.parametrize("author", ["https://openalex.org/A900000001", "a900000001"])
def test_an_openalex_author_id_asks_for_the_author_path(author) -> None:
    api = FakeOpenAlex()

    list(fetch_author_works(author, client=api.client()))

    assert api.requests[0].url.path == "/authors/A900000001"


@pytest.mark.parametrize("author", ["W900000101", "Ada Example", "0000-0002-1825-0098"])
def test_what_is_not_an_author_id_is_refused_before_any_request(author) -> None:
    api = FakeOpenAlex()

    with pytest.raises(OpenAlexError, match="Not an ORCID iD or an OpenAlex author id"):
        list(fetch_author_works(author, client=api.client()))
    assert api.requests == []


def test_429_is_retried_after_retry_after_then_succeeds() -> None:
    api = FakeOpenAlex(failures=[httpx.Response(429, headers={"Retry-After": "7"})])
    sleeps: list[float] = []

    entities = list(fetch_author_works("A900000001", client=api.client(sleeps)))

    assert len(entities) == 4
    assert sleeps == [7.0]


def test_5xx_is_retried_with_backoff_then_fails_after_max_attempts() -> None:
    api = FakeOpenAlex(failures=[httpx.Response(503, text="busy")] * 5)
    sleeps: list[float] = []

    with pytest.raises(OpenAlexError, match="answered 503 after 5 attempts"):
        list(fetch_author_works("A900000001", client=api.client(sleeps)))
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert len(api.requests) == 5


def test_a_timeout_is_retried() -> None:
    api = FakeOpenAlex(failures=[httpx.ReadTimeout("slow"), httpx.Response(502)])
    sleeps: list[float] = []

    entities = list(fetch_author_works("A900000001", client=api.client(sleeps)))

    assert len(entities) == 4
    assert sleeps == [1.0, 2.0]


def test_offline_raises_a_clear_error_at_once() -> None:
    api = FakeOpenAlex(failures=[httpx.ConnectError("Name or service not known")])
    sleeps: list[float] = []

    with pytest.raises(
        OpenAlexUnavailable,
        match=re.escape(
            "Cannot reach the OpenAlex API at https://api.openalex.org: are you offline?"
        ),
    ):
        list(fetch_author_works("A900000001", client=api.client(sleeps)))
    assert sleeps == []


def test_an_unknown_author_is_not_found() -> None:
    with pytest.raises(OpenAlexNotFound, match="/authors/A123"):
        list(fetch_author_works("A123", client=FakeOpenAlex().client()))


def test_search_authors_returns_candidates() -> None:
    candidates = search_authors("a", client=FakeOpenAlex().client())

    assert [(c.openalex_id, c.orcid, c.institution) for c in candidates] == [
        ("A900000001", ADA_ORCID, "University of Testing"),
        ("A900000002", "", ""),
    ]


@pytest.mark.django_db
def test_import_author_writes_the_author_and_all_their_works() -> None:
    stats = import_author(ADA_ORCID, client=FakeOpenAlex().client())

    assert (stats.created, stats.skipped) == (4, 0)
    ada = Author.objects.get(openalex_id="A900000001")
    assert (ada.orcid, ada.works_count, ada.name_variants) == (ADA_ORCID, 3, ["A. Example"])
    assert Authorship.objects.filter(author=ada).count() == 3
    assert stats.changed_author_ids == {ada.id}

    again = import_author("A900000001", client=FakeOpenAlex().client())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def run_command(api: FakeOpenAlex, **options: Any) -> tuple[str, str]:
    command = Command()
    command.openalex_client = api.client()
    out, err = StringIO(), StringIO()
    call_command(command, no_progress=True, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("author", [f"https://orcid.org/{ADA_ORCID}", "A900000001"])
def test_command_author_imports_the_author_and_their_works(author) -> None:
    out, err = run_command(FakeOpenAlex(), author=author)

    assert out.splitlines() == ["created 4, updated 0, unchanged 0, skipped 0", "1 author changed"]
    assert err == ""
    assert set(Work.objects.values_list("openalex_id", flat=True)) == {
        "W900000101",
        "W900000102",
        "W900000103",
    }


@pytest.mark.django_db
def test_command_offline_fails_with_a_clear_message() -> None:
    api = FakeOpenAlex(failures=[httpx.ConnectError("Name or service not known")])

    with pytest.raises(CommandError, match=r"are you offline\?"):
        run_command(api, author="A900000001")
    assert Author.objects.count() == 0


@pytest.mark.django_db
def test_command_search_with_one_match_imports_it() -> None:
    out, _ = run_command(FakeOpenAlex(), search="Ada")

    assert out.splitlines()[0] == (
        "  1. Ada Example (A900000001, ORCID 0000-0002-1825-0097, University of Testing, 3 works)"
    )
    assert "created 4" in out
    assert Author.objects.filter(openalex_id="A900000001").exists()


@pytest.mark.django_db
def test_command_search_with_several_matches_lists_them_and_imports_nothing() -> None:
    out, _ = run_command(FakeOpenAlex(), search="a")

    assert "  2. Bo Sample (A900000002, 1 works)" in out
    assert "run again with --pick N" in out
    assert Author.objects.count() == 0


@pytest.mark.django_db
def test_command_search_pick_imports_the_chosen_candidate() -> None:
    out, _ = run_command(FakeOpenAlex(), search="a", pick=1)

    assert "created 4" in out
    assert Author.objects.get(openalex_id="A900000001").works_count == 3


@pytest.mark.django_db
def test_command_search_pick_out_of_range_fails() -> None:
    with pytest.raises(CommandError, match="choose between 1 and 2"):
        run_command(FakeOpenAlex(), search="a", pick=3)
