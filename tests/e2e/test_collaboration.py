"""Direct collaboration in two real browsers: an invitation, accepted, and messages that
appear on the other side without a reload."""

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.collaboration.conftest import own, set_openness
from tests.e2e.conftest import new_context, screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(context: BrowserContext, base: str, email: str) -> Page:
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("link", name="Inbox")).to_be_visible()
    return page


def test_an_invitation_accepted_then_messages_both_ways_without_reload(
    browser: Browser, live_server, policy_watch
):
    record = AuthorFactory(display_name="Rosa Example")
    AuthorshipFactory(author=record, work=WorkFactory(title="Fortuitous forgetting"))
    owner = make_user("rosa@uni.example")
    own(owner, record)
    set_openness(owner, record)
    sam_record = AuthorFactory(display_name="Sam Record")
    AuthorshipFactory(author=sam_record, work=WorkFactory(title="Lottery tickets"))
    sender = make_user("sam@example.org")
    own(sender, sam_record)
    base = live_server.url

    # Sam invites Rosa from her page, naming one work of each.
    sam = log_in(new_context(browser, policy_watch), base, "sam@example.org")
    sam.goto(f"{base}/researchers/{record.pk}/")
    sam.get_by_role("link", name="Invite to collaborate").click()
    sam.get_by_label("Subject").fill("Forgetting and tickets <b>together</b>")
    sam.get_by_label("Why the fit is right").fill(
        "Your forgetting work meets my tickets. See https://sam.example/plan"
    )
    sam.get_by_label("Fortuitous forgetting").check()
    sam.get_by_label("Lottery tickets").check()
    screenshot(sam, "collaboration-invite-form")
    sam.get_by_role("button", name="Send invitation").click()
    expect(sam.get_by_text("Your invitation to Rosa Example is sent.")).to_be_visible()
    expect(sam.locator("#decision")).to_contain_text("Pending")

    # Rosa sees it counted in the header, reads who asks, and accepts.
    rosa = log_in(new_context(browser, policy_watch), base, "rosa@uni.example")
    expect(rosa.locator(".unread-count")).to_have_text("1")
    rosa.get_by_role("link", name="Inbox").click()
    screenshot(rosa, "collaboration-inbox")
    rosa.get_by_role("link", name="Forgetting and tickets <b>together</b>").first.click()
    snapshot = rosa.get_by_role("list", name="Sender's trust snapshot")
    expect(snapshot).to_contain_text("Verification L3")
    expect(rosa.get_by_role("link", name="Sam Record")).to_be_visible()
    link = rosa.get_by_role("link", name="https://sam.example/plan")
    expect(link).to_have_attribute("rel", "nofollow ugc noopener")
    screenshot(rosa, "collaboration-invitation")
    rosa.get_by_label("Note (optional)").fill("Gladly.")
    rosa.get_by_role("button", name="Accept and open a conversation").click()
    expect(rosa.get_by_text("You accepted: the conversation is open.")).to_be_visible()
    expect(rosa.locator(".unread-count")).to_have_count(0)

    # Rosa writes; Sam's open page shows it without a reload, and Sam answers.
    rosa.evaluate("window.__noReload = true")
    rosa.get_by_role("textbox", name="Message").fill("Hello Sam, when shall we talk?")
    rosa.get_by_role("button", name="Send", exact=True).click()
    expect(rosa.locator("#messages")).to_contain_text("Hello Sam, when shall we talk?")
    expect(rosa.get_by_role("textbox", name="Message")).to_have_value("")

    sam.goto(f"{base}/inbox/")
    conversations = sam.get_by_role("region", name="Conversations")
    conversations.get_by_role("link", name="Forgetting and tickets <b>together</b>").click()
    expect(sam.locator("#messages")).to_contain_text("Hello Sam, when shall we talk?")
    expect(rosa.locator("#read-state")).to_have_text("Seen")  # Rosa's page, by polling
    sam.evaluate("window.__noReload = true")
    sam.get_by_role("textbox", name="Message").fill("Tuesday at ten, www.example.org/room")
    sam.get_by_role("button", name="Send", exact=True).click()
    expect(rosa.locator("#messages")).to_contain_text("Tuesday at ten")
    expect(sam.locator("#read-state")).to_have_text("Seen")
    screenshot(rosa, "collaboration-conversation")
    assert rosa.evaluate("window.__noReload") is True, "Rosa's page reloaded"
    assert sam.evaluate("window.__noReload") is True, "Sam's page reloaded"

    # Rosa reports the conversation to staff, then blocks Sam, in place.
    safety = rosa.locator("#safety-actions")
    safety.get_by_text("Report this conversation to staff").click()
    safety.get_by_label("Harassment or abuse").check()
    safety.locator("textarea").fill("Keeps writing at night.")
    safety.get_by_role("button", name="Send report").click()
    expect(rosa.locator("#safety-actions")).to_contain_text("You reported this to staff.")
    rosa.locator("#safety-actions").get_by_text("Block this person").click()
    rosa.locator("#safety-actions").get_by_role("button", name="Block").click()
    expect(rosa.locator("#safety-actions")).to_contain_text("You blocked this person")
    assert rosa.evaluate("window.__noReload") is True, "Rosa's page reloaded"

    # Sam's open page learns the conversation closed; a new invitation is refused
    # with the words any closed door uses, so the block stays silent.
    expect(sam.get_by_text("This conversation is closed")).to_be_visible(timeout=15_000)
    sam.goto(f"{base}/researchers/{record.pk}/invite/")
    sam.get_by_label("Subject").fill("One more idea")
    sam.get_by_label("Why the fit is right").fill("A second paper.")
    sam.get_by_role("button", name="Send invitation").click()
    expect(sam.get_by_text("not accepting invitations from you")).to_be_visible()
    expect(sam.get_by_text("block", exact=False)).to_have_count(0)
    rosa.context.close()
    sam.context.close()
