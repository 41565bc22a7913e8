"""The owner of a claimed record adds a missing work: looked up, confirmed, then added."""

import html
import json
import re
from pathlib import Path
from typing import Any

import bibtexparser
import httpx
import pytest
import rispy
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles import services
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user, owned_record
from tests.profiles.test_researcher_page import text_of
from works import candidates
from works.arxiv_api import ArxivClient
from works.crossref_api import CrossrefClient
from works.models import Author, AuthorMetrics, Authorship, Work
from works.signals import authors_changed

pytestmark = pytest.mark.django_db

DELPHI = "10.1371/journal.pone.0020476"
DELPHI_TITLE = (
    "Using and Reporting the Delphi Method for Selecting Healthcare Quality Indicators: "
    "A Systematic Review"
)
NEW_ENTRY = """@article{mine2024,
  title = {A Study Nobody Imported Yet},
  author = {Owner, Rosa and Other, Pat},
  journal = {Journal of Missing Things},
  year = {2024}
}"""


@pytest.fixture
def crossref_dir(shared_data: Path) -> Path:
    return shared_data / "crossref"


def serve(monkeypatch: pytest.MonkeyPatch, handler: Any) -> list[httpx.Request]:
    """Crossref and arXiv answer through handler: only the network is mocked."""
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    def http() -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(recording))

    monkeypatch.setattr(
        candidates,
        "CrossrefClient",
        lambda: CrossrefClient(http=http(), sleep=lambda s: None),
    )
    monkeypatch.setattr(
        candidates, "ArxivClient", lambda: ArxivClient(http=http(), sleep=lambda s: None)
    )
    return seen


def add_url(author: Author) -> str:
    return reverse("profiles:work_add", args=[author.pk])


def payload_of(response: Any) -> str:
    payload = re.search(r'name="payload" value="([^"]*)"', response.content.decode())
    assert payload, "the confirmation page has no payload"
    return html.unescape(payload[1])


def confirm(client: Any, author: Author, response: Any) -> Any:
    """Press the confirmation page's button: post its signed payload back."""
    return client.post(
        reverse("profiles:work_add_confirm", args=[author.pk]), {"payload": payload_of(response)}
    )


def counts() -> tuple[int, int]:
    return Work.objects.count(), Authorship.objects.count()


@pytest.fixture
def owner_client(client: Any) -> tuple[Any, Author]:
    owner, author = owned_record("Rosa Owner")
    client.force_login(owner)
    return client, author


