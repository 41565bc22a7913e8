"""Staff merges and splits of author records, their exact undo, and the owner's split request."""

import pytest
from django.urls import reverse

from graph import services as graph_services
from graph.models import GraphSlice
from profiles import record_operations as ops
from profiles.models import (
    AuthorEvent,
    Claim,
    DuplicateSuggestion,
    Follow,
    ProfileSettings,
    RecordOperation,
    SplitRequest,
)
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.profiles.conftest import make_user, owned_record
from works.models import Author, AuthorMetrics, Authorship

pytestmark = pytest.mark.django_db


def snapshot(*authors):
    """Everything a merge or split may move, as plain values, for 'exactly as before'."""
    ids = [a.pk for a in authors]
    return {
        "authorships": sorted(
            Authorship.objects.filter(author_id__in=ids).values_list(
                "id",
                "work_id",
                "author_id",
                "position",
                "raw_author_name",
                "origin",
                "status",
                "status_changed_by_id",
                "status_changed_at",
            )
        ),
        "institutions": sorted(
            Authorship.institutions.through.objects.filter(
                authorship__author_id__in=ids
            ).values_list("authorship_id", "institution_id")
        ),
        "follows": sorted(
            Follow.objects.filter(author_id__in=ids).values_list(
                "user_id", "author_id", "kinds", "delivery"
            )
        ),
        "claims": sorted(
            Claim.objects.filter(author_id__in=ids).values_list("id", "author_id", "state")
        ),
        "settings": sorted(
            ProfileSettings.objects.filter(author_id__in=ids).values_list("author_id", "summary")
        ),
        "merged_into": sorted(
            Author.objects.filter(pk__in=ids).values_list("pk", "merged_into_id")
        ),
    }


@pytest.fixture
def reviewer():
    return make_user("reviewer@bzpeer.example", staff=True)


@pytest.fixture
def two_records():
    """One person under two records: a work each, one work on both, followers, a claim."""
    keep = AuthorFactory(display_name="Ann Lee")
    gone = AuthorFactory(display_name="Ann Lee")
    coauthor = AuthorFactory(display_name="Mira Coauthor")
    only_gone = WorkFactory(title="Only on the second", publication_year=2019, cited_by_count=30)
    only_keep = WorkFactory(title="Only on the first", publication_year=2011, cited_by_count=12)
    both = WorkFactory(title="On both", publication_year=2015, cited_by_count=5)
    AuthorshipFactory(author=keep, work=only_keep, position=0)
    AuthorshipFactory(author=keep, work=both, position=0)
    moved = AuthorshipFactory(author=gone, work=only_gone, position=0)
    dup = AuthorshipFactory(author=gone, work=both, position=1, raw_author_name="A. Lee")
    dup.institutions.add(InstitutionFactory())
    AuthorshipFactory(author=coauthor, work=only_gone, position=1)
    fan, both_fan = make_user(), make_user()
    Follow.objects.create(user=fan, author=gone)
    Follow.objects.create(user=both_fan, author=gone, delivery="weekly")
    Follow.objects.create(user=both_fan, author=keep)
    return keep, gone, {"moved": moved, "dup": dup, "fan": fan, "both_fan": both_fan}


# Merge


def test_merge_moves_works_follows_claims_and_settings_and_redirects(
    client, reviewer, two_records
) -> None:
    keep, gone, x = two_records
    owner = make_user()
    claim = Claim.objects.create(author=gone, claimant=owner, state=Claim.State.APPROVED)
    ProfileSettings.objects.create(author=gone, summary="Ann's own words")

    operation = ops.record_merge(staff=reviewer, source_id=gone.pk, target_id=keep.pk)

    gone.refresh_from_db()
    assert gone.merged_into_id == keep.pk
    # The work only the merged record had is the survivor's, the same row.
    x["moved"].refresh_from_db()
    assert x["moved"].author_id == keep.pk
    # The work both were on keeps one authorship, the survivor's.
    assert (
        Authorship.objects.filter(work=x["dup"].work).filter(author__in=[keep, gone]).count() == 1
    )
    assert not Authorship.objects.filter(pk=x["dup"].pk).exists()
    assert Authorship.objects.filter(author=gone).count() == 0
    # Follows: one each, whoever followed both.
    assert sorted(Follow.objects.filter(author=keep).values_list("user_id", flat=True)) == sorted(
        [x["fan"].pk, x["both_fan"].pk]
    )
    claim.refresh_from_db()
    assert claim.author_id == keep.pk
    assert ProfileSettings.objects.get(author=keep).summary == "Ann's own words"
    # Metrics count the merged record's works on the survivor.
    metrics = AuthorMetrics.objects.get(author=keep)
    assert (metrics.works, metrics.citations) == (3, 47)
    # Followers hear once, not once per work.
    events = AuthorEvent.objects.filter(author=keep)
    assert [(e.kind, e.detail["fields"]) for e in events] == [
        ("profile_updated", ["merged_record"])
    ]
    assert operation.kind == "merge" and operation.actor == reviewer
    assert client.get(reverse("profiles:researcher_detail", args=[gone.pk])).status_code == 301


