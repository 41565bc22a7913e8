"""Who may reach whom: blocks, staff suspensions and rate limits, in one place.

Every invitation and message goes through `contact_refusal` before it is
written. A block is silent: the blocked person is told only what anyone the
recipient does not hear from is told, never that they were blocked.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from profiles.collaboration.models import Block, Suspension

# What a sender sees when the recipient does not hear from them, whatever the
# cause (a block among them): the same words, so a block stays silent.
NOT_REACHABLE = "This researcher is not accepting invitations from you right now."
SUSPENDED = (
    "Staff have suspended your ability to send invitations and messages after a report. "
    "Write to the site's staff if you think this is a mistake."
)


def blocked_between(*, a: AbstractBaseUser, b: AbstractBaseUser) -> bool:
    """True when either of the two blocked the other."""
    return Block.objects.filter(
        Q(blocker_id=a.pk, blocked_id=b.pk) | Q(blocker_id=b.pk, blocked_id=a.pk)
    ).exists()


def is_suspended(*, user: AbstractBaseUser) -> bool:
    return Suspension.objects.filter(user_id=user.pk, lifted_at=None).exists()


def contact_refusal(*, sender: AbstractBaseUser, recipient: AbstractBaseUser) -> str | None:
    """Why `sender` may not invite or write to `recipient` now, in their words; None if they may."""
    if is_suspended(user=sender):
        return SUSPENDED
    if blocked_between(a=sender, b=recipient):
        return NOT_REACHABLE
    return None
