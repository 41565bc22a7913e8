"""Claim signals in the pure trust function: every level and label, with the expected scores."""

from typing import Any

import pytest

from profiles.trust import ClaimFacts, Level, TrustFacts, trust_evaluate


def facts(claim: ClaimFacts | None = None, **overrides) -> TrustFacts:
    """The seed's record (3 works with ids, nothing else) unless told otherwise."""
    base = {
        "is_synthetic": False,
        "has_openalex_id": False,
        "has_orcid": False,
        "has_affiliation": False,
        "works_total": 3,
        "works_with_pid": 3,
        "claim": claim or ClaimFacts(),
    }
    return TrustFacts(**{**base, **overrides})


def earned(trust) -> dict[str, int]:
    return {s.name: s.points for s in trust.signals if s.earned}


NEW: dict[str, Any] = {"claimant_account_days": 0}
OLD: dict[str, Any] = {"claimant_account_days": 400}

CASES = [
    # (what, facts, score, label, level, claim state)
    ("the seed, unclaimed", facts(), 15, "Unverified", Level.L1, "Unclaimed author"),
    ("no persistent id", facts(works_with_pid=0), 0, "Unverified", Level.L0, "Unclaimed author"),
    (
        "the seed with a claim that has no evidence: a claim alone earns nothing",
        facts(ClaimFacts(pending=True, **NEW)),
        15,
        "Unverified",
        Level.L1,
        "Claim pending",
    ),
    (
        "an old account in good standing claiming without evidence earns nothing either",
        facts(ClaimFacts(pending=True, **OLD)),
        15,
        "Unverified",
        Level.L1,
        "Claim pending",
    ),
    (
        "an institutional email passed, staff still reviewing",
        facts(ClaimFacts(pending=True, institutional_email=True, **NEW), has_affiliation=True),
        45,
        "Partially verified",
        Level.L2,
        "Claim pending",
    ),
    (
        "an ORCID sign-in passed from an old account, staff still reviewing",
        facts(ClaimFacts(pending=True, orcid_proven=True, **OLD), has_orcid=True),
        45,
        "Partially verified",
        Level.L2,
        "Claim pending",
    ),
    (
        "staff approved the institutional email claim",
        facts(ClaimFacts(approved=True, institutional_email=True, **NEW), has_affiliation=True),
        75,
        "Verified",
        Level.L3,
        "Claimed",
    ),
    (
        "staff approved a claim backed by links only: staff's verification sets the floor",
        facts(ClaimFacts(approved=True, **NEW)),
        60,
        "Verified",
        Level.L3,
        "Claimed",
    ),
    (
        "everything: ORCID and email proven, staff verified, old account, works reviewed",
        facts(
            ClaimFacts(
                approved=True,
                orcid_proven=True,
                institutional_email=True,
                works_reviewed=2,
                **OLD,
            ),
            has_orcid=True,
            has_affiliation=True,
            has_openalex_id=True,
            works_with_pid=12,
            works_total=12,
        ),
        100,
        "Highly trusted",
        Level.L3,
        "Claimed",
    ),
    (
        "two people claim it: no evidence counts yet, and a penalty",
        facts(
            ClaimFacts(pending=True, contested=True, institutional_email=True, **NEW),
            has_affiliation=True,
        ),
        15,
        "Unverified",
        Level.L1,
        "Claim pending",
    ),
    (
        "an approved owner contested by someone else",
        facts(
            ClaimFacts(approved=True, contested=True, institutional_email=True, **NEW),
            has_affiliation=True,
        ),
        65,
        "Verified",
        Level.L3,
        "Claimed",
    ),
    (
        "an old account with a refused claim is not in good standing",
        facts(
            ClaimFacts(pending=True, orcid_proven=True, claimant_had_claim_refused=True, **OLD),
            has_orcid=True,
        ),
        40,
        "Partially verified",
        Level.L2,
        "Claim pending",
    ),
    (
        "an approved claim from an old account in good standing",
        facts(ClaimFacts(approved=True, **OLD)),
        60,
        "Verified",
        Level.L3,
        "Claimed",
    ),
    (
        "an approved owner of a generated record, contested: still staff-verified",
        facts(ClaimFacts(approved=True, contested=True), is_synthetic=True),
        60,
        "Verified",
        Level.L3,
        "Claimed",
    ),
    (
        "automatic evidence on a generated record reads at least partially verified",
        facts(ClaimFacts(pending=True, institutional_email=True), is_synthetic=True),
        30,
        "Partially verified",
        Level.L2,
        "Claim pending",
    ),
    (
        "a strong record with automatic evidence waits for staff below Verified",
        facts(
            ClaimFacts(pending=True, orcid_proven=True, institutional_email=True, **OLD),
            has_orcid=True,
            has_affiliation=True,
            has_openalex_id=True,
            works_with_pid=12,
            works_total=12,
        ),
        59,
        "Partially verified",
        Level.L2,
        "Claim pending",
    ),
    (
        "a generated record never goes below 0",
        facts(ClaimFacts(pending=True, contested=True), is_synthetic=True),
        0,
        "Unverified",
        Level.L0,
        "Claim pending",
    ),
]