def test_a_doi_is_shown_first_and_added_only_on_confirmation(
    owner_client: Any, crossref_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, author = owner_client
    body = json.loads((crossref_dir / "work-10.1371_journal.pone.0020476.json").read_text())
    seen = serve(monkeypatch, lambda request: httpx.Response(200, json=body))
    before = counts()

    shown = client.post(add_url(author), {"doi": f"https://doi.org/{DELPHI.upper()}"})

    assert shown.status_code == 200
    text = text_of(shown)
    assert DELPHI_TITLE in text
    assert "2011" in text and "PLoS ONE" in text and "Boulkedid" in text
    assert "Will be added as a new work" in text
    assert counts() == before, "nothing is written before the owner confirms"
    assert [r.url.path for r in seen] == [f"/works/{DELPHI}"]

    done = confirm(client, author, shown)

    assert done.status_code == 302
    work = Work.objects.get(doi=DELPHI)
    assert work.title == DELPHI_TITLE and work.publication_year == 2011
    assert work.source is not None and work.source.display_name == "PLoS ONE"
    authorship = Authorship.objects.get(work=work, author=author)
    assert authorship.origin == Authorship.Origin.CLAIMANT
    assert authorship.status == Authorship.Status.CONFIRMED
    assert len(seen) == 1, "confirming does not fetch again: the payload is signed"
    assert AuthorMetrics.objects.get(author=author).works == 1
    page = text_of(client.get(reverse("profiles:researcher_detail", args=[author.pk])))
    assert "added by the researcher" in page and DELPHI_TITLE in page


def test_an_arxiv_id_is_read_from_the_arxiv_feed(
    owner_client: Any, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, author = owner_client
    feed = (shared_data / "arxiv" / "api-query-all-science.atom.xml").read_bytes()
    seen = serve(monkeypatch, lambda request: httpx.Response(200, content=feed))

    shown = client.post(add_url(author), {"arxiv_id": "arXiv:1501.05039v1"})

    assert shown.status_code == 200
    assert "Defining Data Science" in text_of(shown)
    assert seen[0].url.params["id_list"] == "1501.05039"
    confirm(client, author, shown)
    work = Work.objects.get(arxiv_id="1501.05039")
    assert work.type == "preprint" and work.publication_year == 2015
    assert work.source is not None and work.source.display_name == "arXiv"


def test_the_seed_researchers_own_bibtex_adds_nothing_to_her_record(
    client: Any, shared_data: Path
) -> None:
    call_command("load_demo", "--synthetic", "0", verbosity=0)
    hattie = Author.objects.get(display_name="Hattie Zhou")
    owner = make_user()
    claim = services.claim_submit(
        user=owner, author=hattie, links=["https://x.example/"], statement="",
        works_mine=[], works_not_mine=[],
    )  # fmt: skip
    services.claim_approve(claim=claim, staff=make_user(staff=True))
    client.force_login(owner)
    before = counts()

    with (shared_data / "seed-researcher" / "papers.bib").open("rb") as upload:
        shown = client.post(add_url(hattie), {"bibtex_file": upload})

    assert shown.status_code == 200
    text = text_of(shown)
    # The first entry forgets the comma after its key; the NeurIPS 2019 ones are 2020 here.
    assert text.count("Already on your record") == 3
    for title in (
        "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask",
        "LCA: Loss Change Allocation for Neural Network Training",
        "Fortuitous Forgetting in Connectionist Networks",
    ):
        assert title in text
    assert "Nothing here to add" in text
    confirm(client, hattie, shown)
    assert counts() == before


def test_a_stored_work_is_linked_not_copied(owner_client: Any) -> None:
    client, author = owner_client
    stored = WorkFactory(doi="10.1000/stored", title="A Stored Work Somebody Else Imported")
    AuthorshipFactory(work=stored, author=AuthorFactory(display_name="Pat Coauthor"))
    entry = "@article{s, title={Whatever the BibTeX says}, doi={10.1000/STORED}, year={2020}}"

    shown = client.post(add_url(author), {"bibtex": entry})

    assert "Will be linked to the existing work A Stored Work Somebody Else Imported" in text_of(
        shown
    )
    assert "(matched by DOI)" in text_of(shown)
    works_before = Work.objects.count()
    confirm(client, author, shown)
    assert Work.objects.count() == works_before
    added = Authorship.objects.get(work=stored, author=author)
    assert added.origin == Authorship.Origin.CLAIMANT


def test_a_work_on_another_record_under_the_owners_name_is_not_copied(
    owner_client: Any,
) -> None:
    client, author = owner_client
    other = AuthorFactory(display_name="R. Owner")
    stored = WorkFactory(doi="10.1000/theirs")
    AuthorshipFactory(work=stored, author=other)
    before = counts()

    shown = client.post(add_url(author), {"bibtex": "@article{t, title={X}, doi={10.1000/theirs}}"})

    text = text_of(shown)
    assert "on another researcher's record, R. Owner" in text
    assert "This is mine: ask staff to move it to my record" in text
    confirm(client, author, shown)
    assert counts() == before


def mine_form(response: Any) -> dict[str, str]:
    """The fields of the first "This is mine" form on a confirmation page."""
    form = re.search(r'class="missing-plan__mine">(.*?)</form>', response.content.decode(), re.S)
    assert form, "no 'This is mine' form on the page"
    fields = dict(re.findall(r'type="hidden" name="(work|record)" value="(\d+)"', form[1]))
    return {**fields, "reason": "My DOI; the other record is a namesake's."}


def test_this_is_mine_asks_staff_who_move_the_work_to_the_owner_s_record(
    owner_client: Any,
) -> None:
    from django.test import Client

    from profiles.models import SplitRequest
    from tests.mfa import force_login_with_totp

    client, author = owner_client
    other = AuthorFactory(display_name="R. Owner")
    stored = WorkFactory(doi="10.1000/theirs", title="A Paper Filed Under A Namesake")
    AuthorshipFactory(work=stored, author=other)
    shown = client.post(add_url(author), {"bibtex": "@article{t, title={X}, doi={10.1000/theirs}}"})
    fields = mine_form(shown)
    assert fields["work"] == str(stored.pk) and fields["record"] == str(other.pk)

    url = reverse("profiles:work_mine_request", args=[author.pk])
    sent = client.post(url, fields, follow=True)
    assert "Your request is with staff" in html.unescape(sent.content.decode())
    request = SplitRequest.objects.get()
    assert (request.author_id, request.target_id, request.work_ids) == (
        other.pk,
        author.pk,
        [stored.pk],
    )
    # Nothing moved yet, and asking twice is refused.
    assert not Authorship.objects.filter(author=author, work=stored).exists()
    again = client.post(url, fields)
    assert again.status_code == 409 and "asked for that work already" in text_of(again)

    staff = Client()
    force_login_with_totp(staff, make_user(staff=True))
    queue = text_of(staff.get(reverse("profiles:staff_merges")))
    assert f"the owner of record {author.pk} asks for 1 work" in queue
    split_url = reverse("profiles:staff_split", args=[other.pk]) + f"?request={request.pk}"
    page = staff.get(split_url).content.decode()
    assert re.search(r'value="existing"[^>]*checked', page), "the destination is not prefilled"
    assert f'value="{author.pk}"' in page
    done = staff.post(
        split_url,
        {
            "works": [stored.pk],
            "destination": "existing",
            "target": str(author.pk),
            "request": request.pk,
        },
    )
    assert done.status_code == 302
    assert Authorship.objects.filter(author=author, work=stored).exists()
    assert (
        not Authorship.objects.filter(author=other, work=stored).exclude(status="disputed").exists()
    )
    request.refresh_from_db()
    assert request.state == SplitRequest.State.DONE


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"work": "abc", "record": "1"}, 400, "Enter a whole number"),
        ({"record": "1"}, 400, "Say which work"),
        ({"work": "1", "record": "-3"}, 400, "greater than or equal to 1"),
        ({"work": "999999", "record": "OTHER"}, 409, "not on that record"),
        ({"work": "OWN", "record": "OTHER"}, 409, "on your record already"),
    ],
)
def test_this_is_mine_refuses_bad_requests_with_a_message_and_sends_nothing(
    owner_client: Any, fields: dict[str, str], status: int, message: str
) -> None:
    from profiles.models import SplitRequest

    client, author = owner_client
    other = AuthorFactory(display_name="R. Owner")
    own = WorkFactory()
    AuthorshipFactory(work=own, author=author)
    AuthorshipFactory(work=own, author=other)
    values = {k: {"OTHER": str(other.pk), "OWN": str(own.pk)}.get(v, v) for k, v in fields.items()}
    answer = client.post(reverse("profiles:work_mine_request", args=[author.pk]), values)
    assert answer.status_code == status
    assert "Nothing was sent." in text_of(answer) and message in text_of(answer)
    assert not SplitRequest.objects.exists()


