"""Signals other apps listen to; works itself never imports them (see DESIGN.md)."""

from django.dispatch import Signal

# Sent once an import has committed changes to these authors' records or to
# their set of works. Keyword argument: author_ids (a sorted list of ints).
# The graph app recomputes their slices.
authors_changed = Signal()
