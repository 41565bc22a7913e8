import json
import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bzpeer.sessions.models import Session
from profiles.models import Follow
from tests.factories import AuthorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"


@pytest.fixture
def user():
    user = get_user_model().objects.create_user("ada", "ada@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def follow_url(author) -> str:
    return reverse("profiles:follow", args=[author.pk])


def test_follow_without_javascript_redirects_back_to_the_page(client, user):
    author = AuthorFactory()
    client.force_login(user)
    response = client.post(follow_url(author), {"action": "follow"})
    assert response.status_code == 302
    assert response["Location"] == reverse("profiles:researcher_detail", args=[author.pk])
    assert Follow.objects.filter(user=user, author=author).exists()


def test_follow_with_htmx_returns_the_button_with_the_new_count(client, user):
    author = AuthorFactory()
    client.force_login(user)
    response = client.post(follow_url(author), {"action": "follow"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'aria-pressed="true"' in html and 'aria-label="followers">1<' in html
    assert 'id="follower-stat" hx-swap-oob="true"><strong>1</strong> follower<' in html


def test_double_follow_counts_once(client, user):
    author = AuthorFactory()
    client.force_login(user)
    client.post(follow_url(author), {"action": "follow"})
    client.post(follow_url(author), {"action": "follow"})
    assert Follow.objects.filter(author=author).count() == 1


def test_unfollow_removes_the_follow_and_is_idempotent(client, user):
    author = AuthorFactory()
    Follow.objects.create(user=user, author=author)
    client.force_login(user)
    response = client.post(
        follow_url(author), {"action": "unfollow"}, headers={"HX-Request": "true"}
    )
    assert 'aria-label="followers">0<' in response.content.decode()
    assert client.post(follow_url(author), {"action": "unfollow"}).status_code == 302
    assert not Follow.objects.exists()


def test_missing_or_unknown_action_is_a_400_with_a_message(client, user):
    author = AuthorFactory()
    client.force_login(user)
    for data in ({}, {"action": "explode"}):
        response = client.post(follow_url(author), data)
        assert response.status_code == 400
        assert "follow or unfollow" in response.content.decode()
    assert not Follow.objects.exists()


def test_follow_of_unknown_researcher_is_404(client, user):
    client.force_login(user)
    assert client.post("/researchers/999999/follow/", {"action": "follow"}).status_code == 404


def test_get_on_follow_never_changes_a_signed_in_users_follows(client, user):
    author = AuthorFactory()
    client.force_login(user)
    response = client.get(follow_url(author))
    assert response.status_code == 302
    assert response["Location"] == reverse("profiles:researcher_detail", args=[author.pk])
    assert not Follow.objects.exists()
    assert client.put(follow_url(author)).status_code == 405


def test_follow_without_csrf_token_is_forbidden(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(follow_url(AuthorFactory()), {"action": "follow"}).status_code == 403
    assert not Follow.objects.exists()


def test_anonymous_follow_leads_to_log_in_then_back_following(client, user):
    author = AuthorFactory()
    page = reverse("profiles:researcher_detail", args=[author.pk])
    response = client.post(follow_url(author), {"action": "follow"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={page}"

    logged_in = client.post(
        response["Location"], {"login": user.email, "password": PASSWORD}, follow=True
    )
    assert logged_in.redirect_chain[-1][0] == page
    assert Follow.objects.filter(user=user, author=author).exists()
    assert f"You now follow {author.display_name}." in logged_in.content.decode()


def test_anonymous_page_follows_through_a_get_that_leads_through_log_in(client, user):
    author = AuthorFactory()
    page = reverse("profiles:researcher_detail", args=[author.pk])
    html = client.get(page).content.decode()
    assert f'<form id="follow-form" method="get" action="{follow_url(author)}">' in html
    assert "csrfmiddlewaretoken" not in html and "X-CSRFToken" not in html

    response = client.get(follow_url(author))
    assert response["Location"] == f"{reverse('account_login')}?next={page}"
    assert not Follow.objects.exists()
    logged_in = client.post(
        response["Location"], {"login": user.email, "password": PASSWORD}, follow=True
    )
    assert logged_in.redirect_chain[-1][0] == page
    assert Follow.objects.filter(user=user, author=author).exists()
    assert 'aria-pressed="true"' in logged_in.content.decode()


def test_the_log_in_and_sign_up_pages_name_whom_the_visitor_will_follow(client):
    author = AuthorFactory(display_name="Grace Hopper")
    assert "pending-follow" not in client.get(reverse("account_login")).content.decode()

    response = client.get(follow_url(author), follow=True)

    assert "you will follow <strong>Grace Hopper</strong>" in response.content.decode()
    signup = client.get(reverse("account_signup")).content.decode()
    assert "you will follow <strong>Grace Hopper</strong>" in signup


def test_a_wish_to_follow_lapses_after_half_an_hour(client, user, monkeypatch):
    from profiles import signals

    author = AuthorFactory()
    client.get(follow_url(author))
    clicked = time.time()
    later = clicked + signals.PENDING_FOLLOW_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)

    login = client.get(reverse("account_login")).content.decode()
    logged_in = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, follow=True
    )

    assert "pending-follow" not in login
    assert logged_in.status_code == 200
    assert not Follow.objects.exists()
    assert "You now follow" not in logged_in.content.decode()


def test_a_wish_to_follow_survives_sign_up_and_email_confirmation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    author = AuthorFactory(display_name="Grace Hopper")
    client.get(follow_url(author))

    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves on commit
        client.post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    confirm = re.search(r"/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)
    confirmed = client.post(confirm, follow=True)

    assert Follow.objects.filter(user__email="new@example.org", author=author).exists()
    assert "You now follow Grace Hopper." in confirmed.content.decode()
    assert client.cookies["pending_follow"].value == ""


def test_anonymous_follow_links_write_no_session_rows(client):
    authors = AuthorFactory.create_batch(3)

    for i in range(12):
        visitor = client if i % 2 else Client()
        response = visitor.get(
            follow_url(authors[i % 3]), headers={"HX-Request": "true"} if i % 3 else {}
        )
        assert response.status_code in (200, 302)

    assert Session.objects.count() == 0


def test_the_wish_is_a_signed_cookie_of_half_an_hour(client):
    author = AuthorFactory()

    response = client.get(follow_url(author))

    cookie = response.cookies["pending_follow"]
    assert cookie["max-age"] == 1800
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie.value != str(author.pk)  # signed, not the bare id


def test_a_forged_or_altered_wish_follows_no_one(client, user):
    author, other = AuthorFactory(), AuthorFactory(display_name="Someone Else")
    client.get(follow_url(author))
    signed = client.cookies["pending_follow"].value
    client.cookies["pending_follow"] = signed.replace(str(author.pk), str(other.pk), 1)

    login = client.get(reverse("account_login")).content.decode()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert "pending-follow" not in login
    assert not Follow.objects.exists()


def test_the_wish_is_forgotten_once_logged_in(client, user):
    author = AuthorFactory(display_name="Grace Hopper")
    client.get(follow_url(author))

    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    Follow.objects.all().delete()
    client.post(reverse("account_logout"))
    login = client.get(reverse("account_login")).content.decode()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert client.cookies["pending_follow"].value == ""
    assert "pending-follow" not in login
    assert not Follow.objects.exists()


def test_a_visitor_with_only_the_wish_gets_the_shared_page(client, django_assert_num_queries):
    author = AuthorFactory()
    page = reverse("profiles:researcher_detail", args=[author.pk])
    shared = Client().get(page)
    client.get(follow_url(author))

    with django_assert_num_queries(0):
        response = client.get(page)

    assert response.content == shared.content
    assert not response.cookies
    assert "public" in response["Cache-Control"]


def test_signed_in_posts_need_the_pages_csrf_token_htmx_included(user):
    author = AuthorFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    htmx = {"HX-Request": "true"}
    assert client.post(follow_url(author), {"action": "follow"}, headers=htmx).status_code == 403
    assert client.post(follow_url(author), {"action": "follow"}).status_code == 403
    assert not Follow.objects.exists()

    html = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    token = json.loads(re.search(r"<body hx-headers='([^']+)'", html).group(1))["X-CSRFToken"]
    response = client.post(
        follow_url(author), {"action": "follow"}, headers={**htmx, "X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert Follow.objects.filter(user=user, author=author).exists()


def test_anonymous_follow_with_htmx_asks_the_browser_to_go_to_log_in(client):
    author = AuthorFactory()
    response = client.post(follow_url(author), {"action": "follow"}, headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(reverse("account_login"))


def test_following_page_lists_followed_researchers_with_unfollow(client, user):
    followed = AuthorFactory(display_name="Followed Person")
    AuthorFactory(display_name="Someone Else")
    Follow.objects.create(user=user, author=followed)
    client.force_login(user)
    html = client.get(reverse("profiles:following")).content.decode()
    assert "Followed Person" in html and "Someone Else" not in html
    response = client.post(follow_url(followed) + "?next=following", {"action": "unfollow"})
    assert response["Location"] == reverse("profiles:following")
    assert not Follow.objects.exists()


def test_following_page_requires_log_in(client):
    response = client.get(reverse("profiles:following"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_sign_ups_are_rate_limited_per_ip(client):
    statuses = []
    for i in range(6):
        response = client.post(
            reverse("account_signup"),
            {"email": f"p{i}@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429
    assert get_user_model().objects.count() == 5
