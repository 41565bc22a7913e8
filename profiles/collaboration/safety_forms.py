from typing import Any

from django import forms

from profiles.collaboration import safety_selectors
from profiles.collaboration.models import NOTE_MAX, Report

# The controls sit on pages with other forms: their ids say whose they are.
AUTO_ID = "safety-%s"


class BlockForm(forms.Form):
    BLOCK = "block"
    UNBLOCK = "unblock"

    # An explicit action rather than a toggle, so a double click blocks once.
    action = forms.ChoiceField(
        choices=[(BLOCK, "Block"), (UNBLOCK, "Unblock")],
        error_messages={
            "required": "Say whether to block or unblock.",
            "invalid_choice": "Say whether to block or unblock.",
        },
    )


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why are you reporting this?",
        choices=Report.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a reason from the list.",
            "invalid_choice": "Choose a reason from the list.",
        },
    )
    details = forms.CharField(
        label="Anything staff should know (optional)",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
        error_messages={"max_length": f"Keep the details to {NOTE_MAX} characters."},
    )
    # Set on a conversation's page: the report covers the invitation's conversation, its
    # messages up to now. A flag rather than an id, so that no id can point elsewhere.
    conversation = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", AUTO_ID)
        super().__init__(*args, **kwargs)


class ReportDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=Report.Decision.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose dismiss, warn or suspend.",
            "invalid_choice": "Choose dismiss, warn or suspend.",
        },
    )
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
        error_messages={"max_length": f"Keep the note to {NOTE_MAX} characters."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        decision = data.get("decision")
        if decision and decision != Report.Decision.DISMISS and not data.get("note", "").strip():
            self.add_error(
                "note", "Say why in the note: a warning quotes it, and it is the decision's record."
            )
        return data


class ReportFilterForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(value, label) for value, label in safety_selectors.STATES.items()],
        required=False,
    )
