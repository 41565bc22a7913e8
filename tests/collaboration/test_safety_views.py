"""Block, report and the staff's report pages through the test client, plain and with htmx."""

import re

import pytest
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse

from bzpeer.outbox.models import OutboundEmail
from profiles.collaboration import safety
from profiles.collaboration.models import NOTE_MAX, Block, Invitation, Report, Suspension
from tests.collaboration import test_safety_services
from tests.collaboration.test_safety_services import conversation_between, invitation_between, post
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user
from tests.world import writes

pytestmark = pytest.mark.django_db

# The same two people as the services' tests.
sender = test_safety_services.sender
recipient = test_safety_services.recipient

HTMX = {"HX-Request": "true"}
HEADER_INBOX_COUNT = 1  # every signed-in page's header
# session with its user, the second factor, the page's count and rows, the open count
STAFF_LIST_QUERIES = 5 + HEADER_INBOX_COUNT
# session with its user, the second factor, the report, its messages, history:
# decisions, suspension
REPORT_PAGE_QUERIES = 6 + HEADER_INBOX_COUNT


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def staff_client(client):
    force_login_with_totp(client, make_user("reviewer@bzpeer.example", staff=True))
    return client


# Block


def test_block_from_a_conversation_goes_back_to_it_and_closes_it(client, sender, recipient):
    conversation = conversation_between(sender, recipient, "hi")
    client.force_login(recipient)
    back = f"/inbox/{conversation.pk}/"
    response = client.post(
        reverse("safety:block", args=[conversation.invitation_id]),
        {"action": "block", "conversation": conversation.pk, "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    assert Block.objects.filter(blocker=recipient, blocked=sender).exists()
    conversation.refresh_from_db()
    assert conversation.closed_by == recipient


def test_block_with_htmx_answers_the_controls_with_unblock(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    response = client.post(
        reverse("safety:block", args=[invitation.pk]), {"action": "block"}, headers=HTMX
    )
    page = text_of(response)
    assert response.status_code == 200
    assert 'id="safety-actions"' in page and "You blocked this person" in page
    assert 'value="unblock"' in page and "<html" not in page
    response = client.post(
        reverse("safety:block", args=[invitation.pk]), {"action": "unblock"}, headers=HTMX
    )
    assert "Block this person" in text_of(response)
    assert not Block.objects.exists()


def test_block_goes_nowhere_but_this_site(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    response = client.post(
        reverse("safety:block", args=[invitation.pk]),
        {"action": "block", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("safety:blocked")


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_block_without_an_action_is_a_400_that_writes_nothing(client, sender, recipient, headers):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    before = writes()
    response = client.post(
        reverse("safety:block", args=[invitation.pk]), {"action": "explode"}, headers=headers
    )
    assert response.status_code == 400 and "Say whether to block or unblock" in text_of(response)
    assert {t: n for t, n in writes().items() if n != before.get(t, 0)} == {}


def test_nobody_else_blocks_through_someone_elses_invitation(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(make_user())
    response = client.post(reverse("safety:block", args=[invitation.pk]), {"action": "block"})
    assert response.status_code == 404 and not Block.objects.exists()
    response = client.post(
        reverse("safety:block", args=[invitation.pk + 1000]), {"action": "block"}
    )
    assert response.status_code == 404


def test_people_you_blocked_lists_them_and_unblocks(client, sender, recipient):
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    client.force_login(recipient)
    page = text_of(client.get(reverse("safety:blocked")))
    assert "People you blocked" in page and sender.get_username() in page
    response = client.post(reverse("safety:unblock", args=[sender.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("safety:blocked")
    assert not Block.objects.exists()
    assert "You have not blocked anyone" in text_of(client.get(reverse("safety:blocked")))


def test_unblock_with_htmx_answers_the_list(client, sender, recipient):
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    client.force_login(recipient)
    response = client.post(reverse("safety:unblock", args=[sender.pk]), headers=HTMX)
    page = text_of(response)
    assert response.status_code == 200 and 'id="blocked-list"' in page and "<html" not in page
    assert "Unblocked" in page and "You have not blocked anyone" in page


def test_unblock_of_someone_not_blocked_is_a_404(client, sender, recipient):
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    client.force_login(make_user())
    assert client.post(reverse("safety:unblock", args=[sender.pk])).status_code == 404
    assert Block.objects.count() == 1


def test_the_blocked_list_pins_its_queries(client, recipient, django_assert_num_queries):
    for _ in range(5):
        safety.block_set(blocker=recipient, blocked=make_user(), blocking=True)
    client.force_login(recipient)
    client.get(reverse("safety:blocked"))  # the session is warm
    with django_assert_num_queries(3):  # session with its user, blocks, the header's inbox count
        client.get(reverse("safety:blocked"))


# Report


def report_url(invitation) -> str:
    return reverse("safety:report", args=[invitation.pk])


def test_report_an_invitation_then_the_page_says_so(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    page = text_of(client.get(report_url(invitation)))
    assert "Report an invitation to staff" in page and "Spam or advertising" in page
    response = client.post(report_url(invitation), {"reason": "spam", "details": "Ads."})
    assert response.status_code == 302 and response["Location"] == report_url(invitation)
    report = Report.objects.get()
    assert (report.reporter, report.reported_user, report.details) == (recipient, sender, "Ads.")
    page = text_of(client.get(report_url(invitation)))
    assert "You reported this on" in page and "spam or advertising" in page


def test_report_a_conversation_with_htmx_answers_the_controls(client, sender, recipient):
    conversation = conversation_between(sender, recipient, "one", "two")
    client.force_login(sender)
    response = client.post(
        report_url(conversation.invitation),
        {"reason": "harassment", "conversation": "True"},
        headers=HTMX,
    )
    page = text_of(response)
    assert response.status_code == 200 and "<html" not in page
    assert "staff will look at your report" in page and "You reported this to staff" in page
    report = Report.objects.get()
    assert report.conversation == conversation and report.reported_user == recipient
    assert report.last_message_id == conversation.last_message_id


def test_reporting_twice_gets_a_friendly_400(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    client.post(report_url(invitation), {"reason": "spam"})
    response = client.post(report_url(invitation), {"reason": "other"})
    assert response.status_code == 400 and "You have reported this already" in text_of(response)
    assert Report.objects.get().reason == "spam"


@pytest.mark.parametrize("headers", [{}, HTMX])
@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"reason": "boredom"}, "Choose a reason from the list."),
        ({}, "Choose a reason from the list."),
        ({"reason": "spam", "details": "x" * (NOTE_MAX + 1)}, f"Keep the details to {NOTE_MAX}"),
        ({"reason": "spam", "conversation": "True"}, "has no conversation to report"),
    ],
)
def test_bad_report_input_is_a_400_with_the_reason_and_writes_nothing(
    client, sender, recipient, data, says, headers
):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    before = writes()
    response = client.post(report_url(invitation), data, headers=headers)
    assert response.status_code == 400 and says in text_of(response)
    assert {t: n for t, n in writes().items() if n != before.get(t, 0)} == {}


def test_the_sender_of_a_pending_invitation_may_not_report_it(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(sender)
    assert "Only the person an invitation was sent to" in text_of(
        client.get(report_url(invitation))
    )
    response = client.post(report_url(invitation), {"reason": "spam"})
    assert response.status_code == 403 and "Only the person" in text_of(response)
    assert not Report.objects.exists()


def test_a_stranger_and_staff_cannot_report_or_see_the_form(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    for person in (make_user(), make_user("staff@bzpeer.example", staff=True)):
        client.force_login(person)
        assert client.get(report_url(invitation)).status_code == 404
        assert client.post(report_url(invitation), {"reason": "spam"}).status_code == 404
    assert not Report.objects.exists()


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_too_many_reports_get_a_clear_429(client, settings, sender, recipient, headers):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "report_submit": "2/h/user,30/h/ip"}
    client.force_login(recipient)
    for _ in range(2):
        client.post(report_url(invitation_between(make_user(), recipient)), {"reason": "spam"})
    invitation = invitation_between(sender, recipient)
    response = client.post(report_url(invitation), {"reason": "spam"}, headers=headers)
    assert response.status_code == 429 and "Too many reports sent" in text_of(response)
    assert not Report.objects.filter(invitation=invitation).exists()


def render_controls(user, **context) -> str:
    """The partial as an invitation or conversation page includes it."""
    request = RequestFactory().get("/inbox/")
    request.user = user
    request.htmx = False
    template = engines["django"].from_string('{% include "collaboration/_safety_actions.html" %}')
    return re.sub(r"\s+", " ", template.render({"conversation": None, **context}, request))


def test_the_controls_offer_the_recipient_block_and_report(sender, recipient):
    invitation = invitation_between(sender, recipient)
    html = render_controls(recipient, invitation=invitation, other_user=sender)
    assert "Block this person" in html and "Report this invitation to staff" in html
    assert f'action="{report_url(invitation)}"' in html and "csrfmiddlewaretoken" in html


def test_the_controls_offer_the_sender_no_report_of_their_own_invitation(sender, recipient):
    invitation = invitation_between(sender, recipient)
    html = render_controls(sender, invitation=invitation, other_user=recipient)
    assert "Block this person" in html and "Report" not in html


def test_the_controls_on_a_conversation_report_it_and_cost_one_query(
    sender, recipient, django_assert_num_queries
):
    conversation = conversation_between(sender, recipient, "hi")
    invitation = conversation.invitation
    with django_assert_num_queries(1):
        html = render_controls(
            sender, invitation=invitation, other_user=recipient, conversation=conversation
        )
    assert "Report this conversation to staff" in html and 'name="conversation"' in html


# Staff


def reported(sender, reporter=None, *bodies, reason="spam") -> Report:
    conversation = conversation_between(sender, reporter or make_user(), *bodies)
    return safety.report_submit(
        reporter=conversation.invitation.recipient,
        invitation=conversation.invitation,
        conversation=conversation,
        reason=reason,
    )


def test_the_staff_list_shows_open_reports_first(staff_client, sender):
    first, second = reported(sender), reported(sender, reason="harassment")
    safety.report_decide(
        report=first, staff=make_user(staff=True), decision="warn", note="Be polite."
    )
    page = text_of(staff_client.get(reverse("safety:staff_reports")))
    assert page.index(f"Report {second.pk}:") < page.index(f"Report {first.pk}:")
    assert "1 other report about them" in page and "Sender warned by" in page
    decided = text_of(staff_client.get(reverse("safety:staff_reports") + "?state=decided"))
    assert f"Report {first.pk}:" in decided and f"Report {second.pk}:" not in decided


def test_the_staff_list_page_that_does_not_exist_shows_the_first_with_a_note(staff_client, sender):
    report = reported(sender)
    page = text_of(staff_client.get(reverse("safety:staff_reports") + "?page=0"))
    assert "There is no page 0; showing page 1, the first." in page
    assert f"Report {report.pk}:" in page


def test_the_staff_list_with_htmx_answers_the_list_only(staff_client, sender):
    reported(sender)
    response = staff_client.get(reverse("safety:staff_reports") + "?state=open", headers=HTMX)
    page = text_of(response)
    assert response.status_code == 200 and 'id="reports"' in page and "<html" not in page


def test_the_staff_list_keeps_its_query_count_whatever_the_number_of_reports(
    staff_client, sender, django_assert_num_queries
):
    reported(sender)
    staff_client.get(reverse("safety:staff_reports"))
    with django_assert_num_queries(STAFF_LIST_QUERIES):
        staff_client.get(reverse("safety:staff_reports"))
    for _ in range(5):
        reported(make_user())
    with django_assert_num_queries(STAFF_LIST_QUERIES):
        staff_client.get(reverse("safety:staff_reports"))


def test_the_report_page_keeps_its_query_count(staff_client, sender, django_assert_num_queries):
    report = reported(sender, None, "one", "two", "three")
    staff_client.get(reverse("safety:staff_report_detail", args=[report.pk]))
    with django_assert_num_queries(REPORT_PAGE_QUERIES):
        staff_client.get(reverse("safety:staff_report_detail", args=[report.pk]))


def test_staff_read_the_reported_messages_and_none_written_after(staff_client, sender, recipient):
    conversation = conversation_between(sender, recipient, "first words", "second words")
    report = safety.report_submit(
        reporter=recipient,
        invitation=conversation.invitation,
        conversation=conversation,
        reason="harassment",
    )
    post(conversation, sender, "said once reported")
    page = text_of(staff_client.get(reverse("safety:staff_report_detail", args=[report.pk])))
    assert "first words" in page and "second words" in page
    assert "said once reported" not in page
    assert "Shall we write together?" in page and "Our work fits." in page


def test_staff_never_read_an_unreported_conversation(staff_client, sender, recipient):
    reported_one = reported(sender, None, "reported words")
    secret = conversation_between(sender, recipient, "unreported secret")
    # The other conversation of the same people: not reported, never shown.
    pages = [
        staff_client.get(reverse("safety:staff_reports")),
        staff_client.get(reverse("safety:staff_report_detail", args=[reported_one.pk])),
    ]
    assert all("unreported secret" not in text_of(page) for page in pages)
    # Staff are not parties to it: the controls' pages are 404s too.
    assert staff_client.get(report_url(secret.invitation)).status_code == 404
    assert (
        staff_client.get(
            reverse("safety:staff_report_detail", args=[reported_one.pk + 1000])
        ).status_code
        == 404
    )


def test_an_invitation_report_shows_staff_no_messages(staff_client, sender, recipient):
    conversation = conversation_between(sender, recipient, "private words")
    report = safety.report_submit(
        reporter=recipient, invitation=conversation.invitation, reason="spam"
    )
    page = text_of(staff_client.get(reverse("safety:staff_report_detail", args=[report.pk])))
    assert "private words" not in page and "Shall we write together?" in page


def test_staff_pages_are_404s_for_everyone_else(client, sender):
    report = reported(sender)
    client.force_login(report.reporter)
    for name in ("staff_reports", "staff_report_detail"):
        args = [] if name == "staff_reports" else [report.pk]
        assert client.get(reverse(f"safety:{name}", args=args)).status_code == 404
    response = client.post(
        reverse("safety:staff_report_decide", args=[report.pk]), {"decision": "dismiss"}
    )
    assert response.status_code == 404
    report.refresh_from_db()
    assert report.decision == ""


def test_staff_without_the_second_factor_get_the_page_that_says_so(client, sender):
    report = reported(sender)
    client.force_login(make_user("plain@bzpeer.example", staff=True))
    response = client.get(reverse("safety:staff_report_detail", args=[report.pk]))
    assert response.status_code == 403 and "private" not in text_of(response)


def test_decide_then_the_page_says_who_and_when(staff_client, sender):
    report = reported(sender)
    response = staff_client.post(
        reverse("safety:staff_report_decide", args=[report.pk]),
        {"decision": "suspend", "note": "Bulk spam."},
    )
    assert response.status_code == 302
    page = text_of(staff_client.get(reverse("safety:staff_report_detail", args=[report.pk])))
    assert "Sender may no longer invite or write" in page and "By reviewer@bzpeer.example" in page
    assert "Bulk spam." in page and "Lift the suspension" in page
    assert Suspension.objects.get().user == sender


def test_decide_with_htmx_answers_the_decision_and_a_second_one_409(staff_client, sender):
    report = reported(sender)
    decide = reverse("safety:staff_report_decide", args=[report.pk])
    response = staff_client.post(decide, {"decision": "warn", "note": "Calm down."}, headers=HTMX)
    page = text_of(response)
    assert response.status_code == 200 and 'id="decision"' in page and "<html" not in page
    assert "Sender warned" in page and OutboundEmail.objects.count() == 1
    response = staff_client.post(decide, {"decision": "dismiss"}, headers=HTMX)
    assert response.status_code == 409 and "decided already" in text_of(response)
    report.refresh_from_db()
    assert report.decision == "warn" and OutboundEmail.objects.count() == 1


@pytest.mark.parametrize("headers", [{}, HTMX])
@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"decision": "ban"}, "Choose dismiss, warn or suspend."),
        ({"decision": "warn"}, "Say why in the note"),
        ({"decision": "dismiss", "note": "x" * (NOTE_MAX + 1)}, "Keep the note"),
    ],
)
def test_bad_decisions_are_a_400_and_write_nothing(staff_client, sender, data, says, headers):
    report = reported(sender)
    before = writes()
    response = staff_client.post(
        reverse("safety:staff_report_decide", args=[report.pk]), data, headers=headers
    )
    assert response.status_code == 400 and says in text_of(response)
    changed = {t for t, n in writes().items() if n != before.get(t, 0)}
    assert changed <= {"bzpeer_session"}


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_lift_a_suspension_then_again_is_a_409(staff_client, sender, headers):
    report = reported(sender)
    safety.report_decide(report=report, staff=make_user(staff=True), decision="suspend", note="x")
    lift = reverse("safety:staff_suspension_lift", args=[report.pk])
    response = staff_client.post(lift, headers=headers)
    assert response.status_code == (200 if headers else 302)
    assert Suspension.objects.get().lifted_by is not None
    assert safety.contact_refusal(sender=sender, recipient=make_user()) is None
    response = staff_client.post(lift, headers=headers)
    assert response.status_code == 409 and "not suspended now" in text_of(response)


def test_a_hidden_invitation_stays_pending_for_its_sender(client, sender, recipient):
    invitation = invitation_between(sender, recipient)
    client.force_login(recipient)
    client.post(reverse("safety:block", args=[invitation.pk]), {"action": "block"})
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.PENDING and invitation.hidden_from_recipient
