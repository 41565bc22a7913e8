import re
from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from profiles import selectors
from profiles.models import NEWS_KINDS, Claim, Follow, ProfileSettings
from works import candidates
from works.models import Authorship, Work


class FollowForm(forms.Form):
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"

    # An explicit action rather than a toggle, so a double click follows once.
    action = forms.ChoiceField(choices=[(FOLLOW, "Follow"), (UNFOLLOW, "Unfollow")])


class FollowSettingsForm(forms.Form):
    """What a follower hears about a researcher (feed and digest alike), and how."""

    news = forms.MultipleChoiceField(
        label="Hear about",
        choices=Follow.News.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one kind of news, or unfollow the researcher.",
            "invalid_choice": "Choose news from the list: %(value)s is not one of them.",
        },
    )
    delivery = forms.ChoiceField(
        label="How",
        choices=Follow.Delivery.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how to hear: feed only, or a daily or weekly email digest.",
            "invalid_choice": "Choose feed only, or a daily or weekly email digest.",
        },
    )

    def kinds(self) -> list[str]:
        """The event kinds the chosen news cover."""
        return [kind for news in self.cleaned_data["news"] for kind in NEWS_KINDS[news]]


MAX_LINKS = 5
MINE = "mine"
NOT_MINE = "not_mine"
WORK_CHOICES = [("", "Not sure"), (MINE, "Mine"), (NOT_MINE, "Not mine")]


class ClaimForm(forms.Form):
    """Links and a note for staff, and which of the record's works are the claimant's."""

    links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://your.homepage.example"}),
        help_text=f"Up to {MAX_LINKS} addresses, one a line: your homepage, "
        "a staff page at your institution, your Google Scholar or DBLP profile.",
    )
    statement = forms.CharField(
        label="Note for staff",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Anything that helps staff decide, e.g. a former name or a moved affiliation.",
    )

    def __init__(self, *args: Any, works: list[Work], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.works = works
        for work in works:
            self.fields[f"work_{work.pk}"] = forms.ChoiceField(
                label=work.title,
                choices=WORK_CHOICES,
                required=False,
                initial="",
                widget=forms.RadioSelect,
            )

    def work_fields(self) -> Iterator[tuple[Work, forms.BoundField]]:
        for work in self.works:
            yield work, self[f"work_{work.pk}"]

    def clean_links(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["links"].splitlines() if line.strip()]
        if len(lines) > MAX_LINKS:
            raise ValidationError(f"Give at most {MAX_LINKS} links.")
        validate = URLValidator(schemes=["http", "https"])
        for line in lines:
            if len(line) > 500:
                raise ValidationError("Each link must be at most 500 characters.")
            try:
                validate(line)
            except ValidationError:
                raise ValidationError(
                    f"“{line}” is not a web address (http:// or https://)."
                ) from None
        return list(dict.fromkeys(lines))

    def selections(self) -> tuple[list[int], list[int]]:
        mine = [w.pk for w in self.works if self.cleaned_data.get(f"work_{w.pk}") == MINE]
        not_mine = [w.pk for w in self.works if self.cleaned_data.get(f"work_{w.pk}") == NOT_MINE]
        return mine, not_mine


class EmailAddressForm(forms.Form):
    address = forms.EmailField(
        label="Email address at your institution",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@uni.example"}),
    )


class EmailCodeForm(forms.Form):
    code = forms.RegexField(
        label="Code from the email",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "The code is the six digits in the email we sent."},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "8"}
        ),
    )

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip()


class DecisionForm(forms.Form):
    """Approve takes an optional note; reject and revoke need a reason the claimant will read."""

    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, reason_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        self.fields["reason"].error_messages["required"] = (
            "Give a reason: the claimant reads it in the email and on the claim's page."
        )


class QueueFilterForm(forms.Form):
    ANY = ""
    state = forms.ChoiceField(
        choices=[("", "Any state"), *Claim.State.choices], required=False, initial="pending"
    )
    contested = forms.ChoiceField(
        choices=[(ANY, "Contested or not"), ("yes", "Contested"), ("no", "Not contested")],
        required=False,
    )
    checks = forms.ChoiceField(
        label="Automatic checks",
        choices=[(ANY, "Checks passed or not"), ("passed", "Passed"), ("failed", "Not passed")],
        required=False,
    )


