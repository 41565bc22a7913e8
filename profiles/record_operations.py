"""Staff merges and splits of author records: each one audited operation with an exact undo.

What a merge or split moved is written down in `RecordOperation.moves`, and
the undo reads it back: it puts every row where it was, or refuses, naming
what a later decision changed since (a moved work disputed or moved again, a
record merged or split again).

Imports never undo these decisions (works.importers.upsert): an import naming
a merged record's OpenAlex id writes its works to the survivor, and a split
uses the mechanism that keeps a person's dispute: the record the work left
keeps a disputed authorship on it (which imports never change, and which
stops them adding the work to that record again), and the moved authorship is
confirmed by the staff member, so no import's to remove.
"""

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bzpeer import pagecache
from profiles.duplicates import duplicate_decide
from profiles.models import (
    AuthorEvent,
    Claim,
    DuplicateSuggestion,
    Follow,
    ProfileSettings,
    RecordOperation,
    SplitRequest,
)
from profiles.services import _refresh_contested, is_owner
from works import metrics
from works.models import Author, Authorship
from works.signals import authors_changed

# How many works one split may move: a staff form of checkboxes, never a bulk job.
SPLIT_WORKS_MAX = 2000

_AUTHORSHIP_FIELDS = (
    "id",
    "work_id",
    "position",
    "raw_author_name",
    "raw_affiliations",
    "is_corresponding",
    "origin",
    "status",
    "status_changed_by_id",
    "status_changed_at",
)


class RecordOperationError(Exception):
    """A merge, split or undo that cannot happen; the message is written for staff."""


def _lock_authors(author_ids: Iterable[int]) -> dict[int, Author]:
    """The records, locked in id order (two operations at once never deadlock)."""
    return {
        a.pk: a
        for a in Author.objects.select_for_update()
        .filter(pk__in=sorted(set(author_ids)))
        .order_by("pk")
    }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _announce(author_ids: Iterable[int], work_ids: Iterable[int]) -> None:
    """Metrics now (the page reads them), cached pages now and at commit, slices at commit.

    The co-authors of the moved works see the change too: their close
    collaborators and graph slices name the record the works are on.
    """
    ids = set(author_ids)
    metrics.author_metrics_refresh(author_ids=ids)
    shown_by = set(
        Authorship.objects.filter(work_id__in=list(set(work_ids))).values_list(
            "author_id", flat=True
        )
    )
    changed = sorted(ids | shown_by)
    pagecache.author_pages_changed(author_ids=changed)
    transaction.on_commit(lambda: authors_changed.send(sender=RecordOperation, author_ids=changed))


# Merge


