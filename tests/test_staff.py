"""Staff pages (/staff/..., the Django admin) open only to staff whose session used a second factor.

Staff sign in through the site's own log-in (rate-limited like everyone's),
then give a TOTP code; /admin/login/ has no password form of its own.
"""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse

from profiles import services
from profiles.models import Claim
from tests.factories import AuthorFactory
from tests.mfa import add_totp, force_login_with_totp, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, *, staff: bool = False):
    email = f"{username}@bzpeer.example"
    user = get_user_model().objects.create_user(
        username, email, PASSWORD, is_staff=staff, is_superuser=staff
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def staff():
    return make_user("reviewer", staff=True)


@pytest.fixture
def claim():
    return services.claim_submit(
        user=make_user("claimant"),
        author=AuthorFactory(display_name="Rosa Example"),
        links=["https://rosa.example/"],
        statement="It is me.",
        works_mine=[],
        works_not_mine=[],
    )


def staff_pages(claim) -> list[str]:
    return [
        "/staff/claims/",
        f"/staff/claims/{claim.pk}/",
        f"/claims/{claim.pk}/",  # a claim page, as a reviewer who did not make it
        "/admin/",
        reverse("admin:profiles_claim_change", args=[claim.pk]),
    ]


def log_in(client, user, **extra):
    return client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, **extra
    )


# /admin/login/ is not a second door


def test_admin_login_sends_staff_to_the_site_log_in_with_next(client):
    response = client.get("/admin/login/?next=/admin/works/work/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fworks%2Fwork%2F"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/admin/", "javascript:alert(1)"]
)
def test_admin_login_keeps_next_on_the_site(client, next_url):
    response = client.get("/admin/login/", {"next": next_url})
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_admin_login_accepts_no_password(client, staff):
    for login in (staff.username, staff.email):
        response = client.post(
            "/admin/login/?next=/admin/", {"username": login, "password": PASSWORD}
        )
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert "_auth_user_id" not in client.session


def test_fifty_wrong_passwords_by_any_route_then_the_right_one_is_refused(client, staff):
    routes = [
        ("/admin/login/", {"username": staff.username}),
        ("/admin/login/", {"username": staff.email}),
        (reverse("account_login"), {"login": staff.email}),
    ]
    for attempt in range(50):
        path, data = routes[attempt % len(routes)]
        client.post(path, {**data, "password": f"guess-{attempt}"})
    for path, data in routes:
        client.post(path, {**data, "password": PASSWORD})
        assert "_auth_user_id" not in client.session, path
    assert "Too many failed login attempts" in log_in(client, staff).content.decode()
    assert "_auth_user_id" not in client.session


# Who gets what


def test_non_staff_still_get_404_on_staff_pages_and_the_admin(client, claim):
    client.force_login(make_user("stranger"))
    for path in staff_pages(claim):
        response = client.get(path, follow=True)
        assert response.status_code == 404, path
        assert "rosa.example" not in response.content.decode()


def test_anonymous_visitors_get_404_on_staff_pages_and_the_log_in_for_the_admin(client, claim):
    assert client.get("/staff/claims/").status_code == 404
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"


def test_staff_without_totp_get_a_page_to_set_it_up_and_no_staff_data(client, staff, claim):
    client.force_login(staff)  # a password-only session, as before two-factor existed
    for path in staff_pages(claim):
        response = client.get(path, follow=True)
        html = response.content.decode()
        assert response.status_code == 403, path
        assert "Set up two-factor authentication" in html, path
        assert f'href="{reverse("mfa_activate_totp")}"' in html, path
        assert "rosa.example" not in html and "claimant@bzpeer.example" not in html, path


def test_staff_with_totp_and_a_password_only_session_are_asked_for_the_code(client, staff, claim):
    add_totp(staff)
    client.force_login(staff)
    response = client.get(f"/staff/claims/{claim.pk}/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "Confirm with your authenticator app" in html
    assert f"{reverse('mfa_reauthenticate')}?next=/staff/claims/{claim.pk}/" in html
    assert "rosa.example" not in html


def test_staff_without_a_second_factor_cannot_decide(client, staff, claim):
    client.force_login(staff)
    response = client.post(f"/staff/claims/{claim.pk}/approve/", {"reason": ""})
    assert response.status_code == 403
    htmx = client.post(f"/staff/claims/{claim.pk}/approve/", {"reason": ""}, headers=HTMX)
    assert htmx["HX-Refresh"] == "true"
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.PENDING


def test_staff_with_a_second_factor_reach_every_staff_page(client, staff, claim):
    force_login_with_totp(client, staff)
    for path in staff_pages(claim):
        assert client.get(path).status_code == 200, path


# The journeys through allauth's pages


def test_staff_log_in_asks_for_the_totp_code_then_opens_the_queue(client, staff):
    secret = add_totp(staff)
    response = log_in(client, staff, QUERY_STRING="next=/staff/claims/")
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/staff/claims/").status_code == 404  # not signed in yet

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert "Incorrect code" in wrong.content.decode()
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response["Location"] == "/staff/claims/"
    assert client.get("/staff/claims/").status_code == 200


def test_staff_who_set_up_totp_confirm_a_code_and_come_back(client, staff):
    log_in(client, staff)
    assert client.get("/staff/claims/").status_code == 403

    asked = client.get(reverse("mfa_activate_totp"))  # allauth asks for the password again
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    asked = client.get("/staff/claims/")
    assert asked.status_code == 403
    assert "Confirm with your authenticator app" in asked.content.decode()

    response = client.post(
        f"{reverse('mfa_reauthenticate')}?next=/staff/claims/", {"code": totp_code(secret)}
    )
    assert response["Location"] == "/staff/claims/"
    assert client.get("/staff/claims/").status_code == 200


def test_a_staff_members_own_claim_shows_reviewer_only_details_only_with_a_second_factor(client):
    """Risk flags, reviewers' addresses and "Review as staff" follow the staff pages' rule."""
    own = make_user("newcomer", staff=True)  # a day-old account: the claim is flagged
    claim = services.claim_submit(
        user=own,
        author=AuthorFactory(display_name="Rosa Example"),
        links=["https://rosa.example/"],
        statement="It is me.",
        works_mine=[],
        works_not_mine=[],
    )
    other = get_user_model().objects.create_user(
        "other", "other@reviewers.example", PASSWORD, is_staff=True
    )
    services.claim_reject(claim=claim, staff=other, reason="No proof.")
    assert claim.risk_flags
    page = f"/claims/{claim.pk}/"

    client.force_login(own)  # password only
    body = client.get(page).content.decode()
    assert "Account younger than a day" not in body
    assert "other@reviewers.example" not in body
    assert "BZPEER staff" in body
    assert "Review as staff" not in body

    force_login_with_totp(client, own)
    body = client.get(page).content.decode()
    assert "Account younger than a day" in body
    assert "other@reviewers.example" in body
    assert "Review as staff" in body
