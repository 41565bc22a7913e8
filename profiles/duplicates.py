"""Duplicate author records: finding likely pairs, and what an owner or staff do with them.

The finder is one set-based pass in SQL (no loop over authors): pairs of live
records (not merged away) that share an ORCID iD, and pairs with the same
folded display name that share at least one co-author (a third author on works
of both) or an institution (last known, an affiliation line, or one named on an
authorship). The second record's ORCID iD may only be in `external_ids`: an
import blanks an iD another record already holds (works.importers.upsert).

Each run rewrites the evidence of open suggestions, adds new pairs, and drops
open found pairs that no longer qualify; dismissed and merged ones are left
exactly as a person left them.
"""

import dataclasses
import re
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from profiles.models import Claim, DuplicateSuggestion
from works.models import Author, AuthorAffiliation, Authorship

# The evidence's example lists: enough for staff to recognise the person.
EXAMPLES = 3

# Points: an ORCID iD is one person; the same name needs overlap to count.
ORCID_POINTS = 100
NAME_POINTS = 10
COAUTHOR_POINTS, COAUTHOR_CAP = 3, 20
INSTITUTION_POINTS, INSTITUTION_CAP = 2, 10

# Candidate pairs of live records with the same folded name (the finder).
_SAME_NAME_PAIRS = """
    SELECT a.id AS low, b.id AS high
    FROM works_author a
    JOIN works_author b ON b.name_folded = a.name_folded AND b.id > a.id
    WHERE a.merged_into_id IS NULL AND b.merged_into_id IS NULL AND a.name_folded <> ''
"""

# One given pair (an owner's request): its evidence whatever it is.
_ONE_PAIR = "SELECT %(low)s::bigint AS low, %(high)s::bigint AS high"

# The inputs of the evidence query: the candidate pairs' records and those
# records' co-authors and places. The finder writes each into an analysed
# temporary table (as CTEs their row estimates were off by 10^5 on 50,000
# authors, and the planner joined every co-author list with every other before
# looking at the pairs); one pair's evidence reads them as CTEs.
_INPUTS = {
    "members": "SELECT low AS id FROM name_pairs UNION SELECT high FROM name_pairs",
    "coauthors": """
        SELECT DISTINCT x.author_id AS author, y.author_id AS other
        FROM members m
        JOIN works_authorship x ON x.author_id = m.id AND x.status <> 'disputed'
        JOIN works_authorship y
          ON y.work_id = x.work_id AND y.author_id <> x.author_id AND y.status <> 'disputed'
    """,
    "places": """
        SELECT a.id AS author, a.last_known_institution_id AS place
        FROM members m JOIN works_author a ON a.id = m.id
        WHERE a.last_known_institution_id IS NOT NULL
        UNION
        SELECT af.author_id, af.institution_id
        FROM members m JOIN works_authoraffiliation af ON af.author_id = m.id
        WHERE af.institution_id IS NOT NULL AND NOT af.hidden
        UNION
        SELECT x.author_id, ai.institution_id
        FROM members m
        JOIN works_authorship x ON x.author_id = m.id AND x.status <> 'disputed'
        JOIN works_authorship_institutions ai ON ai.authorship_id = x.id
    """,
}

