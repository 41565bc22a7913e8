"""The feed in a real browser: follow a researcher, import a new work of theirs, see it."""

import json
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from works.models import Author

pytestmark = [pytest.mark.e2e, pytest.mark.shared_data, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def _author_with_a_later_work(results: list[dict]) -> tuple[str, int]:
    """An author on two works of the page, and the index of their later work."""
    first_seen: dict[str, int] = {}
    for index, work in enumerate(results):
        for authorship in work["authorships"]:
            author_id = (authorship.get("author") or {}).get("id")
            if not author_id:
                continue
            if author_id in first_seen and first_seen[author_id] != index:
                return author_id, index
            first_seen.setdefault(author_id, index)
    raise AssertionError("no author of the page has two works")


def test_follow_then_import_a_new_work_of_theirs_and_see_it_in_the_feed(
    page: Page, live_server, shared_data: Path, tmp_path: Path
):
    page_file = shared_data / "openalex" / "works-page-1.json"
    document = json.loads(page_file.read_text())
    openalex_author, later = _author_with_a_later_work(document["results"])
    new_work = document["results"][later]
    before = tmp_path / "without-the-later-work.json"
    before.write_text(
        json.dumps(
            {**document, "results": document["results"][:later] + document["results"][later + 1 :]}
        )
    )
    call_command("import_openalex", str(before), "--no-progress")
    author = Author.objects.get(openalex_id=openalex_author.rsplit("/", 1)[-1])

    user = get_user_model().objects.create_user("ada", "ada@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.locator("#follow-form button").click()
    expect(page.locator("#follow-form button")).to_contain_text("Following")

    page.goto(f"{live_server.url}/following/")
    expect(page.get_by_text(new_work["title"])).to_have_count(0)

    call_command("import_openalex", str(page_file), "--no-progress")

    page.goto(f"{live_server.url}/following/")
    expect(page.get_by_role("link", name=new_work["title"]).first).to_be_visible()
    expect(page.get_by_role("link", name=author.display_name).first).to_be_visible()
    screenshot(page, "feed-after-import")
