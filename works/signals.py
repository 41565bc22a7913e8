"""Signals other apps listen to; works itself never imports them (see DESIGN.md)."""

from django.dispatch import Signal

# Sent once an import has committed changes to these authors' records or to
# their set of works. Keyword argument: author_ids (a sorted list of ints).
# The graph app recomputes their slices.
authors_changed = Signal()

# Sent inside the transaction of an import batch that created these works, once
# their authorships are written. Keyword argument: work_ids (a sorted list of
# ints). What a listener writes commits with the works or not at all, so it
# must write set-based, in one statement per batch. The profiles app records
# "new work" and "new co-author" events for their followed authors.
works_created = Signal()

# Sent the same way, in the transaction of an import batch that changed stored
# authors' last known institution. Keyword argument: changes, a list of
# (author id, institution id before, institution id after), either id None.
affiliations_changed = Signal()
