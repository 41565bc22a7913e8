"""The trust score and verification level: one pure function over named facts.

Every point on a page comes from a named signal with a sentence that says why,
so "Why this score" can list them. Facts are gathered by
`profiles.selectors.trust_for_author`; nothing here touches the database.

| signal                               | points | when                                          |
| ------------------------------------ | ------ | --------------------------------------------- |
| Public record                        | 10     | the record comes from an authoritative source |
| Works with persistent ids            | 5 / 10 | at least 1 / at least 10 works with DOI/arXiv |
| Current affiliation                  | 10     | an institution is on the record               |
| ORCID iD on record                   | 10     | an ORCID iD is on the record                  |
| Claimed by a signed-in person        | 5      | staff approved a person's claim               |
| Automatic evidence passed (L2)       | 15     | ORCID sign-in or institutional email matched  |
| Institutional email verified         | 5      | a code reached an address at an institution   |
| Claim verified by staff (L3)         | 25     | staff approved the claim                      |
| Claimant account in good standing    | 5      | a month old, no rejected or revoked claim,    |
|                                      |        | and the claim's evidence counts or staff      |
|                                      |        | approved it                                   |
| Works reviewed by the researcher     | 5      | the owner confirmed or disputed a work        |
| Contested record                     | -10    | two people claim the record                   |

The claim that counts is the approved one, or else the only pending one. While
two people claim a record and neither is approved, neither claimant's evidence
counts: it proves that someone at the institution claims it, not who.

Only evidence and staff's decisions earn points. Anyone signed in can claim
any record, so a pending claim by itself earns nothing: the page says "Claim
pending" with the same score as before. The claimant's good standing is a
reason to believe their evidence, not evidence itself, so it counts only with
evidence that counts or an approval.

Levels: L0 no persistent identifier; L1 public record from an authoritative
source; L2 a claim whose automatic evidence passed (while staff review
continues); L3 a claim approved by staff.

The level bounds the label, so that the two never tell different stories
(issue 13: "Trust 50 - Partially verified" beside a staff-verified L3):

| level | score      | so the label reads                          |
| ----- | ---------- | ------------------------------------------- |
| L3    | 60 or more | Verified or Highly trusted                  |
| L2    | 30 to 59   | Partially verified                          |
| L0-L1 | up to 59   | Unverified or Partially verified            |

Staff's verification is the strongest evidence there is, so it sets a floor;
only staff's verification earns the word "Verified", so the other levels have
a ceiling. Where a bound moves the sum, a named signal says by how many points
and why, so the score is still the sum of the signals shown.
"""

from dataclasses import dataclass, field
from enum import IntEnum

PUBLIC_RECORD_POINTS = 10
PID_WORKS_POINTS = 5
PID_WORKS_MANY_POINTS = 5
PID_WORKS_MANY = 10
AFFILIATION_POINTS = 10
ORCID_POINTS = 10
CLAIMED_POINTS = 5
AUTOMATIC_EVIDENCE_POINTS = 15
INSTITUTIONAL_EMAIL_POINTS = 5
STAFF_VERIFIED_POINTS = 25
GOOD_STANDING_POINTS = 5
WORKS_REVIEWED_POINTS = 5
CONTESTED_POINTS = -10
GOOD_STANDING_DAYS = 30

VERIFIED_FLOOR = 60  # where "Verified" starts
PARTIALLY_VERIFIED_FLOOR = 30  # where "Partially verified" starts

LABELS = (
    (85, "Highly trusted"),
    (60, "Verified"),
    (30, "Partially verified"),
    (0, "Unverified"),
)


class Level(IntEnum):
    L0 = 0  # no persistent identifier
    L1 = 1  # public record from an authoritative source
    L2 = 2  # claimed, with automatic evidence that passed
    L3 = 3  # claim verified by staff


class ClaimState:
    UNCLAIMED = "Unclaimed author"
    PENDING = "Claim pending"
    CLAIMED = "Claimed"