class ProfileSettingsForm(forms.ModelForm):
    homepage = forms.URLField(
        required=False, max_length=500, assume_scheme="https", widget=forms.URLInput()
    )
    invitations_from = forms.ChoiceField(
        label="Who may invite you",
        choices=ProfileSettings.InvitationsFrom.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    hidden_sections = forms.MultipleChoiceField(
        label="Hide from your page",
        choices=ProfileSettings.Section.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ProfileSettings
        fields = [
            "summary",
            "affiliation",
            "homepage",
            "contact",
            "open_to_collaborate",
            "invitations_from",
            "hidden_sections",
        ]
        widgets = {"summary": forms.TextInput()}
        help_texts = {
            "summary": "One line under your name; empty shows a line made from your topics.",
            "affiliation": "Empty shows the imported affiliation.",
            "contact": "Shown under Direct collaboration, e.g. “Email me at my university "
            "address”.",
        }

    def clean_invitations_from(self) -> str:
        return str(
            self.cleaned_data["invitations_from"] or ProfileSettings.InvitationsFrom.VERIFIED
        )

    def clean_homepage(self) -> str:
        homepage = str(self.cleaned_data["homepage"])
        if homepage and not homepage.startswith(("http://", "https://")):
            raise ValidationError("Give a web address starting with http:// or https://.")
        return homepage


class AuthorshipStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Authorship.Status.CONFIRMED, "Mine"),
            (Authorship.Status.DISPUTED, "Not mine"),
        ]
    )


# OpenAlex's work types (https://docs.openalex.org/api-entities/works/work-object#type).
WORK_TYPES = (
    "article",
    "book",
    "book-chapter",
    "dataset",
    "dissertation",
    "editorial",
    "erratum",
    "grant",
    "letter",
    "libguides",
    "other",
    "paratext",
    "peer-review",
    "preprint",
    "reference-entry",
    "report",
    "retraction",
    "review",
    "standard",
    "supplementary-materials",
)
YEAR_MIN, YEAR_MAX = 1000, 2999
SEARCH_MAX_LENGTH = 200


class WorksFilterForm(forms.Form):
    """A researcher's works list as GET parameters: sort, filters and a search within.

    `filters()` gives what profiles.selectors.works_for_filter takes. The page
    and the exports of a record read the same parameters through this form.
    Every field may be missing or empty; unknown parameters are ignored.
    """

    PARAMS = ("sort", "type", "year_from", "year_to", "venue", "topic", "q")

    q = forms.CharField(
        label="Search these works",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": "Search for at most %(limit_value)d characters (this is %(show_value)d)."
        },
    )
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[
            (selectors.WorksSort.NEWEST.value, "Newest"),
            (selectors.WorksSort.CITED.value, "Most cited"),
            (selectors.WorksSort.TITLE.value, "Title"),
        ],
        error_messages={"invalid_choice": "Sort by newest, most cited or title."},
    )
    type = forms.ChoiceField(
        label="Type",
        required=False,
        choices=[("", "Any type"), *((t, t.replace("-", " ").capitalize()) for t in WORK_TYPES)],
        error_messages={
            "invalid_choice": "There is no work type “%(value)s”; choose one from the list."
        },
    )
    year_from = forms.IntegerField(
        label="From year",
        required=False,
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        error_messages={
            "invalid": "Give the first year as a number, e.g. 2015.",
            "min_value": "Give a year from %(limit_value)s on.",
            "max_value": "Give a year up to %(limit_value)s.",
        },
    )
    year_to = forms.IntegerField(
        label="To year",
        required=False,
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        error_messages={
            "invalid": "Give the last year as a number, e.g. 2024.",
            "min_value": "Give a year from %(limit_value)s on.",
            "max_value": "Give a year up to %(limit_value)s.",
        },
    )
    venue = forms.IntegerField(
        label="Venue",
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Choose a venue from the list.",
            "min_value": "Choose a venue from the list.",
        },
    )
    topic = forms.IntegerField(
        label="Topic",
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Choose a topic from the list.",
            "min_value": "Choose a topic from the list.",
        },
    )

    def clean_q(self) -> str:
        # Runs of spaces mean nothing to the search: one entry per search in the page cache.
        return " ".join(self.cleaned_data["q"].split())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("year_from"), cleaned.get("year_to")
        if first is not None and last is not None and first > last:
            self.add_error(
                "year_to",
                f"The years run backwards: “from” {first} is after “to” {last}. "
                "Swap them, or leave one empty.",
            )
        return cleaned

    def filters(self) -> selectors.WorksFilter:
        """The filter asked for (call after is_valid(); fields in error count as not given)."""
        data = getattr(self, "cleaned_data", {})
        return selectors.WorksFilter(
            sort=selectors.WorksSort(data.get("sort") or selectors.WorksSort.NEWEST),
            type=data.get("type") or "",
            year_from=data.get("year_from"),
            year_to=data.get("year_to"),
            venue_id=data.get("venue"),
            topic_id=data.get("topic"),
            q=data.get("q") or "",
        )

    def query(self) -> list[tuple[str, str]]:
        """The filter as canonical GET parameters: defaults left out, in PARAMS' order."""
        data = getattr(self, "cleaned_data", {})
        pairs = []
        for name in self.PARAMS:
            value = data.get(name)
            if value in (None, "") or (name == "sort" and value == selectors.WorksSort.NEWEST):
                continue
            pairs.append((name, str(value)))
        return pairs