_EVIDENCE = """
orcids AS (
    SELECT id, orcid FROM works_author WHERE orcid <> '' AND merged_into_id IS NULL
    UNION
    SELECT id, substring(external_ids->>'orcid' FROM '\\d{{4}}-\\d{{4}}-\\d{{4}}-\\d{{3}}[\\dX]')
    FROM works_author WHERE external_ids ? 'orcid' AND merged_into_id IS NULL
),
orcid_pairs AS (
    SELECT a.id AS low, b.id AS high, min(a.orcid) AS orcid
    FROM orcids a JOIN orcids b ON b.orcid = a.orcid AND b.id > a.id
    WHERE a.orcid IS NOT NULL {orcid_filter}
    GROUP BY 1, 2
),
shared_coauthors AS (
    SELECT p.low, p.high, count(*) AS n, (array_agg(c1.other ORDER BY c1.other))[1:{examples}] AS ex
    FROM name_pairs p
    JOIN coauthors c1 ON c1.author = p.low AND c1.other <> p.high
    JOIN coauthors c2 ON c2.author = p.high AND c2.other = c1.other
    GROUP BY 1, 2
),
shared_places AS (
    SELECT p.low, p.high, count(*) AS n, (array_agg(s1.place ORDER BY s1.place))[1:{examples}] AS ex
    FROM name_pairs p
    JOIN places s1 ON s1.author = p.low
    JOIN places s2 ON s2.author = p.high AND s2.place = s1.place
    GROUP BY 1, 2
),
named AS (
    SELECT p.low, p.high, a.name_folded = b.name_folded AS same_name, a.name_folded,
           coalesce(sc.n, 0) AS nc, sc.ex AS cx, coalesce(sp.n, 0) AS np, sp.ex AS px
    FROM name_pairs p
    JOIN works_author a ON a.id = p.low
    JOIN works_author b ON b.id = p.high
    LEFT JOIN shared_coauthors sc ON sc.low = p.low AND sc.high = p.high
    LEFT JOIN shared_places sp ON sp.low = p.low AND sp.high = p.high
    {named_filter}
),
pairs AS (
    SELECT coalesce(o.low, n.low) AS low, coalesce(o.high, n.high) AS high, o.orcid,
           CASE WHEN n.same_name THEN n.name_folded END AS name_folded,
           coalesce(n.nc, 0) AS nc, n.cx, coalesce(n.np, 0) AS np, n.px
    FROM orcid_pairs o FULL JOIN named n ON n.low = o.low AND n.high = o.high
)
SELECT p.low, p.high,
    jsonb_build_object(
        'orcid', coalesce(p.orcid, ''),
        'name_folded', coalesce(p.name_folded, ''),
        'shared_coauthors', p.nc,
        'coauthor_examples', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.display_name) ORDER BY a.id)
            FROM works_author a WHERE a.id = ANY(p.cx)), '[]'::jsonb),
        'shared_institutions', p.np,
        'institution_examples', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', i.id, 'name', i.display_name) ORDER BY i.id)
            FROM works_institution i WHERE i.id = ANY(p.px)), '[]'::jsonb)
    ) AS evidence,
    (CASE WHEN p.orcid IS NOT NULL THEN {orcid_points} ELSE 0 END
     + CASE WHEN p.name_folded IS NOT NULL THEN {name_points} ELSE 0 END
     + least(p.nc, {coauthor_cap}) * {coauthor_points}
     + least(p.np, {institution_cap}) * {institution_points}) AS strength
FROM pairs p
"""


def _evidence_sql(*, one_pair: bool) -> str:
    """The evidence query (after WITH) over name_pairs, coauthors and places."""
    return _EVIDENCE.format(
        # The finder keeps a same-name pair only with some overlap; a request
        # shows whatever its one pair has.
        named_filter="" if one_pair else "WHERE sc.n IS NOT NULL OR sp.n IS NOT NULL",
        orcid_filter="AND a.id = %(low)s AND b.id = %(high)s" if one_pair else "",
        examples=EXAMPLES,
        orcid_points=ORCID_POINTS,
        name_points=NAME_POINTS,
        coauthor_points=COAUTHOR_POINTS,
        coauthor_cap=COAUTHOR_CAP,
        institution_points=INSTITUTION_POINTS,
        institution_cap=INSTITUTION_CAP,
    )


_TEMP_TABLES = ("name_pairs", *_INPUTS, "duplicate_found")


@dataclasses.dataclass(frozen=True)
class RefreshResult:
    found: int  # pairs that qualify now
    created: int  # of which new suggestions
    updated: int  # open suggestions whose evidence changed
    removed: int  # open found suggestions that no longer qualify


