"""Duplicate-record suggestions: the finder, the staff queue, and the owner's request."""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from profiles import duplicates
from profiles.models import Claim, DuplicateSuggestion
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.profiles.conftest import make_user, owned_record
from works.importers import import_paths
from works.importers.orcid import import_orcid_paths
from works.models import AuthorAffiliation, Authorship

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
ORCID_RECORD = SHARED / "orcid" / "record-v3-0000-0002-4110-3511.json"
OPENALEX_ENVELOPE = Path(__file__).resolve().parents[1] / "works/fixtures/openalex/works-page.json"


def pair(a, b) -> DuplicateSuggestion:
    low, high = sorted((a.pk, b.pk))
    return DuplicateSuggestion.objects.get(author_low_id=low, author_high_id=high)


def coauthored(author, coauthor, *, year=2020, doi=""):
    work = WorkFactory(publication_year=year, doi=doi)
    AuthorshipFactory(work=work, author=author, position=0)
    AuthorshipFactory(work=work, author=coauthor, position=1)
    return work


# Finding


def test_two_openalex_records_of_one_orcid_are_suggested_by_it(tmp_path) -> None:
    import_orcid_paths([ORCID_RECORD])
    from works.models import Author

    # OpenAlex has already taken over the record ORCID made (by the iD: works.importers.upsert)
    # and also knows the same person under a second author id, with the same iD.
    Author.objects.filter(orcid="0000-0002-4110-3511").update(openalex_id="A900000776")
    records = json.loads(OPENALEX_ENVELOPE.read_text())["results"]
    records[0]["authorships"][0]["author"] = {
        "id": "https://openalex.org/A900000777",
        "display_name": "A. Accomazzi",
        "orcid": "https://orcid.org/0000-0002-4110-3511",
    }
    path = tmp_path / "works.jsonl"
    path.write_text(json.dumps(records[0]) + "\n")
    import_paths([path])

    orcid_record = Author.objects.get(orcid="0000-0002-4110-3511")
    openalex_record = Author.objects.get(openalex_id="A900000777")
    assert openalex_record.orcid == ""  # the unique iD stays with the first record
    assert openalex_record.external_ids["orcid"] == "0000-0002-4110-3511"  # kept aside
    again = import_paths([path])
    assert (again.updated, again.unchanged, again.changed_author_ids) == (0, 1, set())

    result = duplicates.duplicate_suggestions_refresh()

    suggestion = pair(orcid_record, openalex_record)
    assert suggestion.kind == "found" and suggestion.state == "open"
    assert suggestion.evidence["orcid"] == "0000-0002-4110-3511"
    assert suggestion.evidence["name_folded"] == ""  # the names differ: the iD alone
    assert suggestion.strength >= duplicates.ORCID_POINTS
    assert result.created == 1


def test_the_same_name_with_a_shared_coauthor_is_suggested_with_the_coauthor() -> None:
    a = AuthorFactory(display_name="José Núñez")
    b = AuthorFactory(display_name="Jose Nunez")  # folds to the same name
    coauthor = AuthorFactory(display_name="Mira Coauthor")
    coauthored(a, coauthor, year=2015)
    coauthored(b, coauthor, year=2021)

    duplicates.duplicate_suggestions_refresh()

    evidence = pair(a, b).evidence
    assert evidence["name_folded"] == "jose nunez"
    assert evidence["shared_coauthors"] == 1
    assert evidence["coauthor_examples"] == [{"id": coauthor.pk, "name": "Mira Coauthor"}]
    assert evidence["orcid"] == ""


def test_the_same_name_at_a_shared_institution_is_suggested() -> None:
    place = InstitutionFactory(display_name="Uni Example")
    a = AuthorFactory(display_name="Lee Chen", last_known_institution=place)
    b = AuthorFactory(display_name="Lee Chen")
    AuthorAffiliation.objects.create(author=b, institution=place, years=[2019])

    duplicates.duplicate_suggestions_refresh()

    evidence = pair(a, b).evidence
    assert evidence["shared_institutions"] == 1
    assert evidence["institution_examples"] == [{"id": place.pk, "name": "Uni Example"}]


def test_the_same_name_without_any_overlap_is_not_suggested() -> None:
    a = AuthorFactory(display_name="Wei Wang")
    b = AuthorFactory(display_name="Wei Wang")
    coauthored(a, AuthorFactory(display_name="Someone Else"))
    coauthored(b, AuthorFactory(display_name="Another Person"))
    a.last_known_institution = InstitutionFactory()
    a.save()
    b.last_known_institution = InstitutionFactory()
    b.save()

    result = duplicates.duplicate_suggestions_refresh()

    assert result.found == 0
    assert not DuplicateSuggestion.objects.exists()


