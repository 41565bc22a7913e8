"""Content-Security-Policy and Permissions-Policy on every response, cached ones too.

The policy allows the site's own scripts and styles only: no inline script,
no inline style, no eval. The pages are checked to need nothing more: the
templates hold no inline script, handler or style, and the rendered pages
(the graph's SVG included) carry none either. The browser tests
(tests/e2e) check that htmx and the explorer work under it.
"""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from tests.graph.test_views import explorer_url, ready, researcher, slice_url
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
HTMX = {"HX-Request": "true"}


def policy(response) -> dict[str, set[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


def assert_strict_policy(response) -> None:
    directives = policy(response)
    assert directives["default-src"] == {"'self'"}
    assert directives["script-src"] == {"'self'"}
    assert directives["style-src"] == {"'self'"}
    assert directives["object-src"] == {"'none'"}
    assert directives["base-uri"] == {"'none'"}
    assert directives["frame-ancestors"] == {"'none'"}
    # ORCID sign-in is a form posted to the site that redirects to ORCID.
    assert directives["form-action"] == {"'self'", "https://orcid.org"}
    header = response["Content-Security-Policy"]
    for loophole in ("unsafe-inline", "unsafe-eval", "nonce-", "*"):
        assert loophole not in header


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    "url",
    ["/", "/researchers/?q=grace", "/accounts/login/", "/accounts/signup/"],
)
def test_pages_carry_the_strict_policy(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_policy(response)


def test_the_profile_page_carries_the_policy_when_built_and_from_the_cache(
    client, django_assert_num_queries
):
    grace, _ = researcher()
    url = f"/researchers/{grace.pk}/"
    built = client.get(url)
    with django_assert_num_queries(0):
        cached = client.get(url)
    for response in (built, cached):
        assert response.status_code == 200
        assert_strict_policy(response)
        assert response["Permissions-Policy"] == built["Permissions-Policy"]


def test_the_graph_fragment_explorer_and_json_carry_the_policy(client):
    grace, _ = researcher()
    ready(grace)
    for response in (
        client.get(slice_url(grace.pk), headers=HTMX),
        client.get(explorer_url(grace.pk)),
        client.get(f"/researchers/{grace.pk}/graph.json"),
    ):
        assert response.status_code == 200
        assert_strict_policy(response)


def test_staff_pages_carry_the_policy():
    client = Client()
    force_login_with_totp(client, make_user(staff=True, is_superuser=True))
    for url in ("/staff/claims/", "/admin/", "/admin/profiles/claim/"):
        response = client.get(url)
        assert response.status_code == 200
        assert_strict_policy(response)


def test_the_site_denies_the_browser_features_it_does_not_use(client):
    response = client.get("/")
    features = dict(
        item.strip().split("=", 1) for item in response["Permissions-Policy"].split(",")
    )
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "browsing-topics",
        "interest-cohort",
        "display-capture",
        "serial",
        "hid",
    ):
        assert features[feature] == "()", feature


# --- what the policy forbids is not in the pages ----------------------------------------

# <script> without src that the browser would run: JSON data blocks are not run.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
FORBIDDEN = {
    "inline script": INLINE_SCRIPT,
    "inline event handler": INLINE_HANDLER,
    "style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "hx-on (eval)": re.compile(r"\shx-on", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def forbidden_in(html: str) -> list[str]:
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(html)]


@pytest.mark.parametrize(
    "template",
    sorted(str(p.relative_to(BASE_DIR)) for p in (BASE_DIR / "templates").rglob("*.html")),
)
def test_templates_hold_nothing_the_policy_blocks(template):
    assert forbidden_in((BASE_DIR / template).read_text()) == []


def test_the_rendered_profile_graph_and_explorer_hold_nothing_the_policy_blocks(client):
    grace, _ = researcher()
    ready(grace)
    pages = {
        "profile": client.get(f"/researchers/{grace.pk}/"),
        "fragment": client.get(slice_url(grace.pk), headers=HTMX),
        "slice page": client.get(slice_url(grace.pk)),
        "explorer": client.get(explorer_url(grace.pk)),
        "explorer fragment": client.get(explorer_url(grace.pk), headers=HTMX),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert forbidden_in(html) == [], name
    assert "<svg" in pages["fragment"].content.decode()
    assert 'type="application/ld+json"' in pages["profile"].content.decode()


def htmx_config(response) -> dict:
    metas = re.findall(r'<meta name="htmx-config" content=\'([^\']*)\'>', response.content.decode())
    # htmx reads the first one only.
    assert len(metas) == 1
    return json.loads(metas[0])


def test_htmx_is_told_not_to_inject_style_nor_eval_on_every_page(client):
    record = researcher()[0]
    signed_in = Client()
    signed_in.force_login(make_user())
    for response in (
        client.get("/"),
        client.get(f"/researchers/{record.pk}/"),
        signed_in.get(f"/researchers/{record.pk}/claim/"),
    ):
        assert response.status_code == 200
        config = htmx_config(response)
        assert config["includeIndicatorStyles"] is False
        assert config["allowEval"] is False
    # The claim pages' own key is kept beside them.
    assert "responseHandling" in config
    # The indicator's rules, which htmx would have injected, live in the site's stylesheet.
    css = (BASE_DIR / "static" / "css" / "site.css").read_text()
    assert ".htmx-indicator" in css


def test_only_the_base_template_holds_an_htmx_config():
    """htmx reads the first htmx-config only: a page's second one would drop the site's keys."""
    templates = BASE_DIR / "templates"
    others = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if 'name="htmx-config"' in path.read_text() and path.name != "base.html"
    ]
    assert others == [], "add page keys in {% block htmx_config %} instead"
