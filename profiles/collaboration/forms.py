from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from profiles.collaboration.models import NOTE_MAX, SUBJECT_MAX, TEXT_MAX, WORKS_MAX
from works.models import Work


def _work_label(work: Work) -> str:
    year = f" ({work.publication_year})" if work.publication_year else ""
    return f"{work.title}{year}"


class InvitationForm(forms.Form):
    subject = forms.CharField(
        max_length=SUBJECT_MAX,
        error_messages={"required": "Write a subject."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    body = forms.CharField(
        label="Why the fit is right",
        max_length=TEXT_MAX,
        error_messages={"required": "Say why the fit is right."},
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Plain text; links become clickable.",
    )
    recipient_works = forms.TypedMultipleChoiceField(
        label="Their works it is about",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Up to {WORKS_MAX}.",
    )
    sender_works = forms.TypedMultipleChoiceField(
        label="Your works it is about",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"Up to {WORKS_MAX}, from the record you own.",
    )

    def __init__(
        self, *args: Any, recipient_works: list[Work], sender_works: list[Work], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field: Any
        for name, works in (("recipient_works", recipient_works), ("sender_works", sender_works)):
            field = self.fields[name]
            field.choices = [(w.pk, _work_label(w)) for w in works]
            field.error_messages["invalid_choice"] = "A work you picked is not on that record."
        if not sender_works:
            del self.fields["sender_works"]
        if not recipient_works:
            del self.fields["recipient_works"]

    def _at_most_three(self, name: str) -> list[int]:
        picked: list[int] = self.cleaned_data.get(name, [])
        if len(picked) > WORKS_MAX:
            raise ValidationError(f"Pick at most {WORKS_MAX} works.")
        return picked

    def clean_recipient_works(self) -> list[int]:
        return self._at_most_three("recipient_works")

    def clean_sender_works(self) -> list[int]:
        return self._at_most_three("sender_works")


class DecisionForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The sender reads it with your answer.",
    )


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        max_length=TEXT_MAX,
        error_messages={
            "required": "Write a message first.",
            "max_length": f"A message is at most {TEXT_MAX} characters.",
        },
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PollForm(forms.Form):
    after = forms.IntegerField(min_value=0)
    read = forms.IntegerField(min_value=0, required=False)