@dataclass(frozen=True)
class ClaimFacts:
    """The claim that counts for a record (see the module docstring), as plain facts."""

    pending: bool = False  # a claim waits for staff
    approved: bool = False  # staff approved a claim
    contested: bool = False  # more than one person has a live claim
    orcid_proven: bool = False
    institutional_email: bool = False
    claimant_account_days: int = 0
    claimant_had_claim_refused: bool = False  # a rejected or revoked claim, on any record
    works_reviewed: int = 0  # works the owner confirmed or disputed


@dataclass(frozen=True)
class TrustFacts:
    is_synthetic: bool
    has_openalex_id: bool
    has_orcid: bool
    has_affiliation: bool
    works_total: int
    works_with_pid: int
    claim: ClaimFacts = field(default_factory=ClaimFacts)


@dataclass(frozen=True)
class Signal:
    name: str
    points: int  # negative for a penalty
    earned: bool
    why: str

    @property
    def is_penalty(self) -> bool:
        return self.points < 0


@dataclass(frozen=True)
class Trust:
    score: int
    label: str
    level: Level
    claim_state: str
    signals: list[Signal] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return f"Trust {self.score} - {self.label}"

    @property
    def level_label(self) -> str:
        return f"Verification L{int(self.level)}"


def label_for(score: int) -> str:
    return next(label for floor, label in LABELS if score >= floor)


def _record_signals(facts: TrustFacts, authoritative: bool) -> list[Signal]:
    return [
        Signal(
            "Public record from an authoritative source",
            PUBLIC_RECORD_POINTS,
            authoritative,
            "The author record and its works come from bibliographic sources "
            "(OpenAlex, publishers' metadata) rather than from self-description."
            if authoritative
            else "Generated demo records and records with no identifier earn nothing here.",
        ),
        Signal(
            "Works with persistent identifiers",
            PID_WORKS_POINTS,
            not facts.is_synthetic and facts.works_with_pid >= 1,
            f"{facts.works_with_pid} of {facts.works_total} works have a DOI or an arXiv id "
            "that anyone can resolve.",
        ),
        Signal(
            f"At least {PID_WORKS_MANY} works with persistent identifiers",
            PID_WORKS_MANY_POINTS,
            not facts.is_synthetic and facts.works_with_pid >= PID_WORKS_MANY,
            "A longer record of resolvable works is harder to fabricate.",
        ),
        Signal(
            "Current affiliation on record",
            AFFILIATION_POINTS,
            facts.has_affiliation,
            "An institution is attached to the record."
            if facts.has_affiliation
            else "No affiliation has been imported for this record.",
        ),
        Signal(
            "ORCID iD on record",
            ORCID_POINTS,
            facts.has_orcid,
            "The record carries an ORCID iD, a persistent identifier for the person."
            if facts.has_orcid
            else "No ORCID iD is on the record.",
        ),
    ]


