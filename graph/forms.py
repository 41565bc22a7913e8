from django import forms

from graph.drawing import NODE_TYPES, TYPE_LABELS, Filters

YEAR_MIN, YEAR_MAX = 1000, 2999


class ExplorerFilterForm(forms.Form):
    """The explorer's GET form: node types, a year range for papers, a selected tie."""

    # Present when the form was submitted, so that "no box ticked" differs from "no form".
    filtered = forms.BooleanField(required=False, widget=forms.HiddenInput)
    show = forms.MultipleChoiceField(
        label="Show",
        choices=[(kind, TYPE_LABELS[kind][1].capitalize()) for kind in NODE_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    year_from = forms.IntegerField(
        label="Papers from", required=False, min_value=YEAR_MIN, max_value=YEAR_MAX
    )
    year_to = forms.IntegerField(label="to", required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    edge = forms.RegexField(
        regex=r"^a:\d{1,12}-a:\d{1,12}$", required=False, widget=forms.HiddenInput
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        start, end = cleaned.get("year_from"), cleaned.get("year_to")
        if start is not None and end is not None and start > end:
            raise forms.ValidationError("The first year comes after the last one.")
        return cleaned

    def filters(self) -> Filters:
        """The cleaned filters; everything shown when the form is invalid."""
        if not self.is_valid():
            return Filters()
        data = self.cleaned_data
        types = frozenset(data["show"]) if data.get("filtered") else frozenset(NODE_TYPES)
        return Filters(
            types=types,
            year_from=data.get("year_from"),
            year_to=data.get("year_to"),
            edge=data.get("edge") or "",
        )
