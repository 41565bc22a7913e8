"""The owner brings in their ORCID works in a real browser and watches them arrive."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from profiles import orcid_imports
from profiles.models import OrcidImportRun
from tests.e2e.test_profile import log_in
from tests.profiles.conftest import orcid_api_url, owned_record  # noqa: F401 (a fixture)
from tests.profiles.orcid_api_server import ORCID

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("orcid_api_url"),
]

# Looked at by hand: the page with the result, at both widths.
SHOTS = Path("/tmp/orcid-import")


def test_owner_presses_the_button_and_sees_the_works_arrive(
    page: Page, live_server, through_the_broker, queue
):
    """Presses go to a real Redis queue that no worker reads: the test runs the task itself,
    as a worker would, while the page polls."""
    owner, author = owned_record("Alberto Accomazzi", orcid_proven=ORCID)
    log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    works = page.locator("#works")
    expect(works).not_to_contain_text("Best Practices for Data Publication")

    page.get_by_role("button", name="Bring in my ORCID works").click()
    status = page.locator("#orcid-import-status")
    expect(status).to_contain_text("Queued.")
    page.get_by_role("button", name="Bring in my ORCID works").click()
    expect(status).to_contain_text(orcid_imports.BUSY)

    # A worker takes the run; the page, polling, sees it finish.
    assert orcid_imports.orcid_import_run(run_id=OrcidImportRun.objects.get().pk) == "done"
    expect(status).to_contain_text("3 works: 0 matched, 3 added.", timeout=15_000)
    expect(works).to_contain_text("Best Practices for Data Publication", timeout=15_000)
    expect(works).to_contain_text("Closing the Loop")
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"done-{width}.png"), full_page=True)

    page.get_by_role("link", name="See your works").click()
    expect(page.locator("#works")).to_contain_text("An approach to heuristic exploitation")

    # The status as a page of its own (what a browser without JavaScript gets).
    page.goto(f"{live_server.url}/researchers/{author.pk}/orcid-import/")
    expect(page.get_by_role("heading", name="Your ORCID works")).to_be_visible()
    expect(page.locator("#orcid-import-status")).to_contain_text("3 works: 0 matched, 3 added.")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"status-page-{width}.png"), full_page=True)
