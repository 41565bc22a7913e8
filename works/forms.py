import unicodedata

from django import forms

QUERY_MAX_LENGTH = 200


class ResearcherSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=QUERY_MAX_LENGTH,
        strip=True,
        error_messages={
            "max_length": (
                "That search is too long: use at most %(limit_value)d characters "
                "(it has %(show_value)d). A name or part of one is enough."
            ),
        },
    )

    def clean_q(self) -> str:
        # Collapse runs of whitespace so "hattie   zhou" and "hattie zhou" are
        # one query (and one cache entry, one pushed URL). NFC: a keyboard that
        # sends "e" and a combining accent means the letter "é" (a word, not two).
        return unicodedata.normalize("NFC", " ".join(self.cleaned_data["q"].split()))
