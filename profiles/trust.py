"""The trust score and verification level: one pure function over named facts.

Every point on a page comes from a named signal with a sentence that says why,
so "Why this score" can list them. Facts are gathered by
`profiles.selectors.trust_facts_for_author`; nothing here touches the database.

Signals available before claims exist (the Claims issue adds claim signals):

| signal                         | points | when                                           |
| ------------------------------ | ------ | ---------------------------------------------- |
| Public record                  | 10     | the record comes from an authoritative source |
| Works with persistent ids      | 5 / 10 | at least 1 / at least 10 works with DOI/arXiv  |
| Current affiliation            | 10     | an institution is on the record                |
| ORCID iD on record             | 10     | an ORCID iD is on the record                   |
"""

from dataclasses import dataclass, field
from enum import IntEnum

PUBLIC_RECORD_POINTS = 10
PID_WORKS_POINTS = 5
PID_WORKS_MANY_POINTS = 5
PID_WORKS_MANY = 10
AFFILIATION_POINTS = 10
ORCID_POINTS = 10

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
class TrustFacts:
    is_synthetic: bool
    has_openalex_id: bool
    has_orcid: bool
    has_affiliation: bool
    works_total: int
    works_with_pid: int


@dataclass(frozen=True)
class Signal:
    name: str
    points: int
    earned: bool
    why: str


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


def trust_evaluate(facts: TrustFacts) -> Trust:
    authoritative = not facts.is_synthetic and (
        facts.has_openalex_id or facts.has_orcid or facts.works_with_pid > 0
    )
    signals = [
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
    score = min(100, sum(s.points for s in signals if s.earned))
    level = Level.L1 if authoritative else Level.L0
    return Trust(
        score=score,
        label=label_for(score),
        level=level,
        claim_state=ClaimState.UNCLAIMED,
        signals=signals,
    )
