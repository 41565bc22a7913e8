"""`{% safety_controls invitation other_user as safety %}`: what the block and report controls show.

The controls (templates/collaboration/_safety_actions.html) sit on pages that
other views render; the tag reads what they need in one query, so those
views need not know about them.
"""

from typing import Any

from django import template

from profiles.collaboration import safety_selectors
from profiles.collaboration.safety_forms import ReportForm

register = template.Library()


@register.simple_tag(takes_context=True)
def safety_controls(context: template.Context, invitation: Any, other_user: Any) -> dict[str, Any]:
    user = context["request"].user
    state = safety_selectors.safety_state(user=user, invitation=invitation, other_user=other_user)
    conversation = context.get("conversation")
    form = context.get("report_form") or ReportForm(
        initial={"conversation": conversation is not None}
    )
    return {
        "blocked": state.blocked,
        "reported": state.reported,
        # The recipient reports an invitation; either member a conversation.
        "may_report": conversation is not None or invitation.recipient_id == user.pk,
        "form": form,
    }