@transaction.atomic
def record_merge(
    *,
    staff: AbstractBaseUser,
    source_id: int,
    target_id: int,
    suggestion: DuplicateSuggestion | None = None,
    note: str = "",
) -> RecordOperation:
    """Merge record `source_id` into `target_id` (the survivor)."""
    if source_id == target_id:
        raise RecordOperationError("A record cannot be merged into itself: choose two records.")
    authors = _lock_authors([source_id, target_id])
    for author_id in (source_id, target_id):
        if author_id not in authors:
            raise RecordOperationError(f"There is no researcher record {author_id}.")
    source, target = authors[source_id], authors[target_id]
    if target.merged_into_id is not None:
        raise RecordOperationError(
            f"Record {target.pk} was itself merged into record {target.merged_into_id}: "
            "merge into that one instead."
        )
    if source.merged_into_id is not None:
        raise RecordOperationError(
            f"Record {source.pk} was already merged into record {source.merged_into_id}."
        )
    owners = dict(
        Claim.objects.filter(
            author_id__in=[source.pk, target.pk], state=Claim.State.APPROVED
        ).values_list("author_id", "claimant_id")
    )
    if len(owners) == 2 and owners[source.pk] != owners[target.pk]:
        raise RecordOperationError(
            f"Records {source.pk} and {target.pk} are each claimed, by two different people: "
            "one record cannot have two owners. Settle the claims first."
        )
    if suggestion is not None and not duplicate_decide(
        suggestion=suggestion, state=DuplicateSuggestion.State.MERGED, staff=staff, note=note
    ):
        raise RecordOperationError(f"Suggestion {suggestion.pk} was already decided.")

    # Works: where both records are on a work, the survivor's authorship stays
    # and the merged record's is kept here, whole, for the undo.
    on_target = set(Authorship.objects.filter(author=target).values_list("work_id", flat=True))
    rows = list(Authorship.objects.filter(author=source).values(*_AUTHORSHIP_FIELDS))
    moved = [r for r in rows if r["work_id"] not in on_target]
    dropped = [r for r in rows if r["work_id"] in on_target]
    institutions: dict[int, list[int]] = {}
    for authorship_id, institution_id in Authorship.institutions.through.objects.filter(
        authorship_id__in=[r["id"] for r in dropped]
    ).values_list("authorship_id", "institution_id"):
        institutions.setdefault(authorship_id, []).append(institution_id)
    Authorship.objects.filter(pk__in=[r["id"] for r in moved]).update(author=target)
    Authorship.objects.filter(pk__in=[r["id"] for r in dropped]).delete()

    # Follows: one per person; someone who followed both keeps the survivor's.
    following_target = set(Follow.objects.filter(author=target).values_list("user_id", flat=True))
    follows = list(Follow.objects.filter(author=source))
    moved_follows = [f for f in follows if f.user_id not in following_target]
    dropped_follows = [f for f in follows if f.user_id in following_target]
    Follow.objects.filter(pk__in=[f.pk for f in moved_follows]).update(author=target)
    Follow.objects.filter(pk__in=[f.pk for f in dropped_follows]).delete()

    # Claims move, except one the survivor already has the like of (its
    # approved claim; the same person's pending one): those stay behind.
    target_claims = set(
        Claim.objects.filter(author=target, state__in=Claim.LIVE_STATES).values_list(
            "claimant_id", "state"
        )
    )
    target_approved = any(state == Claim.State.APPROVED for _, state in target_claims)
    moved_claims = [
        c
        for c in Claim.objects.filter(author=source)
        if not (c.state == Claim.State.APPROVED and target_approved)
        and (c.claimant_id, c.state) not in target_claims
    ]
    Claim.objects.filter(pk__in=[c.pk for c in moved_claims]).update(author=target)
    # Two people's live claims meeting on the survivor are contested (claims' own rule).
    _refresh_contested(target.pk)

    # The owner's settings move when the survivor has none of its own.
    settings_moved = (
        not ProfileSettings.objects.filter(author=target).exists()
        and ProfileSettings.objects.filter(author=source).update(author=target) == 1
    )

    Author.objects.filter(pk=source.pk).update(merged_into=target, updated_at=timezone.now())
    # Followers hear once, whatever the number of works.
    event = AuthorEvent.objects.create(
        author=target,
        kind=AuthorEvent.Kind.PROFILE_UPDATED,
        detail={"fields": ["merged_record"], "record": source.pk},
    )
    operation = RecordOperation.objects.create(
        kind=RecordOperation.Kind.MERGE,
        source=source,
        target=target,
        actor_id=staff.pk,
        suggestion=suggestion,
        note=note,
        moves={
            "authorships": [
                {"id": r["id"], "from": source.pk, "work": r["work_id"], "status": r["status"]}
                for r in moved
            ],
            "dropped": [
                {
                    **r,
                    "status_changed_at": _when(r["status_changed_at"]),
                    "institutions": institutions.get(r["id"], []),
                }
                for r in dropped
            ],
            "follows": [{"id": f.pk, "from": source.pk} for f in moved_follows],
            "follows_dropped": [
                {
                    "user": f.user_id,
                    "created_at": _when(f.created_at),
                    "kinds": f.kinds,
                    "delivery": f.delivery,
                }
                for f in dropped_follows
            ],
            "claims": [{"id": c.pk, "from": source.pk} for c in moved_claims],
            "settings_moved": settings_moved,
            "merged_into": {"record": source.pk, "before": None},
            "event": event.pk,
        },
    )
    _announce([source.pk, target.pk], [r["work_id"] for r in rows])
    return operation


