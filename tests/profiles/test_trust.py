from profiles.trust import Level, TrustFacts, label_for, trust_evaluate


def facts(**overrides) -> TrustFacts:
    base = {
        "is_synthetic": False,
        "has_openalex_id": False,
        "has_orcid": False,
        "has_affiliation": False,
        "works_total": 3,
        "works_with_pid": 3,
    }
    return TrustFacts(**{**base, **overrides})


def test_seed_record_scores_15_unverified_at_level_1():
    trust = trust_evaluate(facts())
    assert trust.headline == "Trust 15 - Unverified"
    assert trust.level_label == "Verification L1"
    assert trust.claim_state == "Unclaimed author"


def test_score_is_the_sum_of_the_earned_signals_shown():
    trust = trust_evaluate(
        facts(has_orcid=True, has_affiliation=True, works_with_pid=12, works_total=12)
    )
    assert trust.score == sum(s.points for s in trust.signals if s.earned) == 40
    assert trust.label == "Partially verified"


def test_record_without_any_persistent_identifier_is_level_0():
    trust = trust_evaluate(facts(works_with_pid=0))
    assert trust.level is Level.L0
    assert trust.score == 0


def test_generated_records_earn_no_source_or_identifier_points():
    trust = trust_evaluate(facts(is_synthetic=True, has_openalex_id=True))
    assert trust.level is Level.L0
    assert trust.score == 0


def test_every_signal_explains_itself():
    for signal in trust_evaluate(facts()).signals:
        assert signal.name and signal.why and signal.points != 0


def test_labels_follow_the_design_bands():
    assert [label_for(s) for s in (0, 29, 30, 59, 60, 84, 85, 100)] == [
        "Unverified",
        "Unverified",
        "Partially verified",
        "Partially verified",
        "Verified",
        "Verified",
        "Highly trusted",
        "Highly trusted",
    ]