def duplicate_suggestions_refresh() -> RefreshResult:
    """Find likely duplicate pairs and bring the open suggestions up to date."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped at the end too: inside an outer transaction (a test, a caller's
        # atomic block) ON COMMIT has not come by the next run.
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TEMP_TABLES)}")
        # Large row estimates make PostgreSQL JIT-compile the query: about 1 s
        # of compiling on 20,000 authors, for a pass that took as long without.
        cursor.execute("SET LOCAL jit = off")
        for name, query in (("name_pairs", _SAME_NAME_PAIRS), *_INPUTS.items()):
            cursor.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {query}")
            cursor.execute(f"ANALYZE {name}")
        cursor.execute(
            "CREATE TEMP TABLE duplicate_found ON COMMIT DROP AS WITH "
            + _evidence_sql(one_pair=False)
        )
        cursor.execute("SELECT count(*) FROM duplicate_found")
        found = cursor.fetchone()[0]
        # xmax = 0 tells an inserted row from an updated one.
        cursor.execute(
            """
            INSERT INTO profiles_duplicatesuggestion AS s
                (author_low_id, author_high_id, kind, state, evidence, strength,
                 request_reason, staff_note, decision_note, created_at, updated_at)
            SELECT low, high, 'found', 'open', evidence, strength, '', '', '', now(), now()
            FROM duplicate_found
            ON CONFLICT (author_low_id, author_high_id) DO UPDATE
               SET evidence = EXCLUDED.evidence, strength = EXCLUDED.strength,
                   updated_at = now()
               WHERE s.state = 'open' AND (s.evidence, s.strength)
                     IS DISTINCT FROM (EXCLUDED.evidence, EXCLUDED.strength)
            RETURNING xmax = 0
            """
        )
        written = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """
            DELETE FROM profiles_duplicatesuggestion s
            WHERE s.kind = 'found' AND s.state = 'open' AND NOT EXISTS (
                SELECT 1 FROM duplicate_found f
                WHERE f.low = s.author_low_id AND f.high = s.author_high_id)
            """
        )
        removed = cursor.rowcount
        cursor.execute(f"DROP TABLE {', '.join(_TEMP_TABLES)}")
    created = sum(written)
    return RefreshResult(
        found=found, created=created, updated=len(written) - created, removed=removed
    )


def _pair_evidence(*, low: int, high: int) -> tuple[dict[str, Any], int]:
    with connection.cursor() as cursor:
        inputs = "".join(f"{name} AS ({query}), " for name, query in _INPUTS.items())
        cursor.execute(
            f"WITH name_pairs AS ({_ONE_PAIR}), {inputs}" + _evidence_sql(one_pair=True),
            {"low": low, "high": high},
        )
        row = cursor.fetchone()
    if row is None:
        return {}, 0
    return row[2], row[3]


class DuplicateRequestError(Exception):
    """A request the owner should rephrase; the message says why."""


def duplicate_request(
    *, user: AbstractBaseUser, author: Author, other_id: int, reason: str
) -> DuplicateSuggestion:
    """The owner of `author` says `other_id` is also theirs: a requested suggestion for staff.

    A record claimed by someone else is not refused silently: the request goes
    to staff with a note saying so.
    """
    if other_id == author.pk:
        raise DuplicateRequestError("That is this record: give the id of another one.")
    other = Author.objects.filter(pk=other_id).first()
    if other is None:
        raise DuplicateRequestError(f"There is no researcher record {other_id}.")
    if other.merged_into_id is not None:
        raise DuplicateRequestError(
            f"Record {other_id} was already merged into record {other.merged_into_id}."
        )
    note = ""
    if (
        Claim.objects.filter(author=other, state=Claim.State.APPROVED)
        .exclude(claimant_id=user.pk)
        .exists()
    ):
        note = f"Record {other_id} is claimed by another person."
    low, high = sorted((author.pk, other.pk))
    with transaction.atomic():
        evidence, strength = _pair_evidence(low=low, high=high)
        suggestion, created = DuplicateSuggestion.objects.select_for_update().get_or_create(
            author_low_id=low,
            author_high_id=high,
            defaults={
                "kind": DuplicateSuggestion.Kind.REQUESTED,
                "evidence": evidence,
                "strength": strength,
                "requested_by_id": user.pk,
                "request_reason": reason,
                "staff_note": note,
            },
        )
        if created:
            return suggestion
        if suggestion.state == DuplicateSuggestion.State.MERGED:
            raise DuplicateRequestError("These two records were already merged.")
        if suggestion.kind == DuplicateSuggestion.Kind.REQUESTED:
            raise DuplicateRequestError("You asked about these two records already.")
        # The system found the pair first (or staff dismissed it): the owner's
        # word reopens it for staff, as a request.
        suggestion.kind = DuplicateSuggestion.Kind.REQUESTED
        suggestion.state = DuplicateSuggestion.State.OPEN
        suggestion.requested_by_id = user.pk
        suggestion.request_reason = reason
        suggestion.staff_note = note
        suggestion.save()
        return suggestion


def duplicate_dismiss(
    *, suggestion: DuplicateSuggestion, staff: AbstractBaseUser, note: str
) -> bool:
    """Staff dismiss an open suggestion; False when it was no longer open (a double click)."""
    return duplicate_decide(
        suggestion=suggestion, state=DuplicateSuggestion.State.DISMISSED, staff=staff, note=note
    )


def duplicate_decide(
    *, suggestion: DuplicateSuggestion, state: str, staff: AbstractBaseUser, note: str
) -> bool:
    """Close an open suggestion as `state` (dismissed, merged) by staff; False when it was
    no longer open: one conditional UPDATE, so two decisions cannot both land."""
    now = timezone.now()
    changed = DuplicateSuggestion.objects.filter(
        pk=suggestion.pk, state=DuplicateSuggestion.State.OPEN
    ).update(state=state, decided_by=staff, decided_at=now, decision_note=note, updated_at=now)
    return changed == 1


# Reads: the staff queue and the records side by side.

QUEUE_PAGE_SIZE = 25


@dataclasses.dataclass(frozen=True)
class QueueCursor:
    """Where a page of the queue ends: the last row's strength and id ("60.123")."""

    strength: int
    id: int

    @classmethod
    def parse(cls, raw: str) -> "QueueCursor":
        strength, _, pk = raw.partition(".")
        if not (strength.isdigit() and pk.isdigit() and len(raw) <= 30):
            raise ValueError("“after” must come from a “Next” link: two numbers, e.g. 60.123.")
        return cls(int(strength), int(pk))

    def __str__(self) -> str:
        return f"{self.strength}.{self.id}"