# Split


@transaction.atomic
def record_split(
    *,
    staff: AbstractBaseUser,
    author_id: int,
    work_ids: list[int],
    target_id: int | None = None,
    request: SplitRequest | None = None,
    note: str = "",
) -> RecordOperation:
    """Move these works of record `author_id` to record `target_id`, or to a new record
    of the same name (no claim, no external ids) when it is None."""
    wanted = sorted(set(work_ids))
    if not wanted:
        raise RecordOperationError("Choose at least one work to move.")
    if len(wanted) > SPLIT_WORKS_MAX:
        raise RecordOperationError(f"One split moves at most {SPLIT_WORKS_MAX} works.")
    if target_id == author_id:
        raise RecordOperationError("The works are on that record already: name another one.")
    authors = _lock_authors([author_id, *([target_id] if target_id is not None else [])])
    for pk in (author_id, target_id):
        if pk is not None and pk not in authors:
            raise RecordOperationError(f"There is no researcher record {pk}.")
    for author in authors.values():
        if author.merged_into_id is not None:
            raise RecordOperationError(
                f"Record {author.pk} was merged into record {author.merged_into_id}: "
                "use that one instead."
            )
    source = authors[author_id]
    rows = list(
        Authorship.objects.filter(author=source, work_id__in=wanted)
        .exclude(status=Authorship.Status.DISPUTED)
        .values(*_AUTHORSHIP_FIELDS)
    )
    missing = sorted(set(wanted) - {r["work_id"] for r in rows})
    if missing:
        raise RecordOperationError(
            f"Work(s) {', '.join(map(str, missing))} are not on record {source.pk}."
        )
    if target_id is not None:
        target = authors[target_id]
        clash = sorted(
            Authorship.objects.filter(author=target, work_id__in=wanted).values_list(
                "work_id", flat=True
            )
        )
        if clash:
            raise RecordOperationError(
                f"Record {target.pk} is already on work(s) {', '.join(map(str, clash))}."
            )
    else:
        target = Author.objects.create(
            display_name=source.display_name, name_variants=source.name_variants
        )
    if request is not None:
        settled = SplitRequest.objects.filter(
            pk=request.pk, author=source, state=SplitRequest.State.OPEN
        ).update(state=SplitRequest.State.DONE, decided_by=staff, decided_at=timezone.now())
        if not settled:
            raise RecordOperationError(f"Split request {request.pk} was already decided.")

    now = timezone.now()
    Authorship.objects.filter(pk__in=[r["id"] for r in rows]).update(
        author=target,
        status=Authorship.Status.CONFIRMED,
        status_changed_by=staff,
        status_changed_at=now,
    )
    tombstones = Authorship.objects.bulk_create(
        [
            Authorship(
                work_id=r["work_id"],
                author=source,
                position=r["position"],
                raw_author_name=r["raw_author_name"],
                raw_affiliations=r["raw_affiliations"],
                is_corresponding=r["is_corresponding"],
                origin=r["origin"],
                status=Authorship.Status.DISPUTED,
                status_changed_by_id=staff.pk,
                status_changed_at=now,
            )
            for r in rows
        ]
    )
    operation = RecordOperation.objects.create(
        kind=RecordOperation.Kind.SPLIT,
        source=source,
        target=target,
        actor_id=staff.pk,
        note=note,
        moves={
            "authorships": [
                {
                    "id": r["id"],
                    "from": source.pk,
                    "work": r["work_id"],
                    "status": r["status"],
                    "status_changed_by": r["status_changed_by_id"],
                    "status_changed_at": _when(r["status_changed_at"]),
                    "moved_at": _when(now),
                }
                for r in rows
            ],
            "tombstones": [t.pk for t in tombstones],
            "created_record": target_id is None,
        },
    )
    if request is not None:
        SplitRequest.objects.filter(pk=request.pk).update(operation=operation)
    _announce([source.pk, target.pk], wanted)
    return operation