AFFILIATION_FIRST_YEAR = 1900
AFFILIATION_NAME_MAX = 300


class AffiliationForm(forms.Form):
    """A line the owner adds to their affiliation history: where, from which year, to which."""

    institution_name = forms.CharField(
        label="Institution",
        max_length=AFFILIATION_NAME_MAX,
        error_messages={
            "required": "Name the institution.",
            "max_length": "Keep the name under %(limit_value)d characters (it has %(show_value)d).",
        },
    )
    from_year = forms.IntegerField(
        label="From (year)",
        error_messages={
            "required": "Give the year you started there.",
            "invalid": "Give the first year as a number, such as 2019.",
        },
    )
    to_year = forms.CharField(
        label="To (year, or “present”)",
        max_length=10,
        initial="present",
        error_messages={
            "required": "Give the last year there, or “present”.",
            "max_length": "Give the last year as a number, such as 2023, or “present”.",
        },
    )

    def __init__(self, *args: Any, this_year: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.this_year = this_year

    def _year(self, value: int, what: str) -> int:
        if not AFFILIATION_FIRST_YEAR <= value <= self.this_year:
            raise ValidationError(
                f"The {what} year must be between {AFFILIATION_FIRST_YEAR} and {self.this_year}."
            )
        return value

    def clean_from_year(self) -> int:
        return self._year(self.cleaned_data["from_year"], "first")

    def clean_to_year(self) -> int | None:
        """None: to the present."""
        raw = self.cleaned_data["to_year"].strip()
        if raw.lower() == "present":
            return None
        if not raw.isdigit():
            raise ValidationError("Give the last year as a number, such as 2023, or “present”.")
        return self._year(int(raw), "last")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("from_year"), data.get("to_year")
        if first is not None and last is not None and last < first:
            self.add_error("to_year", f"The last year comes on or after the first ({first}).")
        return data


class AffiliationHiddenForm(forms.Form):
    HIDE = "hide"
    SHOW = "show"

    action = forms.ChoiceField(choices=[(HIDE, "Hide"), (SHOW, "Show")])


class MissingWorkForm(forms.Form):
    """A missing work to add: one DOI, one arXiv id, or BibTeX pasted or uploaded."""

    doi = forms.CharField(label="DOI", required=False, max_length=300)
    arxiv_id = forms.CharField(label="arXiv id", required=False, max_length=100)
    bibtex = forms.CharField(
        label="BibTeX",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="One entry or many (at most 200).",
    )
    bibtex_file = forms.FileField(label="or a .bib file", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("bibtex_file")
        if upload is not None:
            if upload.size > candidates.MAX_BIBTEX_BYTES:
                raise forms.ValidationError("That file is more than 1 MB: split it.")
            try:
                data["bibtex_text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("That file is not UTF-8 text.") from None
        else:
            data["bibtex_text"] = data.get("bibtex", "")
        given = [
            name
            for name, value in (
                ("doi", data.get("doi", "")),
                ("arxiv", data.get("arxiv_id", "")),
                ("bibtex", data["bibtex_text"]),
            )
            if value and value.strip()
        ]
        if not given:
            raise forms.ValidationError("Give a DOI, an arXiv id or BibTeX.")
        if len(given) > 1:
            raise forms.ValidationError("Give one of a DOI, an arXiv id or BibTeX at a time.")
        data["kind"] = given[0]
        return data


class DuplicateDismissForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why these are two people (or not a pair): staff read it."},
    )


_RECORD_URL = re.compile(r"/researchers/(\d{1,18})(?:/|$)")


class DuplicateRequestForm(forms.Form):
    """The owner names another record that is also theirs: its page's URL or its id."""

    other = forms.CharField(
        label="The other record (its address or id)",
        max_length=500,
        error_messages={"required": "Give the other record's address or its id."},
    )
    reason = forms.CharField(
        label="Why it is you",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the other record is yours: staff read it."},
    )

    def clean_other(self) -> int:
        return _record_id(self.cleaned_data["other"])


def _record_id(raw: str) -> int:
    """A researcher record named by its page's address or its id."""
    raw = raw.strip()
    if raw.isdigit() and len(raw) <= 18:
        return int(raw)
    match = _RECORD_URL.search(raw)
    if match is None:
        raise ValidationError(
            "Give a researcher page's address (…/researchers/123/) or the number in it."
        )
    return int(match.group(1))


class RecordMergeForm(forms.Form):
    """Staff choose which record of a suggested pair survives the merge."""

    survivor = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the record that stays.",
            "invalid_choice": "Choose one of the two records to stay.",
        },
    )
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, pair: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["survivor"]).choices = [(pk, str(pk)) for pk in pair]


