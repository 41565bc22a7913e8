"""One rule for every ?page=: a page that does not exist shows the nearest one, with a note.

A bad number in a shared or old link is no reason for a bare 404: the reader
gets the list, told which page they see instead of the one they asked for.
"""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator


@dataclass(frozen=True)
class PageChoice:
    number: int
    note: str  # empty when the page asked for exists


def page_choice(raw: str | None, *, num_pages: int) -> PageChoice:
    """The page to show for ?page=raw (None: not given) out of num_pages (at least 1)."""
    last = max(1, num_pages)
    if raw is None or raw == "":
        return PageChoice(number=1, note="")
    try:
        asked = int(raw)
    except ValueError:
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        return PageChoice(number=1, note=f"There is no page “{shown}”; showing page 1, the first.")
    if asked < 1:
        return PageChoice(number=1, note=f"There is no page {asked}; showing page 1, the first.")
    if asked > last:
        return PageChoice(
            number=last, note=f"There is no page {asked}; showing page {last}, the last."
        )
    return PageChoice(number=asked, note="")


def page_with_note(paginator: Paginator, raw: str | None) -> tuple[Page, str]:
    """A Paginator's page for ?page=raw by the rule above, and the note to show with it."""
    choice = page_choice(raw, num_pages=paginator.num_pages)
    return paginator.page(choice.number), choice.note