# Undo


def _later_operation(operation: RecordOperation) -> RecordOperation | None:
    records = [operation.source_id, operation.target_id]
    return (
        RecordOperation.objects.filter(pk__gt=operation.pk, undone_at__isnull=True)
        .filter(Q(source_id__in=records) | Q(target_id__in=records))
        .order_by("pk")
        .first()
    )


def _moved_conflicts(operation: RecordOperation, *, confirmed_at: bool) -> list[str]:
    """What became of the moved authorships since: each one changed is a conflict."""
    moved = operation.moves.get("authorships", [])
    now = {
        r["id"]: r
        for r in Authorship.objects.filter(pk__in=[m["id"] for m in moved]).values(
            "id", "author_id", "status", "status_changed_at"
        )
    }
    conflicts = []
    for m in moved:
        row = now.get(m["id"])
        if row is None:
            conflicts.append(
                f"work {m['work']} was since removed from record {operation.target_id}"
            )
        elif row["author_id"] != operation.target_id:
            conflicts.append(f"work {m['work']} was since moved to record {row['author_id']}")
        else:
            changed = (
                row["status"] != Authorship.Status.CONFIRMED
                or row["status_changed_at"] != _parse_when(m["moved_at"])
                if confirmed_at
                else row["status"] != m["status"]
            )
            if changed:
                conflicts.append(
                    f"work {m['work']} was since marked "
                    f"“{Authorship.Status(row['status']).label.lower()}” on record "
                    f"{operation.target_id}"
                )
    return conflicts


@dataclasses.dataclass(frozen=True)
class _Undo:
    conflicts: list[str]
    work_ids: list[int]


def _undo_merge(operation: RecordOperation, source: Author, target: Author) -> _Undo:
    moves: dict[str, Any] = operation.moves
    conflicts = []
    if source.merged_into_id != target.pk:
        conflicts.append(f"record {source.pk} no longer redirects to record {target.pk}")
    conflicts += _moved_conflicts(operation, confirmed_at=False)
    dropped = moves.get("dropped", [])
    back_again = sorted(
        Authorship.objects.filter(
            author=source, work_id__in=[d["work_id"] for d in dropped]
        ).values_list("work_id", flat=True)
    )
    conflicts += [f"record {source.pk} is on work {w} again" for w in back_again]
    work_ids = [m["work"] for m in moves.get("authorships", [])] + [d["work_id"] for d in dropped]
    if conflicts:
        return _Undo(conflicts, work_ids)

    Authorship.objects.filter(pk__in=[m["id"] for m in moves["authorships"]]).update(author=source)
    Authorship.objects.bulk_create(
        [
            Authorship(
                id=d["id"],
                work_id=d["work_id"],
                author=source,
                position=d["position"],
                raw_author_name=d["raw_author_name"],
                raw_affiliations=d["raw_affiliations"],
                is_corresponding=d["is_corresponding"],
                origin=d["origin"],
                status=d["status"],
                status_changed_by_id=d["status_changed_by_id"],
                status_changed_at=_parse_when(d["status_changed_at"]),
            )
            for d in dropped
        ]
    )
    Authorship.institutions.through.objects.bulk_create(
        [
            Authorship.institutions.through(authorship_id=d["id"], institution_id=i)
            for d in dropped
            for i in d["institutions"]
        ],
        ignore_conflicts=True,  # an institution deleted since simply stays gone
    )
    # Follows and claims go back if they still exist (a person may have
    # unfollowed or withdrawn since: that decision stands).
    Follow.objects.filter(pk__in=[f["id"] for f in moves["follows"]], author=target).update(
        author=source
    )
    Follow.objects.bulk_create(
        [
            Follow(
                user_id=f["user"],
                author=source,
                created_at=_parse_when(f["created_at"]) or timezone.now(),
                kinds=f["kinds"],
                delivery=f["delivery"],
            )
            for f in moves["follows_dropped"]
        ],
        ignore_conflicts=True,
    )
    Claim.objects.filter(pk__in=[c["id"] for c in moves["claims"]], author=target).update(
        author=source
    )
    _refresh_contested(source.pk)
    _refresh_contested(target.pk)
    if moves["settings_moved"]:
        ProfileSettings.objects.filter(author=target).update(author=source)
    Author.objects.filter(pk=source.pk).update(merged_into=None, updated_at=timezone.now())
    AuthorEvent.objects.filter(pk=moves["event"]).delete()
    if operation.suggestion_id is not None:
        DuplicateSuggestion.objects.filter(
            pk=operation.suggestion_id, state=DuplicateSuggestion.State.MERGED
        ).update(state=DuplicateSuggestion.State.OPEN, updated_at=timezone.now())
    return _Undo([], work_ids)


