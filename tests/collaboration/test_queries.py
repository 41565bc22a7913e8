"""Query counts: the inbox, a conversation and the poll cost the same whatever their size."""

import pytest

from profiles.collaboration import services
from tests.collaboration.conftest import own, send, set_openness
from tests.factories import AuthorFactory
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SESSION_AND_USER = 1  # one statement (bzpeer.sessions.store)
# received, sent, conversations, and the header's unread count
INBOX_QUERIES = SESSION_AND_USER + 4
# both members (the membership check), messages, the read marker, the header's count,
# and the block and report controls' state (safety.safety_state)
CONVERSATION_QUERIES = SESSION_AND_USER + 5
POLL_QUERIES = SESSION_AND_USER + 1


def _invitations(owner, record, n):
    for _ in range(n):
        sender = make_user()
        invitation = send(sender, record)
        services.invitation_accept(invitation=invitation, user=owner)
        send(sender, record, subject="Again")


@pytest.mark.parametrize("n", [1, 8])
def test_the_inbox_costs_the_same_for_1_and_8_invitations(
    client, owner, record, django_assert_num_queries, n
):
    _invitations(owner, record, n)
    theirs = AuthorFactory()
    other = make_user()
    own(other, theirs)
    set_openness(other, theirs)
    send(owner, theirs)
    client.force_login(owner)
    with django_assert_num_queries(INBOX_QUERIES):
        response = client.get("/inbox/")
    assert response.status_code == 200


@pytest.mark.parametrize("n", [1, 30])
def test_a_conversation_page_and_its_poll_cost_the_same_for_1_and_30_messages(
    client, conversation, sender, owner, django_assert_num_queries, n
):
    for i in range(n):
        services.message_post(
            conversation=conversation, sender=[sender, owner][i % 2], recipient=owner, body=f"m{i}"
        )
    client.force_login(owner)
    with django_assert_num_queries(CONVERSATION_QUERIES):
        page = client.get(f"/inbox/{conversation.pk}/")
    assert page.status_code == 200
    with django_assert_num_queries(POLL_QUERIES):
        poll = client.get(f"/inbox/{conversation.pk}/messages/", {"after": 0}, headers=HTMX)
    assert poll.status_code == 200
    last = conversation.messages.last().pk
    read = conversation.members.get(user=sender).last_read_message_id
    with django_assert_num_queries(POLL_QUERIES):
        nothing = client.get(
            f"/inbox/{conversation.pk}/messages/", {"after": last, "read": read}, headers=HTMX
        )
    assert nothing.status_code == 204 and nothing.content == b""


def test_a_signed_in_visitor_on_an_open_record_pays_no_query_for_the_invite_panel(
    client, record, sender, django_assert_num_queries
):
    client.force_login(sender)
    client.get(f"/researchers/{record.pk}/")  # the shared page is cached from here on
    # Their follow and claim, their standing for the invitation and the inbox count are
    # read with the session and its user: one statement (profiles.selectors.visitor_read_ahead).
    with django_assert_num_queries(SESSION_AND_USER):
        response = client.get(f"/researchers/{record.pk}/")
    assert "Invite to collaborate" in response.content.decode()
