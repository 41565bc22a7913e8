"""ORCID sign-in's own URLs, with ORCID configured and without (the default)."""

from urllib.parse import parse_qs, urlparse

import pytest

from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/orcid/login/"
CALLBACK = "/accounts/orcid/login/callback/?code=some-code&state=some-state"


@pytest.fixture
def orcid_unconfigured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"orcid": {"BASE_DOMAIN": "orcid.org"}}


@pytest.fixture
def orcid_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {
            "BASE_DOMAIN": "orcid.org",
            "APP": {"client_id": "APP-TEST", "secret": "test-secret", "key": ""},
        }
    }


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("path", [LOGIN, CALLBACK])
def test_orcid_urls_say_orcid_is_not_available_when_it_is_not_configured(
    client, orcid_unconfigured, path, method, signed_in
):
    if signed_in:
        client.force_login(make_user())
    client.raise_request_exception = False
    response = getattr(client, method)(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "ORCID sign-in is not available on this server" in html
    assert 'class="brand"' in html  # the site's own page, not a bare error


def test_orcid_login_page_asks_to_continue_when_configured(client, orcid_configured):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert '<form method="post"' in response.content.decode()


def test_orcid_login_starts_the_flow_at_orcid_when_configured(client, orcid_configured):
    response = client.post(LOGIN)
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "orcid.org", "/oauth/authorize")
    query = parse_qs(target.query)
    assert query["client_id"] == ["APP-TEST"]
    assert query["redirect_uri"] == ["http://testserver/accounts/orcid/login/callback/"]