def _undo_split(operation: RecordOperation, source: Author, target: Author) -> _Undo:
    moves: dict[str, Any] = operation.moves
    conflicts = _moved_conflicts(operation, confirmed_at=True)
    tombstones = {
        row["id"]: row
        for row in Authorship.objects.filter(pk__in=moves["tombstones"]).values(
            "id", "author_id", "status", "work_id"
        )
    }
    for pk in moves["tombstones"]:
        row = tombstones.get(pk)
        if row is None or row["author_id"] != source.pk:
            conflicts.append(f"a work left behind on record {source.pk} was since removed")
        elif row["status"] != Authorship.Status.DISPUTED:
            conflicts.append(
                f"work {row['work_id']} was since marked {row['status']} on record {source.pk}"
            )
    if moves["created_record"] and target.merged_into_id is None:
        moved_ids = [m["id"] for m in moves["authorships"]]
        others = Authorship.objects.filter(author=target).exclude(pk__in=moved_ids).count()
        if others:
            conflicts.append(f"record {target.pk} has {others} other work(s) since")
        if Claim.objects.filter(author=target, state__in=Claim.LIVE_STATES).exists():
            conflicts.append(f"record {target.pk} was since claimed")
    work_ids = [m["work"] for m in moves["authorships"]]
    if conflicts:
        return _Undo(conflicts, work_ids)
    Authorship.objects.filter(pk__in=moves["tombstones"]).delete()
    for m in moves["authorships"]:
        Authorship.objects.filter(pk=m["id"]).update(
            author=source,
            status=m["status"],
            status_changed_by_id=m["status_changed_by"],
            status_changed_at=_parse_when(m["status_changed_at"]),
        )
    if moves["created_record"]:
        # The record the split made is empty again; its address, which may
        # have been shared meanwhile, leads back to the record it came from.
        Author.objects.filter(pk=target.pk).update(merged_into=source, updated_at=timezone.now())
    return _Undo([], work_ids)


@transaction.atomic
def record_operation_undo(*, staff: AbstractBaseUser, operation_id: int) -> RecordOperation:
    """Undo a merge or split exactly, or refuse naming what a later decision changed."""
    operation = RecordOperation.objects.select_for_update().filter(pk=operation_id).first()
    if operation is None:
        raise RecordOperationError(f"There is no operation {operation_id}.")
    if operation.undone_at is not None:
        raise RecordOperationError(f"Operation {operation.pk} was already undone.")
    authors = _lock_authors([operation.source_id, operation.target_id])
    source, target = authors[operation.source_id], authors[operation.target_id]
    later = _later_operation(operation)
    if later is not None:
        raise RecordOperationError(
            f"Cannot undo operation {operation.pk}: {later.get_kind_display().lower()} "
            f"{later.pk} (records {later.source_id} and {later.target_id}) came after it. "
            "Undo that one first."
        )
    if operation.kind == RecordOperation.Kind.MERGE:
        undo = _undo_merge(operation, source, target)
    else:
        undo = _undo_split(operation, source, target)
    if undo.conflicts:
        raise RecordOperationError(
            f"Cannot undo operation {operation.pk}: " + "; ".join(undo.conflicts) + "."
        )
    RecordOperation.objects.filter(pk=operation.pk).update(
        undone_at=timezone.now(), undone_by=staff
    )
    operation.refresh_from_db()
    _announce([source.pk, target.pk], undo.work_ids)
    return operation