def test_only_the_owner_may_say_this_is_mine(client: Any) -> None:
    _, author = owned_record("Rosa Owner")
    work = WorkFactory()
    other = AuthorFactory()
    AuthorshipFactory(work=work, author=other)
    url = reverse("profiles:work_mine_request", args=[author.pk])
    fields = {"work": str(work.pk), "record": str(other.pk)}
    assert client.post(url, fields).status_code == 302  # to log in
    client.force_login(make_user())
    assert client.post(url, fields).status_code == 404
    assert client.get(url).status_code == 405


def test_many_entries_at_once_with_a_repeat_add_each_work_once(owner_client: Any) -> None:
    client, author = owner_client
    repeat = NEW_ENTRY.replace("mine2024", "again")

    shown = client.post(add_url(author), {"bibtex": f"{NEW_ENTRY}\n{repeat}"})

    assert "The same work as an entry above" in text_of(shown)
    confirm(client, author, shown)
    work = Work.objects.get(title="A Study Nobody Imported Yet")
    authorship = Authorship.objects.get(work=work)
    assert (authorship.author, authorship.position, authorship.raw_author_name) == (
        author,
        0,
        "Rosa Owner",
    )
    assert work.source is not None and work.source.display_name == "Journal of Missing Things"


def crossref_404(crossref_dir: Path) -> Any:
    body = (crossref_dir / "error-404-resource-failure.json").read_text()
    return lambda request: httpx.Response(404, content=body)


