import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_visitor_goes_from_home_to_a_work_and_on_to_its_author(page: Page, live_server):
    author = AuthorFactory(display_name="Ada Realperson")
    AuthorshipFactory(author=author, work=WorkFactory(title="On the shape of proofs"))

    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Featured researchers")).to_be_visible()
    screenshot(page, "home")

    page.get_by_role("link", name="On the shape of proofs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("On the shape of proofs")
    screenshot(page, "work")

    page.get_by_role("list", name="Authors in published order").get_by_role(
        "link", name="Ada Realperson"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ada Realperson")
    expect(page.get_by_text("Affiliation not imported")).to_be_visible()