# The owner's split request


@transaction.atomic
def split_request_submit(
    *, user: AbstractBaseUser, author: Author, work_ids: list[int], reason: str
) -> SplitRequest:
    """The owner says these works on their record are another person's: a request for staff."""
    wanted = sorted(set(work_ids))
    if not wanted:
        raise RecordOperationError("Tick the works that are another person's.")
    if not is_owner(user=user, author=author):
        raise RecordOperationError("Only the researcher whose claim was approved can ask.")
    Author.objects.select_for_update().filter(pk=author.pk).first()
    if SplitRequest.objects.filter(author=author, state=SplitRequest.State.OPEN).exists():
        raise RecordOperationError("Your earlier request is still with staff.")
    on_record = set(
        Authorship.objects.filter(author=author, work_id__in=wanted)
        .exclude(status=Authorship.Status.DISPUTED)
        .values_list("work_id", flat=True)
    )
    if set(wanted) - on_record:
        raise RecordOperationError("Some of those works are not on your record.")
    return SplitRequest.objects.create(
        author=author, requested_by_id=user.pk, work_ids=wanted, reason=reason
    )


@transaction.atomic
def work_mine_request(
    *, user: AbstractBaseUser, author: Author, work_id: int, elsewhere_id: int, reason: str = ""
) -> SplitRequest:
    """The owner of `author` says a work on another record (`elsewhere_id`) is theirs: a request
    for staff to move it to their record (a split of that record, with `author` as its target).
    Nothing moves before staff decide; the other record's owner, if any, is not overruled."""
    if not is_owner(user=user, author=author):
        raise RecordOperationError("Only the researcher whose claim was approved can ask.")
    if elsewhere_id == author.pk:
        raise RecordOperationError("That work is on your record already.")
    Author.objects.select_for_update().filter(pk=author.pk).first()
    if Authorship.objects.filter(author=author, work_id=work_id).exists():
        raise RecordOperationError("That work is on your record already.")
    if (
        not Authorship.objects.filter(
            author_id=elsewhere_id, author__merged_into__isnull=True, work_id=work_id
        )
        .exclude(status=Authorship.Status.DISPUTED)
        .exists()
    ):
        raise RecordOperationError("That work is not on that record (any more).")
    if SplitRequest.objects.filter(
        author_id=elsewhere_id,
        target=author,
        work_ids__contains=[work_id],
        state=SplitRequest.State.OPEN,
    ).exists():
        raise RecordOperationError("You asked for that work already: your request is with staff.")
    return SplitRequest.objects.create(
        author_id=elsewhere_id,
        target=author,
        requested_by_id=user.pk,
        work_ids=[work_id],
        reason=reason,
    )


def split_request_dismiss(*, request: SplitRequest, staff: AbstractBaseUser) -> bool:
    return (
        SplitRequest.objects.filter(pk=request.pk, state=SplitRequest.State.OPEN).update(
            state=SplitRequest.State.DISMISSED, decided_by=staff, decided_at=timezone.now()
        )
        == 1
    )


# Reads for the staff pages

OPERATIONS_PAGE_SIZE = 50


def operations_page(*, before: int | None) -> tuple[list[RecordOperation], int | None]:
    """Newest first, a keyset page by id."""
    rows = RecordOperation.objects.select_related("source", "target", "actor", "undone_by")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    page = list(rows.order_by("-pk")[: OPERATIONS_PAGE_SIZE + 1])
    more = len(page) > OPERATIONS_PAGE_SIZE
    page = page[:OPERATIONS_PAGE_SIZE]
    return page, (page[-1].pk if more else None)


def split_candidates(*, author: Author) -> list[Authorship]:
    """The works staff may move off a record: all but the ones marked not its own."""
    return list(
        Authorship.objects.filter(author=author)
        .exclude(status=Authorship.Status.DISPUTED)
        .select_related("work", "work__source")
        .order_by("-work__publication_year", "-work_id")
    )