def test_a_disputed_authorship_is_no_overlap() -> None:
    a = AuthorFactory(display_name="Ann Lee")
    b = AuthorFactory(display_name="Ann Lee")
    coauthor = AuthorFactory()
    coauthored(a, coauthor)
    coauthored(b, coauthor)
    Authorship.objects.filter(author=b).update(status=Authorship.Status.DISPUTED)

    assert duplicates.duplicate_suggestions_refresh().found == 0


def test_a_merged_record_is_not_suggested_again() -> None:
    a = AuthorFactory(display_name="Ann Lee")
    survivor = AuthorFactory(display_name="Ann Lee")
    coauthor = AuthorFactory()
    coauthored(a, coauthor)
    coauthored(survivor, coauthor)
    a.merged_into = survivor
    a.save()

    assert duplicates.duplicate_suggestions_refresh().found == 0


def test_a_refresh_keeps_dismissed_ones_dismissed_and_drops_stale_open_ones() -> None:
    a, b = AuthorFactory(display_name="Ann Lee"), AuthorFactory(display_name="Ann Lee")
    c, d = AuthorFactory(display_name="Bo Li"), AuthorFactory(display_name="Bo Li")
    coauthor = AuthorFactory()
    for author in (a, b, c, d):
        coauthored(author, coauthor)
    duplicates.duplicate_suggestions_refresh()
    staff = make_user(staff=True)
    assert duplicates.duplicate_dismiss(suggestion=pair(a, b), staff=staff, note="Two people")
    # A new shared co-author changes the evidence of both pairs.
    other = AuthorFactory()
    for author in (a, b, c, d):
        coauthored(author, other)

    again = duplicates.duplicate_suggestions_refresh()

    dismissed = pair(a, b)
    assert dismissed.state == "dismissed"
    assert dismissed.evidence["shared_coauthors"] == 1  # as staff saw it when they decided
    assert (dismissed.decided_by, dismissed.decision_note) == (staff, "Two people")
    assert pair(c, d).evidence["shared_coauthors"] == 2
    assert (again.created, again.updated) == (0, 1)

    # c and d no longer share anyone: the open suggestion goes, the dismissed one stays.
    Authorship.objects.filter(author__in=(c, d)).delete()
    assert duplicates.duplicate_suggestions_refresh().removed == 1
    assert not DuplicateSuggestion.objects.filter(author_low=min(c.pk, d.pk)).exists()
    assert pair(a, b).state == "dismissed"


def test_dismissing_twice_changes_once() -> None:
    a, b = AuthorFactory(display_name="Ann Lee"), AuthorFactory(display_name="Ann Lee")
    coauthored(a, coauthor := AuthorFactory())
    coauthored(b, coauthor)
    duplicates.duplicate_suggestions_refresh()
    first, second = make_user(staff=True), make_user(staff=True)

    assert duplicates.duplicate_dismiss(suggestion=pair(a, b), staff=first, note="one")
    assert not duplicates.duplicate_dismiss(suggestion=pair(a, b), staff=second, note="two")
    assert (pair(a, b).decided_by, pair(a, b).decision_note) == (first, "one")