def test_merge_refuses_a_record_into_itself(reviewer) -> None:
    a = AuthorFactory()
    with pytest.raises(ops.RecordOperationError, match="into itself"):
        ops.record_merge(staff=reviewer, source_id=a.pk, target_id=a.pk)


def test_merge_refuses_a_merged_record_on_either_side(reviewer) -> None:
    a, b, c = AuthorFactory(), AuthorFactory(), AuthorFactory()
    ops.record_merge(staff=reviewer, source_id=b.pk, target_id=c.pk)
    with pytest.raises(ops.RecordOperationError, match=f"itself merged into record {c.pk}"):
        ops.record_merge(staff=reviewer, source_id=a.pk, target_id=b.pk)
    with pytest.raises(ops.RecordOperationError, match="already merged"):
        ops.record_merge(staff=reviewer, source_id=b.pk, target_id=a.pk)
    assert Author.objects.get(pk=a.pk).merged_into_id is None


def test_merge_refuses_two_records_claimed_by_two_people(reviewer) -> None:
    _, a = owned_record("Ann Lee")
    _, b = owned_record("Ann Lee")
    work = WorkFactory()
    AuthorshipFactory(author=b, work=work)
    before = snapshot(a, b)
    with pytest.raises(ops.RecordOperationError, match="two different people"):
        ops.record_merge(staff=reviewer, source_id=b.pk, target_id=a.pk)
    assert snapshot(a, b) == before
    assert not RecordOperation.objects.exists()


def test_merge_of_two_records_claimed_by_one_person_keeps_one_approved_claim(reviewer) -> None:
    owner, a = owned_record("Ann Lee")
    b = AuthorFactory(display_name="Ann Lee")
    Claim.objects.create(author=b, claimant=owner, state=Claim.State.APPROVED)

    ops.record_merge(staff=reviewer, source_id=b.pk, target_id=a.pk)

    assert Claim.objects.filter(author=a, state="approved").count() == 1
    assert Claim.objects.filter(author=b, state="approved").count() == 1  # stays behind


def test_merge_refuses_an_unknown_record(reviewer) -> None:
    a = AuthorFactory()
    with pytest.raises(ops.RecordOperationError, match="no researcher record 99999999"):
        ops.record_merge(staff=reviewer, source_id=99999999, target_id=a.pk)


# Undo


def test_undo_of_a_merge_restores_exactly(reviewer, two_records) -> None:
    keep, gone, _ = two_records
    Claim.objects.create(author=gone, claimant=make_user(), state=Claim.State.PENDING)
    ProfileSettings.objects.create(author=gone, summary="Mine")
    before = snapshot(keep, gone)
    operation = ops.record_merge(staff=reviewer, source_id=gone.pk, target_id=keep.pk)
    assert snapshot(keep, gone) != before

    undone = ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)

    assert snapshot(keep, gone) == before
    assert undone.undone_at is not None and undone.undone_by == reviewer
    assert not AuthorEvent.objects.filter(author=keep).exists()
    assert AuthorMetrics.objects.get(author=gone).works == 2
    with pytest.raises(ops.RecordOperationError, match="already undone"):
        ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)


def test_undo_reopens_the_suggestion_the_merge_settled(reviewer, two_records) -> None:
    keep, gone, _ = two_records
    low, high = sorted((keep.pk, gone.pk))
    suggestion = DuplicateSuggestion.objects.create(author_low_id=low, author_high_id=high)
    operation = ops.record_merge(
        staff=reviewer, source_id=gone.pk, target_id=keep.pk, suggestion=suggestion
    )
    suggestion.refresh_from_db()
    assert suggestion.state == "merged"
    ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)
    suggestion.refresh_from_db()
    assert suggestion.state == "open"


