"""What a collaboration event tells people by email; called by the services in their transaction.

Each function only writes rows (an outbox mail, or a pending notice that a
beat task turns into at most one mail per conversation and 15 minutes), so a
mail exists exactly when the change it announces does, and is sent once
(bzpeer.outbox).
"""

from profiles.collaboration.models import Invitation, Message


def invitation_sent(*, invitation: Invitation) -> None:
    """The recipient hears of a new invitation (unless they stopped that kind of mail)."""


def invitation_accepted(*, invitation: Invitation) -> None:
    """The sender hears that the recipient accepted, with the conversation's link."""


def message_posted(*, message: Message) -> None:
    """The other member will hear of it in the next batch, unless they read it first."""