def test_the_beat_runs_the_finder_daily(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["duplicate-suggestions"]
    assert entry == {
        "task": "profiles.tasks.duplicate_suggestions_refresh_task",
        "schedule": 86400.0,
    }


def test_the_command_and_the_task_refresh(capsys) -> None:
    from django.core.management import call_command

    from profiles.tasks import duplicate_suggestions_refresh_task

    a, b = AuthorFactory(display_name="Ann Lee"), AuthorFactory(display_name="Ann Lee")
    coauthored(a, coauthor := AuthorFactory())
    coauthored(b, coauthor)
    call_command("find_duplicate_records")
    assert "1 likely duplicate pairs: 1 new" in capsys.readouterr().out
    assert duplicate_suggestions_refresh_task() == {
        "found": 1,
        "created": 0,
        "updated": 0,
        "removed": 0,
    }


# The staff queue


@pytest.fixture
def found_pair():
    a = AuthorFactory(display_name="Ann Lee", orcid="0000-0002-1825-0097")
    b = AuthorFactory(display_name="Ann Lee", external_ids={"orcid": "0000-0002-1825-0097"})
    coauthored(a, coauthor := AuthorFactory(display_name="Mira Coauthor"), year=2011)
    coauthored(b, coauthor, year=2019)
    duplicates.duplicate_suggestions_refresh()
    return a, b, pair(a, b)


def test_staff_see_both_records_side_by_side(staff_client, found_pair) -> None:
    a, b, suggestion = found_pair
    owner = make_user("owner@example.org")
    Claim.objects.create(author=a, claimant=owner, state=Claim.State.APPROVED)

    response = staff_client.get(reverse("profiles:staff_merges"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Suggestion {suggestion.pk}" in page
    assert "Same ORCID" in page and "0000-0002-1825-0097" in page
    assert "kept aside by an import" in page  # b's iD lives in external_ids
    assert a.openalex_id in page and b.openalex_id in page
    assert "2011" in page and "2019" in page
    assert "Mira Coauthor" in page
    assert "owner@example.org" in page


def test_the_queue_query_count_does_not_grow_with_its_length(
    staff_client, found_pair, django_assert_num_queries
) -> None:
    for i in range(5):
        x, y = AuthorFactory(display_name=f"Pat {i}"), AuthorFactory(display_name=f"Pat {i}")
        coauthored(x, coauthor := AuthorFactory())
        coauthored(y, coauthor)
    duplicates.duplicate_suggestions_refresh()
    # Session with its user, its authenticator (the staff check), the page of
    # suggestions, the records' facts in four (records, works, affiliations, claims),
    # the owners' open split requests (profiles.record_operations) and the header's
    # inbox count: the same for one row or a full page.
    with django_assert_num_queries(9):
        response = staff_client.get(reverse("profiles:staff_merges"))
    assert response.content.decode().count("Review suggestion") == 6


def test_the_queue_pages_by_keyset_strongest_first(staff_client, found_pair, monkeypatch) -> None:
    _, _, strongest = found_pair
    monkeypatch.setattr(duplicates, "QUEUE_PAGE_SIZE", 1)
    x, y = AuthorFactory(display_name="Pat Weak"), AuthorFactory(display_name="Pat Weak")
    coauthored(x, coauthor := AuthorFactory())
    coauthored(y, coauthor)
    duplicates.duplicate_suggestions_refresh()
    weak = pair(x, y)

    first = staff_client.get(reverse("profiles:staff_merges")).content.decode()
    assert f"Suggestion {strongest.pk}" in first and f"Suggestion {weak.pk}" not in first
    assert f"after={strongest.strength}.{strongest.pk}" in first
    second = staff_client.get(
        reverse("profiles:staff_merges"), {"after": f"{strongest.strength}.{strongest.pk}"}
    ).content.decode()
    assert f"Suggestion {weak.pk}" in second and f"Suggestion {strongest.pk}" not in second


@pytest.mark.parametrize(
    "query", [{"after": "x"}, {"after": "1.2.3"}, {"after": "9" * 40}, {"state": "nope"}]
)
def test_a_bad_queue_parameter_is_a_400(staff_client, query) -> None:
    response = staff_client.get(reverse("profiles:staff_merges"), query)
    assert response.status_code == 400


def test_staff_dismiss_with_a_note_and_it_is_recorded(staff_client, found_pair) -> None:
    _, _, suggestion = found_pair
    url = reverse("profiles:staff_merge_dismiss", args=[suggestion.pk])

    missing = staff_client.post(url, {"note": ""})
    assert missing.status_code == 400
    assert "Say why" in missing.content.decode()
    suggestion.refresh_from_db()
    assert suggestion.state == "open"

    response = staff_client.post(url, {"note": "Different fields"}, follow=True)
    assert response.status_code == 200
    suggestion.refresh_from_db()
    assert suggestion.state == "dismissed"
    assert suggestion.decided_by == staff_client.reviewer
    assert suggestion.decided_at is not None
    assert suggestion.decision_note == "Different fields"
    assert "reviewer@bzpeer.example" in response.content.decode()
    assert "Dismiss</button>" not in response.content.decode()


def test_an_unknown_suggestion_is_a_404_for_staff(staff_client) -> None:
    assert (
        staff_client.get(reverse("profiles:staff_merge_detail", args=[999999])).status_code == 404
    )


@pytest.mark.parametrize("staff_user", [False, True])
def test_everyone_but_staff_with_a_second_factor_is_refused(client, found_pair, staff_user) -> None:
    _, _, suggestion = found_pair
    user = make_user(staff=staff_user)
    client.force_login(user)  # no second factor in this session
    for url in (
        reverse("profiles:staff_merges"),
        reverse("profiles:staff_merge_detail", args=[suggestion.pk]),
    ):
        response = client.get(url)
        # Staff without a second factor get the page saying how to add one.
        assert response.status_code == (403 if staff_user else 404)
        assert "Ann Lee" not in response.content.decode()
    response = client.post(
        reverse("profiles:staff_merge_dismiss", args=[suggestion.pk]), {"note": "x"}
    )
    suggestion.refresh_from_db()
    assert suggestion.state == "open"


# The owner's request


def _request(client, author, other, reason="Same person: my old affiliation"):
    return client.post(
        reverse("profiles:duplicate_request", args=[author.pk]), {"other": other, "reason": reason}
    )


def test_the_owner_requests_a_merge_by_the_other_records_url(client) -> None:
    owner, author = owned_record("Rosa Owner")
    other = AuthorFactory(display_name="R. Owner")
    client.force_login(owner)

    response = _request(client, author, f"https://bzpeer.example/researchers/{other.pk}/")

    assert response.status_code == 302
    suggestion = pair(author, other)
    assert suggestion.kind == "requested" and suggestion.state == "open"
    assert suggestion.requested_by == owner
    assert suggestion.request_reason == "Same person: my old affiliation"
    assert suggestion.staff_note == ""


def test_a_request_reopens_a_pair_staff_dismissed_as_the_owners_word(client) -> None:
    owner, author = owned_record("Ann Lee")
    other = AuthorFactory(display_name="Ann Lee")
    coauthored(author, coauthor := AuthorFactory())
    coauthored(other, coauthor)
    duplicates.duplicate_suggestions_refresh()
    duplicates.duplicate_dismiss(
        suggestion=pair(author, other), staff=make_user(staff=True), note="no"
    )
    client.force_login(owner)

    assert _request(client, author, str(other.pk)).status_code == 302
    suggestion = pair(author, other)
    assert (suggestion.kind, suggestion.state) == ("requested", "open")
    assert suggestion.evidence["shared_coauthors"] == 1


def test_a_record_claimed_by_someone_else_goes_to_staff_with_a_note(client) -> None:
    owner, author = owned_record("Rosa Owner")
    _, theirs = owned_record("Rosa Other")
    client.force_login(owner)

    response = _request(client, author, str(theirs.pk))

    assert response.status_code == 302
    assert pair(author, theirs).staff_note == f"Record {theirs.pk} is claimed by another person."
    followed = client.get(response.url)
    assert "went to staff with a note" in followed.content.decode()


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ("self", "That is this record"),
        ("999999", "There is no researcher record 999999"),
        ("merged", "was already merged into record"),
        ("https://example.org/about/", "Give a researcher page"),
        ("", "Give the other record"),
    ],
)
def test_a_bad_request_is_refused_with_a_reason_and_writes_nothing(client, other, message) -> None:
    owner, author = owned_record("Rosa Owner")
    if other == "self":
        other = str(author.pk)
    elif other == "merged":
        other = str(AuthorFactory(merged_into=AuthorFactory()).pk)
    client.force_login(owner)

    response = _request(client, author, other)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DuplicateSuggestion.objects.exists()


def test_asking_twice_is_refused_the_second_time(client) -> None:
    owner, author = owned_record("Rosa Owner")
    other = AuthorFactory()
    client.force_login(owner)
    assert _request(client, author, str(other.pk)).status_code == 302
    again = _request(client, author, str(other.pk))
    assert again.status_code == 400
    assert "asked about these two records already" in again.content.decode()


def test_requests_are_rate_limited_like_claims(client, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "duplicate_request": "1/h/user"}
    owner, author = owned_record("Rosa Owner")
    client.force_login(owner)
    assert _request(client, author, str(AuthorFactory().pk)).status_code == 302
    response = _request(client, author, str(AuthorFactory().pk))
    assert response.status_code == 429
    assert DuplicateSuggestion.objects.count() == 1


def test_only_the_owner_may_request(client) -> None:
    _, author = owned_record("Rosa Owner")
    client.force_login(make_user())
    assert _request(client, author, str(AuthorFactory().pk)).status_code == 404
    assert not DuplicateSuggestion.objects.exists()


def test_the_owner_finds_the_request_among_their_tools(client) -> None:
    owner, author = owned_record("Rosa Owner")
    client.force_login(owner)
    page = client.get(reverse("profiles:profile_edit", args=[author.pk])).content.decode()
    assert "These records are also me" in page
    assert reverse("profiles:duplicate_request", args=[author.pk]) in page
    form = client.get(reverse("profiles:duplicate_request", args=[author.pk]))
    assert form.status_code == 200
    assert "The other record (its address or id)" in form.content.decode()
