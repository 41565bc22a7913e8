"""Signed one-click links that stop one kind of mail, without logging in.

A link carries the person's id and the kind, signed with SECRET_KEY (salted
for this use): it cannot be forged or turned to another person or kind, and
it keeps working for as long as old mails are read. It carries no time, so a
person's link for one kind is always the same: the one in a mail's text and
the one in its List-Unsubscribe header cannot differ. Mail clients get the same
URL in List-Unsubscribe with List-Unsubscribe-Post (RFC 8058), so their own
"unsubscribe" button stops it with one POST. Senders ask `opted_out` before
they queue a mail of that kind.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from bzpeer.outbox.models import EmailOptOut

SALT = "bzpeer.outbox.optout"

# Every kind of mail a person can stop, with the words the stop page uses.
KINDS = {
    "invitation": "emails about new invitations to collaborate",
    "acceptance": "emails when someone accepts your invitation",
    "message": "emails about new messages in your conversations",
    "digest": "digest emails about the researchers you follow",
}


class BadLink(ValueError):
    """The link was not made here, was altered, or names a kind that does not exist."""


def token_make(*, user_id: int, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind!r}")
    return signing.Signer(salt=SALT).sign_object([user_id, kind], compress=True)


def token_read(token: str) -> tuple[int, str]:
    try:
        user_id, kind = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise BadLink("This link is not valid: it may have been cut short or altered.") from error
    if not isinstance(user_id, int) or kind not in KINDS:
        raise BadLink("This link is not valid: it may have been cut short or altered.")
    return user_id, kind


def stop_url(*, user_id: int, kind: str) -> str:
    """The absolute URL of the stop page, for a mail's text and its List-Unsubscribe header."""
    path = reverse("outbox:email_stop", args=[token_make(user_id=user_id, kind=kind)])
    return settings.SITE_URL.rstrip("/") + path


def stop_headers(*, user_id: int, kind: str) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{stop_url(user_id=user_id, kind=kind)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def opted_out(*, user_id: int, kind: str) -> bool:
    return EmailOptOut.objects.filter(user_id=user_id, kind=kind).exists()


def opt_out(*, user_id: int, kind: str) -> None:
    """Idempotent: a second click, or the mail client's POST after the person's, adds nothing."""
    EmailOptOut.objects.bulk_create(
        [EmailOptOut(user_id=user_id, kind=kind)], ignore_conflicts=True
    )


def opt_in(*, user_id: int, kind: str) -> None:
    EmailOptOut.objects.filter(user_id=user_id, kind=kind).delete()
