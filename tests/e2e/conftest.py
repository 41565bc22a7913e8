"""Real-browser journeys: Playwright driving Debian's chromium against live_server."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
WIDTHS = {"narrow": 390, "wide": 1280}

# Playwright's sync API runs an event loop in this thread; the Django test
# database calls made from the test body are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium_path(),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


# Reports every Content-Security-Policy violation on the console, where the
# watch below reads it, with what was blocked and where.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const element = event.target instanceof Element ? event.target.outerHTML.slice(0, 120) : "";
  console.error(`securitypolicyviolation: ${event.effectiveDirective} blocked `
    + `${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber} ${element}`);
});
"""


class PolicyWatch:
    """What the browser said about the site's Content-Security- and Permissions-Policy.

    Every context a test opens is watched (the `page` fixture's, and those
    made with `new_context`); at the end of the test no violation may have
    been reported and every page the browser loaded must have carried the
    policy, so a test cannot pass because the policy was missing.
    """

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.pages: list[str] = []
        self.pages_without_policy: list[str] = []

    def attach(self, context: BrowserContext) -> BrowserContext:
        context.add_init_script(script=_REPORT_VIOLATIONS)
        context.on("console", self._console)
        context.on("response", self._response)
        return context

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if (
            "securitypolicyviolation" in text
            or "Content Security Policy" in text
            or "Permissions-Policy" in text
        ):
            self.violations.append(f"{message.page.url if message.page else ''}: {text}")

    def _response(self, response: Response) -> None:
        if response.request.resource_type != "document":
            return
        self.pages.append(response.url)
        if "content-security-policy" not in response.headers:
            self.pages_without_policy.append(response.url)

    def check(self) -> None:
        assert self.violations == [], "\n".join(self.violations)
        assert self.pages, "no page was loaded"
        assert self.pages_without_policy == []


@pytest.fixture(autouse=True)
def policy_watch(request: pytest.FixtureRequest) -> Iterator[PolicyWatch]:
    watch = PolicyWatch()
    failed_before = request.session.testsfailed
    yield watch
    if request.session.testsfailed == failed_before:  # a failed test has said enough
        watch.check()


def new_context(browser: Browser, watch: PolicyWatch, **options: Any) -> BrowserContext:
    """A browser context at the wide width whose policy reports the test checks."""
    options.setdefault("viewport", {"width": WIDTHS["wide"], "height": 900})
    context = watch.attach(browser.new_context(**options))
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser: Browser, policy_watch: PolicyWatch) -> Iterator[Page]:
    context = new_context(browser, policy_watch)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Save the page at both widths under tests/screenshots/ (git-ignored) to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    original = page.viewport_size
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        # caret="initial": Playwright hides the caret by leaving style="" on every input,
        # which htmx's history then restores into the page, and the policy blocks.
        page.screenshot(
            path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True, caret="initial"
        )
    if original:
        page.set_viewport_size(original)