def timing_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    ("data", "handler", "status", "message"),
    [
        ({}, None, 400, "Give a DOI, an arXiv id or BibTeX."),
        ({"doi": "10.1000"}, None, 400, "“10.1000” is not a DOI"),
        ({"arxiv_id": "1501.5039x"}, None, 400, "is not an arXiv id"),
        ({"doi": "10.1000/x", "arxiv_id": "1501.05039"}, None, 400, "at a time"),
        ({"doi": "10.1000/unknown"}, "404", 400, "Crossref does not know the DOI 10.1000/unknown"),
        ({"doi": "10.1000/x"}, timing_out, 503, "Crossref cannot be reached right now"),
        ({"arxiv_id": "1501.05039"}, timing_out, 503, "arXiv cannot be reached right now"),
        ({"bibtex": "@article{x, title={A}, year=20"}, None, 400, "cannot be read near line 1"),
        ({"bibtex": "just some words"}, None, 400, "No BibTeX entry found"),
        ({"bibtex": "@misc{notitle, year={2020}}"}, None, 400, "notitle (line 1) has no title"),
        (
            {"bibtex": "".join(f"@misc{{k{i}, title={{T {i}}}}}\n" for i in range(201))},
            None,
            400,
            "That is 201 entries: give at most 200 at a time.",
        ),
    ],
)
def test_bad_input_is_named_on_the_form_and_nothing_is_written(
    owner_client: Any,
    crossref_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, str],
    handler: Any,
    status: int,
    message: str,
) -> None:
    client, author = owner_client
    if handler == "404":
        handler = crossref_404(crossref_dir)
    serve(monkeypatch, handler or (lambda request: pytest.fail("no fetch expected")))
    before = counts()

    response = client.post(add_url(author), data)

    assert response.status_code == status
    assert message in html.unescape(text_of(response))
    assert 'name="payload"' not in response.content.decode()
    assert counts() == before


def test_a_bibtex_file_over_a_megabyte_is_refused(owner_client: Any) -> None:
    client, author = owner_client
    big = NEW_ENTRY.encode() + b"%" * (1024 * 1024)

    response = client.post(add_url(author), {"bibtex_file": SimpleUploadedFile("big.bib", big)})

    assert response.status_code == 400
    assert "more than 1 MB" in text_of(response)


def test_a_changed_payload_is_refused_and_adds_nothing(owner_client: Any) -> None:
    client, author = owner_client
    shown = client.post(add_url(author), {"bibtex": NEW_ENTRY})
    payload = payload_of(shown)
    before = counts()

    response = client.post(
        reverse("profiles:work_add_confirm", args=[author.pk]), {"payload": payload[:-2] + "xx"}
    )

    assert response.status_code == 400
    assert "too old or was changed" in text_of(response)
    assert counts() == before


def test_a_payload_signed_for_one_record_does_not_add_to_another(client: Any) -> None:
    owner, author = owned_record("Rosa Owner")
    client.force_login(owner)
    shown = client.post(add_url(author), {"bibtex": NEW_ENTRY})
    payload = payload_of(shown)
    stranger, theirs = owned_record("Sam Else")
    client.force_login(stranger)

    response = client.post(
        reverse("profiles:work_add_confirm", args=[theirs.pk]), {"payload": payload}
    )

    assert response.status_code == 400
    assert not Work.objects.filter(title="A Study Nobody Imported Yet").exists()