def test_undo_is_refused_when_a_moved_work_was_disputed_since(reviewer, two_records) -> None:
    keep, gone, x = two_records
    operation = ops.record_merge(staff=reviewer, source_id=gone.pk, target_id=keep.pk)
    Authorship.objects.filter(pk=x["moved"].pk).update(status=Authorship.Status.DISPUTED)
    after = snapshot(keep, gone)

    with pytest.raises(ops.RecordOperationError) as refused:
        ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)

    assert f"work {x['moved'].work_id} was since marked “disputed by the researcher”" in str(
        refused.value
    )
    assert snapshot(keep, gone) == after
    operation.refresh_from_db()
    assert operation.undone_at is None


def test_undo_is_refused_while_a_later_operation_on_the_records_stands(
    reviewer, two_records
) -> None:
    keep, gone, _ = two_records
    third = AuthorFactory(display_name="Ann Lee")
    first = ops.record_merge(staff=reviewer, source_id=gone.pk, target_id=keep.pk)
    later = ops.record_merge(staff=reviewer, source_id=keep.pk, target_id=third.pk)

    with pytest.raises(ops.RecordOperationError, match=f"merge {later.pk} .* came after it"):
        ops.record_operation_undo(staff=reviewer, operation_id=first.pk)

    ops.record_operation_undo(staff=reviewer, operation_id=later.pk)
    ops.record_operation_undo(staff=reviewer, operation_id=first.pk)
    assert Author.objects.filter(pk__in=[keep.pk, gone.pk], merged_into__isnull=True).count() == 2


# Split


@pytest.fixture
def mixed_record():
    """Two people under one name: three works, the last two another person's."""
    author = AuthorFactory(display_name="J. Smith")
    works = [WorkFactory(title=f"Work {i}", cited_by_count=10 * (i + 1)) for i in range(3)]
    for work in works:
        AuthorshipFactory(author=author, work=work, position=0)
    return author, works


def test_split_to_a_new_record_moves_the_chosen_works(reviewer, mixed_record) -> None:
    author, works = mixed_record
    operation = ops.record_split(
        staff=reviewer, author_id=author.pk, work_ids=[works[1].pk, works[2].pk]
    )
    new = operation.target
    assert new.display_name == "J. Smith" and new.openalex_id == "" and new.pk != author.pk
    assert not Claim.objects.filter(author=new).exists()
    assert set(Authorship.objects.filter(author=new).values_list("work_id", "status")) == {
        (works[1].pk, "confirmed"),
        (works[2].pk, "confirmed"),
    }
    # What stays behind on the first record is the dispute that keeps imports off.
    assert set(Authorship.objects.filter(author=author).values_list("work_id", "status")) == {
        (works[0].pk, "asserted"),
        (works[1].pk, "disputed"),
        (works[2].pk, "disputed"),
    }
    assert AuthorMetrics.objects.get(author=author).works == 1
    assert AuthorMetrics.objects.get(author=new).works == 2


def test_split_to_an_existing_record_and_its_undo_restore_exactly(reviewer, mixed_record) -> None:
    author, works = mixed_record
    other = AuthorFactory(display_name="Jane Smith")
    before = snapshot(author, other)
    operation = ops.record_split(
        staff=reviewer, author_id=author.pk, work_ids=[works[2].pk], target_id=other.pk
    )
    assert Authorship.objects.get(author=other).work_id == works[2].pk

    ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)

    assert snapshot(author, other) == before


def test_undo_of_a_split_to_a_new_record_sends_its_address_back(
    client, reviewer, mixed_record
) -> None:
    author, works = mixed_record
    before = snapshot(author)
    operation = ops.record_split(staff=reviewer, author_id=author.pk, work_ids=[works[0].pk])
    ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)
    assert snapshot(author) == before
    assert not Authorship.objects.filter(author=operation.target).exists()
    response = client.get(reverse("profiles:researcher_detail", args=[operation.target_id]))
    assert response.status_code == 301
    assert response["Location"] == reverse("profiles:researcher_detail", args=[author.pk])