def _claim_signals(claim: ClaimFacts) -> list[Signal]:
    live = claim.pending or claim.approved
    # A contest freezes the pending claimants' evidence until staff decide.
    evidence_counts = live and (claim.approved or not claim.contested)
    automatic = evidence_counts and (claim.orcid_proven or claim.institutional_email)
    if claim.orcid_proven and claim.institutional_email:
        evidence = "an ORCID sign-in matching the record's iD and an institutional email"
    elif claim.orcid_proven:
        evidence = "an ORCID sign-in matching the record's iD"
    else:
        evidence = "a verified email at an institution of the record"
    good_standing = (
        (automatic or claim.approved)
        and claim.claimant_account_days >= GOOD_STANDING_DAYS
        and not claim.claimant_had_claim_refused
    )
    return [
        Signal(
            "Claimed by a signed-in person",
            CLAIMED_POINTS,
            claim.approved,
            "A person with a verified email address owns this record: staff approved their claim."
            if claim.approved
            else (
                "A claim waits for evidence or staff's decision: a claim alone earns nothing."
                if claim.pending
                else "Nobody has claimed this record yet."
            ),
        ),
        Signal(
            "Automatic evidence passed",
            AUTOMATIC_EVIDENCE_POINTS,
            automatic,
            f"The claim came with {evidence}."
            if automatic
            else (
                "Two people claim this record: their evidence counts once staff decide."
                if live and not evidence_counts
                else "No ORCID sign-in or institutional email has backed a claim."
            ),
        ),
        Signal(
            "Institutional email verified",
            INSTITUTIONAL_EMAIL_POINTS,
            evidence_counts and claim.institutional_email,
            "A one-time code reached an address at one of the record's institutions."
            if evidence_counts and claim.institutional_email
            else "No address at the record's institutions has been verified.",
        ),
        Signal(
            "Claim verified by staff",
            STAFF_VERIFIED_POINTS,
            claim.approved,
            "BZPEER staff reviewed the evidence and approved the claim."
            if claim.approved
            else "Staff have not approved a claim on this record.",
        ),
        Signal(
            "Claimant account in good standing",
            GOOD_STANDING_POINTS,
            good_standing,
            f"The claimant's account is over {GOOD_STANDING_DAYS} days old and has had "
            "no claim rejected or revoked."
            if good_standing
            else f"Earned with evidence or an approval by a claimant whose account is over "
            f"{GOOD_STANDING_DAYS} days old and has had no claim rejected or revoked.",
        ),
        Signal(
            "Works reviewed by the researcher",
            WORKS_REVIEWED_POINTS,
            claim.approved and claim.works_reviewed > 0,
            f"The researcher confirmed or disputed {claim.works_reviewed} "
            f"work{'s' if claim.works_reviewed != 1 else ''} on the record."
            if claim.approved and claim.works_reviewed > 0
            else "The owner of a claimed record has not confirmed or disputed its works.",
        ),
        Signal(
            "Contested record",
            CONTESTED_POINTS,
            claim.contested,
            "More than one person claims this record; staff are reviewing."
            if claim.contested
            else "Nobody disputes who this record belongs to.",
        ),
    ]


def _level_bound(level: Level, total: int) -> Signal | None:
    """The signal that brings the sum within the level's bounds, if it is outside them."""
    if level is Level.L3 and total < VERIFIED_FLOOR:
        return Signal(
            "Staff verification sets the floor (L3)",
            VERIFIED_FLOOR - total,
            True,
            f"Staff verified this claim, so the record reads at least Verified: these points "
            f"lift the {total} of the signals above to {VERIFIED_FLOOR}.",
        )
    if level is Level.L2 and total < PARTIALLY_VERIFIED_FLOOR:
        return Signal(
            "Automatic evidence sets the floor (L2)",
            PARTIALLY_VERIFIED_FLOOR - total,
            True,
            f"A claim's automatic evidence passed, so the record reads at least Partially "
            f"verified: these points lift the {total} of the signals above to "
            f"{PARTIALLY_VERIFIED_FLOOR}.",
        )
    if level is not Level.L3 and total >= VERIFIED_FLOOR:
        return Signal(
            "Not verified by staff yet",
            VERIFIED_FLOOR - 1 - total,
            True,
            f"Only a claim verified by staff (L3) reads Verified: the {total} of the signals "
            f"above is held at {VERIFIED_FLOOR - 1} until staff verify a claim.",
        )
    return None


def trust_evaluate(facts: TrustFacts) -> Trust:
    authoritative = not facts.is_synthetic and (
        facts.has_openalex_id or facts.has_orcid or facts.works_with_pid > 0
    )
    signals = _record_signals(facts, authoritative) + _claim_signals(facts.claim)
    claim = facts.claim
    automatic = next(s for s in signals if s.name == "Automatic evidence passed").earned
    if claim.approved:
        level, claim_state = Level.L3, ClaimState.CLAIMED
    elif automatic:
        level, claim_state = Level.L2, ClaimState.PENDING
    else:
        level = Level.L1 if authoritative else Level.L0
        claim_state = ClaimState.PENDING if claim.pending else ClaimState.UNCLAIMED
    bound = _level_bound(level, sum(s.points for s in signals if s.earned))
    if bound is not None:
        signals.append(bound)
    score = max(0, min(100, sum(s.points for s in signals if s.earned)))
    return Trust(
        score=score, label=label_for(score), level=level, claim_state=claim_state, signals=signals
    )