def test_look_ups_are_rate_limited_per_account(owner_client: Any, settings: Any) -> None:
    client, author = owner_client
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "missing_work_fetch": "2/h/user"}

    answers = [client.post(add_url(author), {"bibtex": NEW_ENTRY}).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_the_htmx_request_gets_the_same_page(owner_client: Any) -> None:
    client, author = owner_client

    response = client.post(add_url(author), {"bibtex": NEW_ENTRY}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Will be added as a new work" in text_of(response)


def test_exports_mark_an_added_work_in_a_field_readers_keep(owner_client: Any) -> None:
    client, author = owner_client
    imported = WorkFactory(title="An Imported Work Of Hers")
    AuthorshipFactory(work=imported, author=author)
    confirm(client, author, client.post(add_url(author), {"bibtex": NEW_ENTRY}))

    bib = client.get(reverse("profiles:researcher_export", args=[author.pk, "bib"]))
    entries = {
        e.fields_dict["title"].value: e.fields_dict.get("note")
        for e in bibtexparser.parse_string(bib.content.decode()).entries
    }
    ris = rispy.loads(
        client.get(reverse("profiles:researcher_export", args=[author.pk, "ris"])).content.decode()
    )
    notes = {r["title"]: r.get("notes") for r in ris}
    csl = client.get(reverse("profiles:researcher_export", args=[author.pk, "json"])).json()

    assert entries["A Study Nobody Imported Yet"].value == "Added by the researcher"
    assert entries["An Imported Work Of Hers"] is None
    assert notes == {
        "A Study Nobody Imported Yet": ["Added by the researcher"],
        "An Imported Work Of Hers": None,
    }
    assert {i["title"]: i.get("note") for i in csl} == {
        "A Study Nobody Imported Yet": "Added by the researcher",
        "An Imported Work Of Hers": None,
    }


def test_a_reimport_from_openalex_keeps_the_works_the_owner_added(
    client: Any, shared_data: Path
) -> None:
    page = shared_data / "openalex" / "works-page-1.json"
    call_command("import_openalex", str(page), no_progress=True, verbosity=0)
    first = json.loads(page.read_text())["results"][0]
    author = Author.objects.get(openalex_id=first["authorships"][0]["author"]["id"].rsplit("/")[-1])
    # A work of the file she is not on: the re-import rewrites its authorships.
    listed = Work.objects.exclude(authorships__author=author).exclude(doi="").first()
    assert listed is not None
    owner = make_user()
    claim = services.claim_submit(
        user=owner, author=author, links=["https://x.example/"], statement="",
        works_mine=[], works_not_mine=[],
    )  # fmt: skip
    services.claim_approve(claim=claim, staff=make_user(staff=True))
    client.force_login(owner)
    bibtex = f"{NEW_ENTRY}\n@article{{l, title={{T}}, doi={{{listed.doi}}}}}"
    confirm(client, author, client.post(add_url(author), {"bibtex": bibtex}))
    added = set(
        Authorship.objects.filter(author=author, origin=Authorship.Origin.CLAIMANT).values_list(
            "work_id", flat=True
        )
    )
    assert len(added) == 2 and listed.pk in added

    call_command("import_openalex", str(page), no_progress=True, verbosity=0)

    kept = Authorship.objects.filter(author=author, origin=Authorship.Origin.CLAIMANT)
    assert set(kept.values_list("work_id", flat=True)) == added
    assert AuthorMetrics.objects.get(author=author).works == author.authorships.count()


def test_confirming_announces_the_changed_authors_once_committed(
    owner_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client, author = owner_client
    coauthor = AuthorFactory(display_name="Pat Coauthor")
    stored = WorkFactory(doi="10.1000/shared")
    AuthorshipFactory(work=stored, author=coauthor)
    heard: list[list[int]] = []

    def listener(sender: Any, author_ids: list[int], **kwargs: Any) -> None:
        heard.append(author_ids)

    authors_changed.connect(listener)
    try:
        shown = client.post(
            add_url(author), {"bibtex": "@article{s, title={Shared}, doi={10.1000/shared}}"}
        )
        with django_capture_on_commit_callbacks(execute=True):
            confirm(client, author, shown)
    finally:
        authors_changed.disconnect(listener)

    assert heard == [sorted([author.pk, coauthor.pk])]


def test_a_work_the_owner_marked_not_theirs_is_named_and_left_as_decided(
    owner_client: Any,
) -> None:
    client, author = owner_client
    stored = WorkFactory(doi="10.1000/disputed")
    AuthorshipFactory(work=stored, author=author, status=Authorship.Status.DISPUTED)

    shown = client.post(
        add_url(author), {"bibtex": "@article{d, title={D}, doi={10.1000/disputed}}"}
    )

    assert "Already on your record, marked not yours" in text_of(shown)
    confirm(client, author, shown)
    assert Authorship.objects.get(work=stored, author=author).status == "disputed"


def test_adding_is_set_based_forty_works_cost_the_statements_of_one(db: Any) -> None:
    owner, author = owned_record("Rosa Owner")

    def statements(n: int, tag: str) -> int:
        bibtex = "".join(
            f"@article{{{tag}{i}, title={{Entry {tag} number {i} of a long list}},"
            f" journal={{Venue {tag}{i}}}, doi={{10.1000/{tag}{i}}}, year={{2024}}}}\n"
            for i in range(n)
        )
        with CaptureQueriesContext(connection) as queries:
            services.missing_works_add(
                user=owner, author=author, incoming=candidates.from_bibtex(bibtex)
            )
        return len(queries)

    one, forty = statements(1, "a"), statements(40, "b")

    assert Work.objects.filter(doi__startswith="10.1000/b").count() == 40
    assert forty == one