class RecordSplitForm(forms.Form):
    """Staff pick works of a record and where they go: a new record or an existing one."""

    NEW, EXISTING = "new", "existing"

    works = forms.TypedMultipleChoiceField(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one work to move.",
            "invalid_choice": "Work %(value)s is not on this record.",
        },
    )
    destination = forms.ChoiceField(
        choices=[(NEW, "A new record of the same name"), (EXISTING, "An existing record")],
        initial=NEW,
        widget=forms.RadioSelect,
        error_messages={"required": "Say where the works go."},
    )
    target = forms.CharField(
        label="The existing record (its address or id)", max_length=500, required=False
    )
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    request = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, work_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["works"]).choices = [(pk, str(pk)) for pk in work_ids]

    def clean_target(self) -> int | None:
        raw = self.cleaned_data["target"]
        return _record_id(raw) if raw.strip() else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("destination") == self.EXISTING and not cleaned.get("target"):
            self.add_error("target", "Give the existing record's address or id.")
        if cleaned.get("destination") == self.NEW:
            cleaned["target"] = None
        return cleaned


class SplitRequestForm(forms.Form):
    """The owner ticks the works on their record that are another person's."""

    works = forms.TypedMultipleChoiceField(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Tick the works that are another person's.",
            "invalid_choice": "Work %(value)s is not on your record.",
        },
    )
    reason = forms.CharField(
        label="Whose they are, as far as you know",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why these works are someone else's: staff read it."},
    )

    def __init__(self, *args: Any, work_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["works"]).choices = [(pk, str(pk)) for pk in work_ids]


class WorkMineForm(forms.Form):
    """The owner says a work found on another record is theirs ("This is mine")."""

    work = forms.IntegerField(min_value=1, error_messages={"required": "Say which work."})
    record = forms.IntegerField(
        min_value=1, error_messages={"required": "Say which record the work is on."}
    )
    reason = forms.CharField(max_length=2000, required=False)
