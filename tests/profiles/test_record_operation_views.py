"""The staff pages of merges, splits and their undo, and the owner's split request page."""

import pytest
from django.test import Client
from django.urls import reverse

from profiles import record_operations as ops
from profiles.models import Claim, DuplicateSuggestion, Follow, RecordOperation, SplitRequest
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user, owned_record
from works.models import Author, Authorship

pytestmark = pytest.mark.django_db


@pytest.fixture
def suggested():
    a, b = AuthorFactory(display_name="Ann Lee"), AuthorFactory(display_name="Ann Lee")
    AuthorshipFactory(author=a, work=WorkFactory(title="Early paper"))
    AuthorshipFactory(author=b, work=WorkFactory(title="Late paper"))
    suggestion = DuplicateSuggestion.objects.create(
        author_low_id=min(a.pk, b.pk), author_high_id=max(a.pk, b.pk), strength=10
    )
    return a, b, suggestion


def _merge(client, suggestion, **data):
    return client.post(reverse("profiles:staff_merge_do", args=[suggestion.pk]), data)


def test_staff_merge_from_the_suggestion_page(staff_client, suggested) -> None:
    a, b, suggestion = suggested
    page = staff_client.get(reverse("profiles:staff_merge_detail", args=[suggestion.pk]))
    assert "Merge</button>" in page.content.decode()

    response = _merge(staff_client, suggestion, survivor=a.pk, note="Same ORCID")

    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.state == "merged" and suggestion.decided_by == staff_client.reviewer
    assert Author.objects.get(pk=b.pk).merged_into_id == a.pk
    followed = staff_client.get(response["Location"]).content.decode()
    assert f"Record {b.pk} merged into record {a.pk}" in followed
    assert "Merge</button>" not in followed
    detail = staff_client.get(reverse("profiles:researcher_detail", args=[b.pk]))
    assert detail.status_code == 301
    # Undoable: a browser must ask again rather than keep the redirect.
    assert "no-cache" in detail["Cache-Control"] and "max-age=0" in detail["Cache-Control"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the record that stays."),
        ({"survivor": "x"}, "Choose one of the two records to stay."),
        ({"survivor": "99999999"}, "Choose one of the two records to stay."),
    ],
)
def test_a_merge_without_a_survivor_of_the_pair_is_a_400(
    staff_client, suggested, data, message
) -> None:
    _a, _b, suggestion = suggested
    response = _merge(staff_client, suggestion, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Author.objects.filter(merged_into__isnull=False).exists()


def test_a_refused_merge_says_why_on_the_page(staff_client, suggested) -> None:
    a, b, suggestion = suggested
    Claim.objects.create(author=a, claimant=make_user(), state=Claim.State.APPROVED)
    Claim.objects.create(author=b, claimant=make_user(), state=Claim.State.APPROVED)
    response = _merge(staff_client, suggestion, survivor=a.pk)
    assert response.status_code == 400
    assert "two different people" in response.content.decode()
    suggestion.refresh_from_db()
    assert suggestion.state == "open"


def test_merging_a_decided_suggestion_again_is_refused(staff_client, suggested) -> None:
    a, _, suggestion = suggested
    _merge(staff_client, suggestion, survivor=a.pk)
    again = _merge(staff_client, suggestion, survivor=a.pk)
    assert again.status_code == 400
    assert RecordOperation.objects.count() == 1


def test_the_operations_page_lists_newest_first_and_undoes(
    staff_client, suggested, django_assert_num_queries
) -> None:
    a, b, suggestion = suggested
    _merge(staff_client, suggestion, survivor=a.pk)
    work = Authorship.objects.filter(author=a).first().work_id
    ops.record_split(staff=staff_client.reviewer, author_id=a.pk, work_ids=[work])
    merge, split = RecordOperation.objects.order_by("pk")
    url = reverse("profiles:staff_operations")
    # Session with its user, its authenticator (the staff check), the page of
    # operations with their records and accounts, and the header's inbox count.
    with django_assert_num_queries(4):
        page = staff_client.get(url).content.decode()
    assert page.index(f"Operation {split.pk}") < page.index(f"Operation {merge.pk}")

    refused = staff_client.post(reverse("profiles:staff_operation_undo", args=[merge.pk]))
    assert refused.status_code == 409
    assert f"split {split.pk}" in refused.content.decode()

    for operation in (split, merge):
        done = staff_client.post(reverse("profiles:staff_operation_undo", args=[operation.pk]))
        assert done.status_code == 302
    page = staff_client.get(url).content.decode()
    assert page.count('state-badge--withdrawn">Undone') == 2 and "Undo operation" not in page
    assert staff_client.get(reverse("profiles:researcher_detail", args=[b.pk])).status_code == 200

    twice = staff_client.post(reverse("profiles:staff_operation_undo", args=[merge.pk]))
    assert twice.status_code == 409
    assert "already undone" in twice.content.decode()


def test_the_operations_page_query_count_does_not_grow(
    staff_client, django_assert_num_queries
) -> None:
    for _ in range(6):
        a, b = AuthorFactory(), AuthorFactory()
        ops.record_merge(staff=staff_client.reviewer, source_id=a.pk, target_id=b.pk)
    with django_assert_num_queries(4):
        page = staff_client.get(reverse("profiles:staff_operations")).content.decode()
    assert page.count("Undo operation") == 6


@pytest.mark.parametrize("before", ["x", "-1", "9" * 40])
def test_a_bad_operations_page_parameter_is_a_400(staff_client, before) -> None:
    response = staff_client.get(reverse("profiles:staff_operations"), {"before": before})
    assert response.status_code == 400


def test_undo_of_an_unknown_operation_is_a_404(staff_client) -> None:
    assert (
        staff_client.post(reverse("profiles:staff_operation_undo", args=[999999])).status_code
        == 404
    )


# Split


@pytest.fixture
def mixed_record():
    author = AuthorFactory(display_name="J. Smith")
    works = [WorkFactory(title=f"Paper {i}") for i in range(3)]
    for work in works:
        AuthorshipFactory(author=author, work=work)
    return author, works


def test_staff_split_works_to_a_new_record(staff_client, mixed_record) -> None:
    author, works = mixed_record
    url = reverse("profiles:staff_split", args=[author.pk])
    page = staff_client.get(url).content.decode()
    assert all(w.title in page for w in works)

    response = staff_client.post(
        url, {"works": [works[1].pk, works[2].pk], "destination": "new", "note": "Two people"}
    )

    assert response.status_code == 302
    operation = RecordOperation.objects.get()
    assert operation.kind == "split" and operation.note == "Two people"
    assert set(
        Authorship.objects.filter(author=operation.target).values_list("work_id", flat=True)
    ) == {works[1].pk, works[2].pk}


def test_staff_split_works_to_an_existing_record_by_its_address(staff_client, mixed_record) -> None:
    author, works = mixed_record
    other = AuthorFactory()
    response = staff_client.post(
        reverse("profiles:staff_split", args=[author.pk]),
        {
            "works": [works[0].pk],
            "destination": "existing",
            "target": f"https://bzpeer.example/researchers/{other.pk}/",
        },
    )
    assert response.status_code == 302
    assert Authorship.objects.get(author=other).work_id == works[0].pk


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"destination": "new"}, "Choose at least one work to move."),
        ({"works": ["x"], "destination": "new"}, "Work x is not on this record."),
        ({"works": ["123456789"], "destination": "new"}, "Work 123456789 is not on this record."),
        ({"works": ["WORK"], "destination": "existing"}, "Give the existing record"),
        ({"works": ["WORK"], "destination": "existing", "target": "abc"}, "researcher page"),
        ({"works": ["WORK"], "destination": "existing", "target": "99999999"}, "no researcher"),
        ({"works": ["WORK"], "destination": "sideways"}, "Select a valid choice"),
    ],
)
def test_a_bad_split_is_a_400_with_a_message(staff_client, mixed_record, data, message) -> None:
    author, works = mixed_record
    data = {
        k: ([str(works[0].pk) if v == "WORK" else v for v in value] if k == "works" else value)
        for k, value in data.items()
    }
    response = staff_client.post(reverse("profiles:staff_split", args=[author.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RecordOperation.objects.exists()


def test_the_split_page_of_an_unknown_record_is_a_404(staff_client) -> None:
    assert staff_client.get(reverse("profiles:staff_split", args=[99999999])).status_code == 404


def test_the_split_page_query_count_does_not_grow_with_the_works(
    staff_client, mixed_record, django_assert_num_queries
) -> None:
    author, _ = mixed_record
    for _ in range(10):
        AuthorshipFactory(author=author, work=WorkFactory())
    # Session with its user, authenticator, the record, its works (with their
    # venues), and the header's inbox count.
    with django_assert_num_queries(5):
        response = staff_client.get(reverse("profiles:staff_split", args=[author.pk]))
    assert response.content.decode().count('name="works"') == 13


# Staff only


@pytest.mark.parametrize("who", ["anonymous", "signed_in", "staff_without_code"])
def test_the_new_staff_pages_are_staff_only(client, suggested, mixed_record, who) -> None:
    a, _b, suggestion = suggested
    author, works = mixed_record
    operation = ops.record_split(
        staff=make_user(staff=True), author_id=author.pk, work_ids=[works[0].pk]
    )
    if who != "anonymous":
        client.force_login(make_user(staff=who == "staff_without_code"))
    status = {"anonymous": 404, "signed_in": 404, "staff_without_code": 403}[who]
    for url in (
        reverse("profiles:staff_operations"),
        reverse("profiles:staff_split", args=[author.pk]),
    ):
        assert client.get(url).status_code == status
    for url, data in (
        (reverse("profiles:staff_merge_do", args=[suggestion.pk]), {"survivor": a.pk}),
        (reverse("profiles:staff_operation_undo", args=[operation.pk]), {}),
        (
            reverse("profiles:staff_split", args=[author.pk]),
            {"works": [works[1].pk], "destination": "new"},
        ),
    ):
        assert client.post(url, data).status_code == status
    assert RecordOperation.objects.count() == 1
    assert RecordOperation.objects.get().undone_at is None
    assert not Author.objects.filter(merged_into__isnull=False).exists()


def test_a_merge_needs_the_csrf_token(suggested) -> None:
    a, _, suggestion = suggested
    client = Client(enforce_csrf_checks=True)
    force_login_with_totp(client, make_user(staff=True))
    response = _merge(client, suggestion, survivor=a.pk)
    assert response.status_code == 403
    assert not Author.objects.filter(merged_into__isnull=False).exists()


# The owner's split request


def test_the_owner_requests_a_split_and_it_reaches_the_staff_queue(staff_client) -> None:
    client = Client()
    owner, author = owned_record("J. Smith")
    works = [WorkFactory(title=f"Paper of {who}") for who in ("mine", "Jane's")]
    for work in works:
        AuthorshipFactory(author=author, work=work)
    client.force_login(owner)
    url = reverse("profiles:split_request", args=[author.pk])
    assert "Paper of Jane" in client.get(url).content.decode()

    empty = client.post(url, {"reason": "x"})
    assert empty.status_code == 400
    assert "Tick the works" in empty.content.decode()
    response = client.post(url, {"works": [works[1].pk], "reason": "Jane Smith's paper"})
    assert response.status_code == 302

    split_request = SplitRequest.objects.get()
    queue = staff_client.get(reverse("profiles:staff_merges")).content.decode()
    assert f"Split request {split_request.pk}" in queue and "Jane Smith&#x27;s paper" in queue
    split_page = staff_client.get(
        reverse("profiles:staff_split", args=[author.pk]), {"request": split_request.pk}
    ).content.decode()
    assert f'value="{works[1].pk}" checked' in split_page
    assert f'value="{works[0].pk}" checked' not in split_page

    done = staff_client.post(
        reverse("profiles:staff_split", args=[author.pk]),
        {"works": [works[1].pk], "destination": "new", "request": split_request.pk},
    )
    assert done.status_code == 302
    split_request.refresh_from_db()
    assert split_request.state == "done"
    assert (
        f"Split request {split_request.pk}"
        not in staff_client.get(reverse("profiles:staff_merges")).content.decode()
    )


def test_staff_dismiss_a_split_request(staff_client) -> None:
    owner, author = owned_record()
    work = WorkFactory()
    AuthorshipFactory(author=author, work=work)
    split_request = ops.split_request_submit(
        user=owner, author=author, work_ids=[work.pk], reason="x"
    )
    url = reverse("profiles:staff_split_request_dismiss", args=[split_request.pk])
    assert staff_client.post(url).status_code == 302
    split_request.refresh_from_db()
    assert split_request.state == "dismissed"


def test_only_the_owner_reaches_the_split_request_page(client, mixed_record) -> None:
    author, works = mixed_record
    client.force_login(make_user())
    url = reverse("profiles:split_request", args=[author.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"works": [works[0].pk], "reason": "x"}).status_code == 404
    assert not SplitRequest.objects.exists()


def test_followers_of_either_record_hear_of_the_merge_once(client, mixed_record) -> None:
    survivor, _ = mixed_record
    merged = AuthorFactory(display_name="J. Smith")
    for _ in range(3):
        AuthorshipFactory(author=merged, work=WorkFactory())
    follower = make_user()
    Follow.objects.create(user=follower, author=merged)
    ops.record_merge(staff=make_user(staff=True), source_id=merged.pk, target_id=survivor.pk)

    client.force_login(follower)
    feed = client.get(reverse("profiles:following")).content.decode()

    assert feed.count("works of a duplicate record merged in") == 1


def test_anonymous_cached_pages_are_retired_by_a_merge_and_its_undo(client) -> None:
    survivor, merged = AuthorFactory(), AuthorFactory()
    AuthorshipFactory(author=survivor, work=WorkFactory(title="Kept paper"))
    AuthorshipFactory(author=merged, work=WorkFactory(title="Merged-in paper"))
    coauthor = AuthorFactory(display_name="Cora Coauthor")
    AuthorshipFactory(author=coauthor, work=merged.authorships.get().work, position=1)
    survivor_url = reverse("profiles:researcher_detail", args=[survivor.pk])
    merged_url = reverse("profiles:researcher_detail", args=[merged.pk])
    coauthor_url = reverse("profiles:coauthors", args=[coauthor.pk])
    for url in (survivor_url, merged_url, coauthor_url):
        client.get(url)  # now in the anonymous page cache

    operation = ops.record_merge(
        staff=make_user(staff=True), source_id=merged.pk, target_id=survivor.pk
    )

    assert "Merged-in paper" in client.get(survivor_url).content.decode()
    assert client.get(merged_url).status_code == 301
    # The co-author's page names the record their work is on now.
    assert survivor_url in client.get(coauthor_url).content.decode()

    ops.record_operation_undo(staff=make_user(staff=True), operation_id=operation.pk)

    assert "Merged-in paper" not in client.get(survivor_url).content.decode()
    assert "Merged-in paper" in client.get(merged_url).content.decode()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("profiles:staff_split", "get"),
        ("profiles:staff_operation_undo", "post"),
        ("profiles:staff_merge_do", "post"),
        ("profiles:staff_split_request_dismiss", "post"),
    ],
)
def test_an_id_beyond_any_row_is_a_404_not_a_500(staff_client, name, method) -> None:
    url = reverse(name, args=[10**30])
    assert getattr(staff_client, method)(url).status_code == 404