def test_undo_of_a_split_is_refused_when_the_owner_took_the_work_back(
    reviewer, mixed_record
) -> None:
    author, works = mixed_record
    operation = ops.record_split(staff=reviewer, author_id=author.pk, work_ids=[works[0].pk])
    Authorship.objects.filter(author=author, work=works[0]).update(
        status=Authorship.Status.CONFIRMED
    )
    with pytest.raises(ops.RecordOperationError, match=f"work {works[0].pk} was since marked"):
        ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("none", "Choose at least one work"),
        ("not_on_record", "are not on record"),
        ("itself", "on that record already"),
        ("unknown_target", "no researcher record 99999999"),
        ("target_has_it", "is already on work"),
        ("merged_target", "was merged into record"),
    ],
)
def test_split_refuses_bad_input_and_writes_nothing(reviewer, mixed_record, case, message):
    author, works = mixed_record
    other = AuthorFactory()
    AuthorshipFactory(author=other, work=works[0], position=1)
    merged = AuthorFactory()
    Author.objects.filter(pk=merged.pk).update(merged_into=other)
    stray = WorkFactory()
    arguments = {
        "none": {"work_ids": []},
        "not_on_record": {"work_ids": [works[1].pk, stray.pk]},
        "itself": {"work_ids": [works[1].pk], "target_id": author.pk},
        "unknown_target": {"work_ids": [works[1].pk], "target_id": 99999999},
        "target_has_it": {"work_ids": [works[0].pk], "target_id": other.pk},
        "merged_target": {"work_ids": [works[1].pk], "target_id": merged.pk},
    }[case]
    before = snapshot(author, other)
    authors = Author.objects.count()
    with pytest.raises(ops.RecordOperationError, match=message):
        ops.record_split(staff=reviewer, author_id=author.pk, **arguments)
    assert snapshot(author, other) == before
    assert Author.objects.count() == authors
    assert not RecordOperation.objects.exists()


# The owner's split request


def test_an_owner_requests_a_split_and_staff_carry_it_out(reviewer) -> None:
    owner, author = owned_record("J. Smith")
    works = [WorkFactory() for _ in range(2)]
    for work in works:
        AuthorshipFactory(author=author, work=work)
    request = ops.split_request_submit(
        user=owner, author=author, work_ids=[works[1].pk], reason="Jane's paper"
    )
    with pytest.raises(ops.RecordOperationError, match="still with staff"):
        ops.split_request_submit(user=owner, author=author, work_ids=[works[0].pk], reason="x")

    operation = ops.record_split(
        staff=reviewer, author_id=author.pk, work_ids=request.work_ids, request=request
    )

    request.refresh_from_db()
    assert request.state == SplitRequest.State.DONE and request.operation == operation
    assert request.decided_by == reviewer


def test_only_the_owner_may_request_a_split() -> None:
    _, author = owned_record()
    work = WorkFactory()
    AuthorshipFactory(author=author, work=work)
    with pytest.raises(ops.RecordOperationError, match="Only the researcher"):
        ops.split_request_submit(user=make_user(), author=author, work_ids=[work.pk], reason="x")


def test_a_merge_rebuilds_the_graph_slices_once_it_commits(
    reviewer, two_records, django_capture_on_commit_callbacks
) -> None:
    keep, gone, x = two_records
    graph_services.slices_mark_queued(author_ids=[keep.pk])
    assert graph_services.slice_build(author_id=keep.pk) == "built"
    built = GraphSlice.objects.get(author=keep).input_hash

    with django_capture_on_commit_callbacks(execute=True):
        ops.record_merge(staff=reviewer, source_id=gone.pk, target_id=keep.pk)

    rebuilt = GraphSlice.objects.get(author=keep)
    assert rebuilt.status == "ready" and rebuilt.input_hash != built
    assert f"w:{x['moved'].work_id}" in str(rebuilt.data)


def test_claims_of_two_people_meeting_in_a_merge_are_contested_and_undo_clears_it(
    reviewer,
) -> None:
    keep, gone = AuthorFactory(), AuthorFactory()
    first = Claim.objects.create(author=keep, claimant=make_user(), state=Claim.State.PENDING)
    second = Claim.objects.create(author=gone, claimant=make_user(), state=Claim.State.PENDING)

    operation = ops.record_merge(staff=reviewer, source_id=gone.pk, target_id=keep.pk)
    assert set(Claim.objects.values_list("contested", flat=True)) == {True}

    ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)
    for claim in (first, second):
        claim.refresh_from_db()
        assert not claim.contested
    assert second.author_id == gone.pk
