"""Claim services: the state machine, conditional updates, contests, codes, emails, imports."""

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from allauth.socialaccount.models import SocialAccount
from django.db import IntegrityError, connection
from django.utils import timezone

from graph.models import GraphSlice
from profiles import services
from profiles.models import Claim, ClaimEvent, EmailCode, ProfileSettings
from tests.factories import AuthorFactory, WorkFactory
from tests.profiles.conftest import make_user
from works.importers.openalex import import_entities
from works.models import Author, Authorship

pytestmark = pytest.mark.django_db


def submit(user, author, **evidence) -> Claim:
    fields: dict[str, Any] = {"links": [], "statement": "", "works_mine": [], "works_not_mine": []}
    fields.update(evidence)
    return services.claim_submit(user=user, author=author, **fields)


def verify_email(user, author, address: str, outbox, capture) -> EmailCode:
    """Ask for a code, read it from the outbox like a person would, and enter it."""
    with capture(execute=True):
        services.email_code_send(user=user, author=author, address=address)
    code = re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)
    return services.email_code_verify(user=user, author=author, code=code)


def events(claim) -> list[str]:
    return list(claim.events.order_by("id").values_list("action", flat=True))


# Submitting and the automatic checks


def test_institutional_email_code_passes_the_check_and_is_kept_as_evidence(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    verify_email(
        claimant, record, "Rosa@Lab.Uni.Example", mailoutbox, django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        claim = submit(claimant, record)
    assert claim.state == Claim.State.PENDING
    assert claim.checks_passed is True
    assert claim.email == "rosa@lab.uni.example"
    assert claim.email_institution == record.last_known_institution
    assert claim.risk_flags == []
    assert events(claim) == ["submitted", "checks_run"]
    assert [m.subject for m in mailoutbox] == [
        "Your BZPEER code: " + re.search(r"\d{6}", mailoutbox[0].body).group(0),
        "We received your claim on Rosa Example",
    ]
    assert mailoutbox[1].to == ["claimant@example.org"]
    assert f"/claims/{claim.pk}/" in mailoutbox[1].body


def test_email_at_another_domain_is_verified_but_fails_the_check_and_is_flagged(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    verify_email(
        claimant, record, "rosa@gmail.example", mailoutbox, django_capture_on_commit_callbacks
    )
    claim = submit(claimant, record)
    assert claim.checks_passed is False
    assert claim.email == "rosa@gmail.example" and claim.email_institution is None
    assert claim.risk_flags == [Claim.Risk.EMAIL_DOMAIN_MISMATCH]


def test_orcid_sign_in_matching_the_record_passes_a_typed_id_proves_nothing(claimant):
    author = AuthorFactory(orcid="0000-0002-1825-0097")
    SocialAccount.objects.create(user=claimant, provider="orcid", uid="0000-0001-5109-3700")
    claim = submit(claimant, author, statement="My iD is 0000-0002-1825-0097, honest.")
    assert claim.orcid_verified is False and claim.checks_passed is False
    assert claim.checks[0]["passed"] is False

    # allauth keeps one account per iD, so only the person who signed in as it can prove it.
    proven = make_user()
    SocialAccount.objects.create(user=proven, provider="orcid", uid="0000-0002-1825-0097")
    claim = submit(proven, author)
    assert claim.orcid_verified is True and claim.orcid == "0000-0002-1825-0097"
    assert claim.checks_passed is True and claim.contested is True


def test_a_claim_with_nothing_to_check_is_refused(claimant, record):
    with pytest.raises(services.ClaimError, match="Give staff something to check"):
        submit(claimant, record)
    assert not Claim.objects.exists()


def test_links_alone_leave_the_claim_for_staff(claimant, record):
    claim = submit(claimant, record, links=["https://rosa.example/"])
    assert claim.checks_passed is False and claim.state == Claim.State.PENDING


def test_an_unverified_account_cannot_claim(record):
    user = make_user()
    user.emailaddress_set.update(verified=False)
    with pytest.raises(services.ClaimError, match="Verify your email"):
        submit(user, record, links=["https://rosa.example/"])


def test_one_live_claim_per_person_and_record(claimant, record):
    submit(claimant, record, links=["https://rosa.example/"])
    with pytest.raises(services.ClaimError, match="already have a claim"):
        submit(claimant, record, links=["https://rosa.example/2"])
    with pytest.raises(IntegrityError):
        Claim.objects.create(author=record, claimant=claimant)


def test_risk_flags_new_account_and_several_claims(record):
    fresh = make_user(age_days=0.2)
    submit(fresh, AuthorFactory(), links=["https://a.example/"])
    claim = submit(fresh, record, links=["https://a.example/"])
    assert set(claim.risk_flags) == {Claim.Risk.NEW_ACCOUNT, Claim.Risk.SEVERAL_CLAIMS}


def test_work_selections_keep_only_works_on_the_record(claimant, record):
    mine, not_mine = [a.work_id for a in Authorship.objects.filter(author=record)][:2]
    stranger_work = WorkFactory().pk
    claim = submit(
        claimant,
        record,
        links=["https://rosa.example/"],
        works_mine=[mine, stranger_work],
        works_not_mine=[not_mine],
    )
    assert (claim.works_mine, claim.works_not_mine) == ([mine], [not_mine])


# Email codes


def test_codes_are_single_use(claimant, record, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.email_code_send(user=claimant, author=record, address="rosa@uni.example")
    code = re.search(r"\d{6}", mailoutbox[0].body).group(0)
    services.email_code_verify(user=claimant, author=record, code=code)
    with pytest.raises(services.ClaimError, match="No code is waiting"):
        services.email_code_verify(user=claimant, author=record, code=code)


def test_codes_expire(claimant, record, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = services.email_code_send(user=claimant, author=record, address="rosa@uni.example")
    EmailCode.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    code = re.search(r"\d{6}", mailoutbox[0].body).group(0)
    with pytest.raises(services.ClaimError, match="expired"):
        services.email_code_verify(user=claimant, author=record, code=code)
    assert services.email_verified_for_claim(user=claimant, author=record) is None


def test_wrong_guesses_are_counted_and_spend_the_code(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.email_code_send(user=claimant, author=record, address="rosa@uni.example")
    code = re.search(r"\d{6}", mailoutbox[0].body).group(0)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(services.ClaimError, match=f"{left} attempt"):
            services.email_code_verify(user=claimant, author=record, code=wrong)
    with pytest.raises(services.ClaimError, match="now spent"):
        services.email_code_verify(user=claimant, author=record, code=wrong)
    with pytest.raises(services.ClaimError, match="tried too often"):
        services.email_code_verify(user=claimant, author=record, code=code)


def test_a_new_code_retires_the_previous_one_and_only_a_hash_is_stored(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.email_code_send(user=claimant, author=record, address="a@uni.example")
        services.email_code_send(user=claimant, author=record, address="b@uni.example")
    old_code = re.search(r"\d{6}", mailoutbox[0].body).group(0)
    first.refresh_from_db()
    assert first.expires_at <= timezone.now()
    assert old_code not in first.code_hash
    with pytest.raises(services.ClaimError, match="not the one we sent"):
        services.email_code_verify(user=claimant, author=record, code=old_code)


def test_a_verified_address_backs_a_claim_for_a_day_only(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    row = verify_email(
        claimant, record, "rosa@uni.example", mailoutbox, django_capture_on_commit_callbacks
    )
    EmailCode.objects.filter(pk=row.pk).update(used_at=timezone.now() - timedelta(hours=25))
    claim = submit(claimant, record, links=["https://rosa.example/"])
    assert claim.email == "" and claim.checks_passed is False


# Decisions


def pending_claim(author=None, user=None) -> Claim:
    return submit(user or make_user(), author or AuthorFactory(), links=["https://x.example/"])


def test_approve_records_who_when_and_the_audit_log(
    staff, record, mailoutbox, django_capture_on_commit_callbacks
):
    claim = pending_claim(record)
    with django_capture_on_commit_callbacks(execute=True):
        approved = services.claim_approve(claim=claim, staff=staff, reason="Staff page matches.")
    assert approved.state == Claim.State.APPROVED
    assert approved.decided_by == staff and approved.decided_at is not None
    assert events(approved) == ["submitted", "checks_run", "approved"]
    event = approved.events.get(action="approved")
    assert (event.actor, event.reason) == (staff, "Staff page matches.")
    assert mailoutbox[-1].subject == "Your claim on Rosa Example is approved"
    assert "Staff page matches." in mailoutbox[-1].body
    assert ProfileSettings.objects.filter(author=record).exists()


def test_approve_twice_changes_once(staff, record):
    claim = pending_claim(record)
    services.claim_approve(claim=claim, staff=staff)
    with pytest.raises(services.ClaimError, match="Cannot approve: the claim is approved now"):
        services.claim_approve(claim=claim, staff=staff)
    assert events(claim).count("approved") == 1


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("approved", "reject"),
        ("rejected", "approve"),
        ("withdrawn", "approve"),
        ("pending", "revoke"),
        ("revoked", "approve"),
    ],
)
def test_transitions_outside_the_state_machine_are_refused(staff, state, action):
    claim = pending_claim()
    Claim.objects.filter(pk=claim.pk).update(state=state)
    service = {
        "approve": services.claim_approve,
        "reject": services.claim_reject,
        "revoke": services.claim_revoke,
    }[action]
    with pytest.raises(services.ClaimError, match=f"Cannot {action}"):
        service(claim=claim, staff=staff, reason="A reason.")
    assert Claim.objects.get(pk=claim.pk).state == state


def test_reject_and_revoke_need_a_reason(staff):
    claim = pending_claim()
    with pytest.raises(services.ClaimError, match="Give a reason"):
        services.claim_reject(claim=claim, staff=staff, reason="  ")
    services.claim_approve(claim=claim, staff=staff)
    with pytest.raises(services.ClaimError, match="Give a reason"):
        services.claim_revoke(claim=claim, staff=staff, reason="")
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.APPROVED


def test_only_staff_decide(claimant):
    claim = pending_claim()
    with pytest.raises(services.ClaimError, match="Only staff"):
        services.claim_approve(claim=claim, staff=claimant)


def test_reject_emails_the_reason(staff, mailoutbox, django_capture_on_commit_callbacks):
    claim = pending_claim()
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_reject(claim=claim, staff=staff, reason="The links are not yours.")
    claim.refresh_from_db()
    assert (claim.state, claim.reason) == (Claim.State.REJECTED, "The links are not yours.")
    assert "was rejected" in mailoutbox[-1].subject
    assert "The links are not yours." in mailoutbox[-1].body


def test_withdraw_by_the_claimant_only(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    claim = pending_claim(record, claimant)
    with pytest.raises(services.ClaimError, match="Only the claimant"):
        services.claim_withdraw(claim=claim, user=make_user())
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_withdraw(claim=claim, user=claimant)
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.WITHDRAWN
    assert mailoutbox[-1].subject == "You withdrew your claim on Rosa Example"
    with pytest.raises(services.ClaimError, match="Cannot withdraw"):
        services.claim_withdraw(claim=claim, user=claimant)
    # A withdrawn claim does not stop a new one.
    assert submit(claimant, record, links=["https://x.example/"]).state == Claim.State.PENDING


def test_at_most_one_approved_claim_per_record_is_a_database_rule(claimant, record):
    Claim.objects.create(author=record, claimant=claimant, state=Claim.State.APPROVED)
    with pytest.raises(IntegrityError):
        Claim.objects.create(author=record, claimant=make_user(), state=Claim.State.APPROVED)


def test_approving_a_rival_of_an_approved_owner_needs_a_revoke_first(staff, record):
    owner_claim = pending_claim(record)
    services.claim_approve(claim=owner_claim, staff=staff)
    rival = pending_claim(record)
    with pytest.raises(services.ClaimError, match="revoke it before approving another"):
        services.claim_approve(claim=rival, staff=staff)
    assert Claim.objects.get(pk=rival.pk).state == Claim.State.PENDING
    services.claim_revoke(claim=owner_claim, staff=staff, reason="Wrong person.")
    assert services.claim_approve(claim=rival, staff=staff).state == Claim.State.APPROVED


# Contests


def test_second_claim_is_accepted_contested_and_both_claimants_are_told(
    record, mailoutbox, django_capture_on_commit_callbacks
):
    first_user, second_user = make_user("first@example.org"), make_user("second@example.org")
    first = pending_claim(record, first_user)
    with django_capture_on_commit_callbacks(execute=True):
        second = pending_claim(record, second_user)
    first.refresh_from_db()
    assert first.contested and second.contested
    assert Claim.Risk.CONTESTED in first.risk_flags and Claim.Risk.CONTESTED in second.risk_flags
    assert "contested" in events(first) and "contested" in events(second)
    told = {m.to[0]: m.subject for m in mailoutbox}
    assert told["first@example.org"] == "Your claim on Rosa Example is contested"
    assert told["second@example.org"] == "We received your claim on Rosa Example"
    assert "This record is contested" in next(
        m.body for m in mailoutbox if m.to == ["second@example.org"]
    )


def test_claiming_an_approved_record_contests_it(staff, record):
    owner = pending_claim(record)
    services.claim_approve(claim=owner, staff=staff)
    rival = pending_claim(record)
    owner.refresh_from_db()
    assert owner.contested and rival.contested and owner.state == Claim.State.APPROVED


def test_approving_one_contested_claim_rejects_the_others_with_a_reason(
    staff, record, mailoutbox, django_capture_on_commit_callbacks
):
    a, b, c = (pending_claim(record) for _ in range(3))
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_approve(claim=b, staff=staff)
    states = {x.pk: x.state for x in Claim.objects.filter(author=record)}
    assert states == {a.pk: "rejected", b.pk: "approved", c.pk: "rejected"}
    for loser in (a, c):
        loser.refresh_from_db()
        assert loser.reason == services.RIVAL_APPROVED_REASON
        assert loser.decided_by == staff
        assert loser.events.filter(action="rejected", reason=loser.reason).exists()
    assert sorted(m.subject for m in mailoutbox) == [
        "Your claim on Rosa Example is approved",
        "Your claim on Rosa Example was rejected",
        "Your claim on Rosa Example was rejected",
    ]
    assert Claim.objects.get(pk=b.pk).contested is False  # nobody contests it any more


def test_a_contest_ends_when_the_rival_withdraws(record):
    mine = pending_claim(record)
    rival_user = make_user()
    rival = pending_claim(record, rival_user)
    services.claim_withdraw(claim=rival, user=rival_user)
    mine.refresh_from_db()
    assert mine.contested is False


# Works: selections, disputes and imports


def test_approval_applies_the_claimants_work_choices_as_theirs(staff, claimant, record):
    mine, not_mine, _ = Authorship.objects.filter(author=record).order_by("id")
    claim = submit(
        claimant,
        record,
        links=["https://x.example/"],
        works_mine=[mine.work_id],
        works_not_mine=[not_mine.work_id],
    )
    services.claim_approve(claim=claim, staff=staff)
    mine.refresh_from_db()
    not_mine.refresh_from_db()
    assert (mine.status, mine.status_changed_by) == ("confirmed", claimant)
    assert (not_mine.status, not_mine.status_changed_by) == ("disputed", claimant)
    assert GraphSlice.objects.filter(author=record, status="queued").exists()


def test_revoking_resets_the_owners_work_decisions(staff, claimant, record):
    authorship = Authorship.objects.filter(author=record).first()
    claim = submit(
        claimant, record, links=["https://x.example/"], works_not_mine=[authorship.work_id]
    )
    services.claim_approve(claim=claim, staff=staff)
    services.claim_revoke(claim=claim, staff=staff, reason="Not the researcher.")
    authorship.refresh_from_db()
    assert (authorship.status, authorship.status_changed_by) == ("asserted", staff)
    event = Claim.objects.get(pk=claim.pk).events.get(action="revoked")
    assert event.reason == "Not the researcher. 1 work decision(s) by the owner were reset."


def test_only_the_owner_confirms_or_disputes_works(staff, claimant, record):
    authorship = Authorship.objects.filter(author=record).first()
    with pytest.raises(services.ClaimError, match="Only the researcher"):
        services.authorship_set_status(
            user=claimant, author=record, work_id=authorship.work_id, status="disputed"
        )
    services.claim_approve(claim=pending_claim(record, claimant), staff=staff)
    with pytest.raises(services.ClaimError, match="confirmed or disputed"):
        services.authorship_set_status(
            user=claimant, author=record, work_id=authorship.work_id, status="asserted"
        )
    with pytest.raises(services.ClaimError, match="not on your record"):
        services.authorship_set_status(
            user=claimant, author=record, work_id=WorkFactory().pk, status="disputed"
        )


def _openalex_work(work_id: str, title: str, authors: list[tuple[str, str]]) -> dict:
    return {
        "id": f"https://openalex.org/{work_id}",
        "doi": f"https://doi.org/10.5555/{work_id.lower()}",
        "title": title,
        "display_name": title,
        "publication_year": 2021,
        "type": "article",
        "authorships": [
            {
                "author_position": "first" if i == 0 else "last",
                "author": {
                    "id": f"https://openalex.org/{author_id}",
                    "display_name": name,
                    "orcid": None,
                },
                "institutions": [],
                "raw_author_name": name,
                "is_corresponding": False,
            }
            for i, (author_id, name) in enumerate(authors)
        ],
    }


def test_a_disputed_work_leaves_the_page_stays_on_record_and_a_reimport_does_not_bring_it_back(
    client, staff, claimant
):
    entities = [
        _openalex_work("W777000001", "A paper that is hers", [("A777000001", "Rosa Example")]),
        _openalex_work(
            "W777000002",
            "A paper by a namesake",
            [("A777000001", "Rosa Example"), ("A777000002", "Co Author")],
        ),
    ]
    import_entities(entities, source_name="test")
    author = Author.objects.get(openalex_id="A777000001")
    services.claim_approve(claim=pending_claim(author, claimant), staff=staff)
    disputed = Authorship.objects.get(author=author, work__openalex_id="W777000002")
    services.authorship_set_status(
        user=claimant, author=author, work_id=disputed.work_id, status="disputed"
    )
    page = f"/researchers/{author.pk}/"
    assert "A paper by a namesake" not in client.get(page).content.decode()

    stats = import_entities(entities, source_name="test again")
    assert not stats.problems

    disputed.refresh_from_db()
    assert disputed.status == "disputed"
    assert disputed.status_changed_by == claimant
    assert disputed.status_changed_at is not None
    html = client.get(page).content.decode()
    assert "A paper by a namesake" not in html
    assert "A paper that is hers" in html
    assert "1 published item(s)" in html


# Concurrency: two reviewers at once


def _race(*calls):
    """Run the calls at the same moment in threads; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as error:  # the test inspects it
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_change_the_claim_once(mailoutbox):
    reviewer_a = make_user("a@bzpeer.example", staff=True)
    reviewer_b = make_user("b@bzpeer.example", staff=True)
    author = AuthorFactory(display_name="Rosa Example")
    claim = pending_claim(author)
    mailoutbox.clear()

    results = _race(
        lambda: services.claim_approve(claim=claim, staff=reviewer_a),
        lambda: services.claim_approve(claim=claim, staff=reviewer_b),
    )

    assert sorted(type(r).__name__ for r in results) == ["Claim", "ClaimError"]
    assert ClaimEvent.objects.filter(claim=claim, action="approved").count() == 1
    assert [m.subject for m in mailoutbox] == ["Your claim on Rosa Example is approved"]


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_rival_claims_at_once_approve_one(mailoutbox):
    reviewer_a = make_user("a@bzpeer.example", staff=True)
    reviewer_b = make_user("b@bzpeer.example", staff=True)
    author = AuthorFactory()
    first, second = pending_claim(author), pending_claim(author)

    results = _race(
        lambda: services.claim_approve(claim=first, staff=reviewer_a),
        lambda: services.claim_approve(claim=second, staff=reviewer_b),
    )

    assert sorted(type(r).__name__ for r in results) == ["Claim", "ClaimError"]
    states = sorted(Claim.objects.filter(author=author).values_list("state", flat=True))
    assert states == ["approved", "rejected"]


# Who may decide a claim: nobody decides their own, one on a record they own,
# or one from a day-old account at their email domain (issue 11, finding 3)


def _snapshot(claim: Claim) -> tuple:
    row = Claim.objects.get(pk=claim.pk)
    return row.state, row.decided_by_id, row.decided_at, row.reason, events(claim)


def test_a_reviewer_cannot_approve_or_reject_their_own_claim(staff, record):
    claim = pending_claim(record, user=staff)
    before = _snapshot(claim)
    for decide in (services.claim_approve, services.claim_reject):
        with pytest.raises(services.ClaimConflict, match="You made this claim"):
            decide(claim=claim, staff=staff, reason="It is me.")
    assert _snapshot(claim) == before
    assert not Authorship.objects.filter(author=record).exclude(status="asserted").exists()


def test_a_reviewer_cannot_revoke_their_own_approved_claim(staff, record):
    other = make_user("other@bzpeer.example", staff=True)
    claim = services.claim_approve(claim=pending_claim(record, user=staff), staff=other)
    before = _snapshot(claim)
    with pytest.raises(services.ClaimConflict, match="You made this claim"):
        services.claim_revoke(claim=claim, staff=staff, reason="Changed my mind.")
    assert _snapshot(claim) == before


def test_the_owner_of_a_record_cannot_decide_a_rival_claim_on_it(staff, record):
    owner = make_user("owner@bzpeer.example", staff=True)
    services.claim_approve(claim=pending_claim(record, user=owner), staff=staff)
    rival = pending_claim(record)
    before = _snapshot(rival)
    with pytest.raises(services.ClaimConflict, match="You own this record"):
        services.claim_reject(claim=rival, staff=owner, reason="It is mine.")
    assert _snapshot(rival) == before
    services.claim_reject(claim=rival, staff=staff, reason="The record has its owner.")
    assert Claim.objects.get(pk=rival.pk).state == Claim.State.REJECTED


def test_a_reviewer_who_also_claims_the_record_cannot_decide_a_rival_claim(staff, record):
    rival = pending_claim(record)
    pending_claim(record, user=staff)
    with pytest.raises(services.ClaimConflict, match="You also claim this record"):
        services.claim_reject(claim=rival, staff=staff, reason="Not you.")
    assert Claim.objects.get(pk=rival.pk).state == Claim.State.PENDING


def test_a_new_account_at_the_reviewers_email_domain_needs_another_reviewer(record):
    colleague = make_user("dean@uni.example", staff=True)
    outsider = make_user("reviewer@bzpeer.example", staff=True)
    claim = pending_claim(record, user=make_user("puppet@uni.example", age_days=0.5))
    before = _snapshot(claim)
    with pytest.raises(services.ClaimConflict, match=r"shares your email domain \(uni\.example\)"):
        services.claim_approve(claim=claim, staff=colleague)
    assert _snapshot(claim) == before
    assert services.claim_approve(claim=claim, staff=outsider).state == Claim.State.APPROVED


def test_the_domain_rule_counts_the_address_verified_for_the_claim_and_subdomains(
    record, mailoutbox, django_capture_on_commit_callbacks
):
    """A sock puppet signed up elsewhere still proved a code at the reviewer's domain."""
    colleague = make_user("dean@uni.example", staff=True)
    puppet = make_user("someone@example.net", age_days=0.2)
    verify_email(
        puppet, record, "rosa@lab.uni.example", mailoutbox, django_capture_on_commit_callbacks
    )
    claim = submit(puppet, record)
    with pytest.raises(services.ClaimConflict, match=r"\(uni\.example\)"):
        services.claim_approve(claim=claim, staff=colleague)


def test_an_established_account_at_the_reviewers_domain_may_be_decided(record):
    colleague = make_user("dean@uni.example", staff=True)
    claim = pending_claim(record, user=make_user("rosa@uni.example", age_days=400))
    assert services.claim_approve(claim=claim, staff=colleague).state == Claim.State.APPROVED


def test_the_domain_rule_holds_for_free_mail_too(record):
    """A day-old gmail account proves no affiliation, but it is the cheapest sock puppet."""
    reviewer = make_user("reviewer.home@gmail.com", staff=True)
    claim = pending_claim(record, user=make_user("rosa.puppet@gmail.com", age_days=0.1))
    with pytest.raises(services.ClaimConflict, match=r"\(gmail\.com\)"):
        services.claim_approve(claim=claim, staff=reviewer)
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.PENDING


def test_review_conflicts_for_a_page_of_claims_in_constant_queries(
    staff, record, django_assert_num_queries
):
    from profiles import selectors

    mine = pending_claim(record, user=staff)
    others = [pending_claim(user=make_user(age_days=0.1)) for _ in range(3)]
    claims = list(
        Claim.objects.select_related("claimant").filter(pk__in=[mine.pk, *[c.pk for c in others]])
    )
    with django_assert_num_queries(2):
        conflicts = selectors.claim_review_conflicts(claims=claims, reviewer=staff)
    assert set(conflicts) == {mine.pk}
    assert conflicts[mine.pk].startswith("You made this claim")


# Free mail is never institutional email (issue 11, finding 7)


def test_a_gmail_address_is_no_institutional_evidence_even_if_an_institution_lists_gmail(
    claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    """An institution imported before the fix may still carry gmail.com."""
    from works.models import Institution

    Institution.objects.filter(pk=record.last_known_institution_id).update(
        email_domains=["uni.example", "gmail.com"]
    )
    verify_email(
        claimant, record, "rosa.example@gmail.com", mailoutbox, django_capture_on_commit_callbacks
    )
    claim = submit(claimant, record)
    assert claim.checks_passed is False
    assert claim.email_institution is None
    check = next(c for c in claim.checks if c["code"] == "institutional_email")
    assert check["passed"] is False
    assert "free-mail" in check["detail"]
    assert Claim.Risk.EMAIL_DOMAIN_MISMATCH in claim.risk_flags


def test_a_claim_matched_on_free_mail_before_the_fix_earns_no_institutional_points(
    claimant, record
):
    from profiles import selectors

    claim = submit(claimant, record, links=["https://rosa.example/"])
    Claim.objects.filter(pk=claim.pk).update(
        email="rosa@gmail.com",
        email_domain="gmail.com",
        email_institution=record.last_known_institution,
        checks_passed=True,
    )
    counts = selectors.work_counts(author=record)
    status = selectors.claim_status(author=record, user=claimant, counts=counts)
    assert status.facts.institutional_email is False