@pytest.mark.parametrize(("what", "given", "score", "label", "level", "state"), CASES)
def test_claim_signals_give_the_expected_score_label_and_level(
    what, given, score, label, level, state
):
    trust = trust_evaluate(given)
    assert (trust.score, trust.label, trust.level, trust.claim_state) == (
        score,
        label,
        level,
        state,
    ), what
    assert trust.score == max(0, min(100, sum(earned(trust).values())))


def test_every_level_and_label_is_reachable():
    trusts = [trust_evaluate(case[1]) for case in CASES]
    assert {t.level for t in trusts} == set(Level)
    assert {t.label for t in trusts} == {
        "Unverified",
        "Partially verified",
        "Verified",
        "Highly trusted",
    }


def test_each_claim_signal_is_listed_with_its_points():
    trust = trust_evaluate(
        facts(ClaimFacts(approved=True, institutional_email=True, **OLD), has_affiliation=True)
    )
    assert earned(trust) == {
        "Public record from an authoritative source": 10,
        "Works with persistent identifiers": 5,
        "Current affiliation on record": 10,
        "Claimed by a signed-in person": 5,
        "Automatic evidence passed": 15,
        "Institutional email verified": 5,
        "Claim verified by staff": 25,
        "Claimant account in good standing": 5,
    }
    names = [s.name for s in trust.signals]
    assert "Contested record" in names and "Works reviewed by the researcher" in names


def test_a_pending_claim_without_evidence_moves_no_claim_signal():
    """Anyone can claim any record: the claim itself must not lift the score (issue 11, 4)."""
    unclaimed = trust_evaluate(facts())
    for account in (NEW, OLD):
        claimed = trust_evaluate(facts(ClaimFacts(pending=True, **account)))
        assert claimed.score == unclaimed.score == 15
        assert earned(claimed) == earned(unclaimed)
        assert claimed.claim_state == "Claim pending"


def test_contested_penalty_is_a_negative_signal():
    trust = trust_evaluate(facts(ClaimFacts(pending=True, contested=True)))
    penalty = next(s for s in trust.signals if s.name == "Contested record")
    assert penalty.earned and penalty.is_penalty and penalty.points == -10


LEVEL_LABELS = {
    Level.L0: {"Unverified", "Partially verified"},
    Level.L1: {"Unverified", "Partially verified"},
    Level.L2: {"Partially verified"},
    Level.L3: {"Verified", "Highly trusted"},
}


@pytest.mark.parametrize(("what", "given"), [(case[0], case[1]) for case in CASES])
def test_the_label_never_tells_another_story_than_the_level(what, given):
    """Issue 13, 7: "Trust 50 - Partially verified" beside a staff-verified L3."""
    trust = trust_evaluate(given)
    assert trust.label in LEVEL_LABELS[trust.level], what


def test_the_seed_record_needs_no_bound():
    trust = trust_evaluate(facts())
    assert trust.headline == "Trust 15 - Unverified"
    assert trust.level_label == "Verification L1"
    assert not any("floor" in s.name or "staff yet" in s.name for s in trust.signals)


def test_staff_verification_floor_is_a_signal_that_says_how_many_points_and_why():
    trust = trust_evaluate(facts(ClaimFacts(approved=True, **NEW)))
    assert trust.headline == "Trust 60 - Verified" and trust.level_label == "Verification L3"
    floor = trust.signals[-1]
    assert floor.name == "Staff verification sets the floor (L3)"
    assert floor.earned and floor.points == 15
    assert "lift the 45 of the signals above to 60" in floor.why
    assert trust.score == sum(s.points for s in trust.signals if s.earned)


def test_a_record_staff_have_not_verified_is_held_below_verified():
    trust = trust_evaluate(
        facts(
            ClaimFacts(pending=True, orcid_proven=True, institutional_email=True, **OLD),
            has_orcid=True,
            has_affiliation=True,
            has_openalex_id=True,
            works_with_pid=12,
            works_total=12,
        )
    )
    assert trust.headline == "Trust 59 - Partially verified"
    assert trust.level_label == "Verification L2"
    cap = trust.signals[-1]
    assert cap.name == "Not verified by staff yet" and cap.is_penalty and cap.points == -6
    assert "held at 59" in cap.why
