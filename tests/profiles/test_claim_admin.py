"""The Django admin decides claims through the same services as the staff queue."""

import pytest
from django.urls import reverse

from profiles import services
from profiles.models import Claim
from tests.factories import AuthorFactory
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:profiles_claim_changelist")


@pytest.fixture
def admin_client(client):
    force_login_with_totp(client, make_user("admin@bzpeer.example", staff=True, is_superuser=True))
    return client


def pending():
    return services.claim_submit(
        user=make_user(),
        author=AuthorFactory(),
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )


def test_admin_approve_action_goes_through_the_service(
    admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    claim = pending()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST, {"action": "approve_claims", "_selected_action": [claim.pk]}, follow=True
        )
    assert "1 claim(s) approved." in response.content.decode()
    claim.refresh_from_db()
    assert claim.state == Claim.State.APPROVED
    assert claim.events.filter(action="approved", actor__email="admin@bzpeer.example").exists()
    assert mailoutbox[-1].subject.endswith("is approved")


def test_admin_approve_twice_warns_and_changes_once(admin_client):
    claim = pending()
    data = {"action": "approve_claims", "_selected_action": [claim.pk]}
    admin_client.post(CHANGELIST, data)
    response = admin_client.post(CHANGELIST, data, follow=True)
    assert "Cannot approve: the claim is approved now" in response.content.decode()
    assert claim.events.filter(action="approved").count() == 1


def test_admin_reject_asks_for_a_reason_first(admin_client):
    claim = pending()
    data = {"action": "reject_claims", "_selected_action": [claim.pk]}
    ask = admin_client.post(CHANGELIST, data)
    assert ask.status_code == 200
    assert "These claims will be rejected" in ask.content.decode()
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.PENDING

    empty = admin_client.post(CHANGELIST, {**data, "apply": "1", "reason": ""})
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.PENDING

    done = admin_client.post(CHANGELIST, {**data, "apply": "1", "reason": "Not them."}, follow=True)
    assert "1 claim(s) rejected." in done.content.decode()
    claim.refresh_from_db()
    assert (claim.state, claim.reason) == (Claim.State.REJECTED, "Not them.")


def test_admin_cannot_edit_a_claims_state_directly(admin_client):
    claim = pending()
    page = admin_client.get(reverse("admin:profiles_claim_change", args=[claim.pk]))
    assert page.status_code == 200
    assert 'name="state"' not in page.content.decode()


def test_admin_cannot_approve_their_own_claim(client):
    admin = make_user("admin@bzpeer.example", staff=True, is_superuser=True)
    claim = services.claim_submit(
        user=admin,
        author=AuthorFactory(),
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    force_login_with_totp(client, admin)
    response = client.post(
        CHANGELIST, {"action": "approve_claims", "_selected_action": [claim.pk]}, follow=True
    )
    assert "You made this claim" in response.content.decode()
    claim.refresh_from_db()
    assert claim.state == Claim.State.PENDING and claim.decided_by is None