@dataclasses.dataclass(frozen=True)
class QueuePage:
    suggestions: list[DuplicateSuggestion]
    next_after: QueueCursor | None


def duplicate_queue_page(*, state: str, after: QueueCursor | None) -> QueuePage:
    """Strongest first, then newest; a keyset page (no OFFSET over a long queue)."""
    rows = DuplicateSuggestion.objects.filter(state=state).select_related(
        "requested_by", "decided_by"
    )
    if after is not None:
        rows = rows.filter(
            Q(strength__lt=after.strength) | Q(strength=after.strength, id__lt=after.id)
        )
    page = list(rows.order_by("-strength", "-id")[: QUEUE_PAGE_SIZE + 1])
    more = len(page) > QUEUE_PAGE_SIZE
    page = page[:QUEUE_PAGE_SIZE]
    next_after = QueueCursor(page[-1].strength, page[-1].pk) if more else None
    return QueuePage(suggestions=page, next_after=next_after)


@dataclasses.dataclass
class RecordFacts:
    """One record as staff compare it with the other."""

    author: Author
    orcid: str
    works: int = 0
    first_year: int | None = None
    last_year: int | None = None
    institutions: list[str] = dataclasses.field(default_factory=list)
    claims: list[Claim] = dataclasses.field(default_factory=list)


def duplicate_record_facts(*, author_ids: set[int]) -> dict[int, RecordFacts]:
    """The side-by-side facts of many records in four queries, whatever their number."""
    facts = {
        a.pk: RecordFacts(author=a, orcid=a.orcid or _orcid_kept(a))
        for a in Author.objects.filter(pk__in=author_ids).select_related("last_known_institution")
    }
    counted = (
        Authorship.objects.filter(author_id__in=facts)
        .exclude(status=Authorship.Status.DISPUTED)
        .values("author_id")
        .annotate(
            n=Count("work_id"),
            first=Min("work__publication_year"),
            last=Max("work__publication_year"),
        )
    )
    for row in counted:
        f = facts[row["author_id"]]
        f.works, f.first_year, f.last_year = row["n"], row["first"], row["last"]
    for f in facts.values():
        if f.author.last_known_institution is not None:
            f.institutions.append(f.author.last_known_institution.display_name)
    affiliations = (
        AuthorAffiliation.objects.filter(author_id__in=facts, hidden=False)
        .select_related("institution")
        .order_by("author_id", "id")
    )
    for line in affiliations:
        name = line.institution.display_name if line.institution else line.institution_name
        if name not in facts[line.author_id].institutions:
            facts[line.author_id].institutions.append(name)
    for claim in (
        Claim.objects.filter(author_id__in=facts, state__in=Claim.LIVE_STATES)
        .select_related("claimant")
        .order_by("created_at")
    ):
        facts[claim.author_id].claims.append(claim)
    return facts


def _orcid_kept(author: Author) -> str:
    """An iD an import could not set on the record (another holds it) but kept aside."""
    value = author.external_ids.get("orcid", "") if isinstance(author.external_ids, dict) else ""
    match = re.search(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", str(value))
    return match.group(0) if match else ""
