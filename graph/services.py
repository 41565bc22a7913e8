"""Graph slices: rows in -> networkx graph -> ranked, cut, laid out -> JSON; and their jobs.

The first half is pure (no database): `slice_compute` turns the rows that
graph.selectors.slice_inputs read into the two stored variants (the profile
page's slice and the explorer's larger one). The same rows always give the
same bytes: nodes and edges are visited in sorted order, the ranking is a
fixed power iteration and the layout has no randomness.

The second half runs the jobs. A GraphSlice row is the job record: every
state change is one conditional UPDATE (or INSERT ... ON CONFLICT) whose
returned rows say whether this call made the change, so a task is sent only
by the call that queued the row, and only one worker builds it at a time.
"""

import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache, partial
from hashlib import sha256
from typing import Any

import networkx as nx
import numpy as np
import orjson
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from bzpeer import broker, pagecache
from graph import selectors
from graph.models import GraphSlice
from graph.selectors import SliceInput, newman_weight

logger = logging.getLogger(__name__)

# Bump when the output of slice_compute changes: every slice is rebuilt.
ALGORITHM_VERSION = 3

NODE_TYPES = ("person", "work", "topic", "institution")
_PREFIX = {"person": "a", "work": "w", "topic": "t", "institution": "i"}
_TYPE_ORDER = {t: i for i, t in enumerate(NODE_TYPES)}
EDGE_KINDS = ("coauthor", "authored", "about", "affiliated")
_KIND_ORDER = {k: i for i, k in enumerate(EDGE_KINDS)}

# Nodes kept per type: on the profile page (people include the centre) ...
SLICE_CAPS = {"person": 12, "work": 12, "topic": 8, "institution": 6}
# ... and in the full explorer.
EXPLORER_CAPS = {t: 2 * n for t, n in SLICE_CAPS.items()}
# Co-authors ranked at all (by tie strength): bounds the graph PageRank runs on.
MAX_PEOPLE = 150

DAMPING = 0.85
# As networkx's pagerank: stop when the L1 change is below N * tolerance.
PAGERANK_TOLERANCE = 1.0e-6
PAGERANK_MAX_ITERATIONS = 200

# Radii of the rings of the layout, in a unit circle (the centre at 0, 0); the
# explorer's twice as many people need a wider inner ring.
SLICE_RINGS = {"person": 0.4, "work": 0.72, "topic": 1.0, "institution": 1.0}
EXPLORER_RINGS = {"person": 0.46, "work": 0.75, "topic": 1.0, "institution": 1.0}

# Jobs.
CHUNK_SIZE = 100
BUILD_LEASE = timedelta(minutes=2)
# A queued row whose task seems lost (broker restart, a chunk that died
# half-way) is sent again after this long.
REQUEUE_AFTER = timedelta(hours=1)
RETRY_AFTER = timedelta(minutes=10)
REFRESH_AFTER = timedelta(days=7)
MAX_ATTEMPTS = 3
STALE_BATCH = 2000
ERROR_MAX_CHARS = 500
# Tests slow a build down with it to kill a worker mid-build; unset in production.
BUILD_DELAY_ENV = "BZPEER_SLICE_BUILD_DELAY"

Status = GraphSlice.Status


# ---------------------------------------------------------------------------
# Pure functions: rows -> graph -> JSON
# ---------------------------------------------------------------------------


def node_id(kind: str, pk: int) -> str:
    return f"{_PREFIX[kind]}:{pk}"


_PREFIX_ORDER = {prefix: _TYPE_ORDER[kind] for kind, prefix in _PREFIX.items()}


@lru_cache(maxsize=4096)
def _node_key(node: str) -> tuple[int, int]:
    """Sort key of a node id: by type, then by number ("a:9" before "a:10").

    Cached: a build sorts the same few hundred ids many times over, and a
    bounded cache keeps a worker's memory flat across a full rebuild.
    """
    prefix, pk = node.split(":")
    return (_PREFIX_ORDER[prefix], int(pk))


def input_hash(inputs: SliceInput) -> str:
    """sha256 of every row a slice is built from: one changed authorship changes it."""
    # orjson writes dataclasses field by field, in order, and floats exactly.
    return sha256(orjson.dumps(inputs)).hexdigest()


def _edge_works(works: Iterable[tuple[int, str, int | None]]) -> list[tuple[int, str, int | None]]:
    ordered = sorted(works, key=lambda w: (-(w[2] or 0), -w[0]))
    return ordered[: selectors.EDGE_WORKS]


def _by_year(dated: Iterable[tuple[int | None, int]]) -> list[tuple[int | None, int, float]]:
    """(year, works, tie strength) per year from (year, team size) per shared work, newest
    first and undated last. Called for every co-author edge the explorer keeps: plain
    dicts and sums (most edges have one to three works), rounded as the stored data is."""
    per_year: dict[int | None, list[float]] = {}
    for year, size in dated:
        weight = newman_weight(size)
        row = per_year.get(year)
        if row is None:
            per_year[year] = [1, weight]
        else:
            row[0] += 1
            row[1] += weight
    return [
        (year, int(per_year[year][0]), round(per_year[year][1], 6))
        for year in sorted(per_year, key=selectors.recency)
    ]


def slice_graph(inputs: SliceInput) -> nx.Graph:
    """The typed, weighted graph around the centre.

    Nodes carry `type`, `label`, `pk` (and `year` for works); edges carry
    `kind` and `weight`, and co-author edges the number of shared works and
    the most recent of them.
    """
    graph = nx.Graph()
    centre = node_id("person", inputs.centre.id)
    graph.add_node(centre, type="person", label=inputs.centre.name, pk=inputs.centre.id)
    team = {w.id: w.team_size for w in inputs.works}
    titles = {w.id: (w.title, w.year) for w in inputs.works}

    strength: dict[int, float] = defaultdict(float)
    shared: dict[int, list[int]] = defaultdict(list)
    names: dict[int, str] = {}
    for row in inputs.authorships:
        if row.author_id != inputs.centre.id:
            strength[row.author_id] += newman_weight(team[row.work_id])
            shared[row.author_id].append(row.work_id)
            names[row.author_id] = row.name
    people = sorted(strength, key=lambda a: (-strength[a], a))[:MAX_PEOPLE]
    for pk in sorted(people):
        node = node_id("person", pk)
        graph.add_node(node, type="person", label=names[pk], pk=pk)
        graph.add_edge(
            centre,
            node,
            kind="coauthor",
            weight=strength[pk],
            shared=len(shared[pk]),
            works=_edge_works((w, *titles[w]) for w in shared[pk]),
            # (year, team size) of each shared work, counted per year only for the
            # edges the explorer keeps (slice_serialise): per edge here it slowed the build.
            dated=[(titles[w][1], team[w]) for w in shared[pk]],
        )
    for tie in inputs.ties:
        a, b = node_id("person", tie.a), node_id("person", tie.b)
        if a in graph and b in graph:
            graph.add_edge(
                a,
                b,
                kind="coauthor",
                weight=tie.strength,
                shared=tie.shared,
                works=list(tie.works),
                dated=tie.dated,
            )

    for work in inputs.works:
        graph.add_node(
            node_id("work", work.id), type="work", label=work.title, pk=work.id, year=work.year
        )
    affiliation: dict[tuple[str, str], float] = defaultdict(float)
    institution_names: dict[int, str] = {}
    for row in inputs.authorships:
        person = node_id("person", row.author_id)
        if person not in graph:
            continue
        graph.add_edge(
            person,
            node_id("work", row.work_id),
            kind="authored",
            weight=newman_weight(team[row.work_id]),
        )
        for pk, name in row.institutions:
            institution_names[pk] = name
            affiliation[(person, node_id("institution", pk))] += 1.0
    if inputs.centre.institution_id is not None:
        institution_names[inputs.centre.institution_id] = inputs.centre.institution_name
        affiliation[(centre, node_id("institution", inputs.centre.institution_id))] += 1.0
    for pk in sorted(institution_names):
        graph.add_node(
            node_id("institution", pk), type="institution", label=institution_names[pk], pk=pk
        )
    for (person, institution), weight in sorted(affiliation.items()):
        graph.add_edge(person, institution, kind="affiliated", weight=weight)

    for topic in inputs.topics:
        node = node_id("topic", topic.topic_id)
        if node not in graph:
            graph.add_node(node, type="topic", label=topic.name, pk=topic.topic_id)
        # OpenAlex scores a work's topics from 0 to 1; an unscored one counts half.
        weight = topic.score if topic.score > 0 else 0.5
        graph.add_edge(node_id("work", topic.work_id), node, kind="about", weight=weight)
    return graph


def personalized_pagerank(
    graph: nx.Graph,
    *,
    source: str,
    damping: float = DAMPING,
    tolerance: float = PAGERANK_TOLERANCE,
    max_iterations: int = PAGERANK_MAX_ITERATIONS,
) -> dict[str, float]:
    """PageRank whose random walk restarts at `source`: how near each node is to it.

    Why this ranking: a slice must pick, from hundreds of people, works,
    topics and institutions, the few that best describe one researcher's
    neighbourhood, and rank all four kinds on one scale. A walk that starts
    at the researcher, follows edges in proportion to their weight and
    jumps back home with probability 1 - damping spends its time where the
    neighbourhood is dense: a co-author reached through several small-team
    papers and through other close co-authors outranks one met once on a
    thousand-author paper; a topic that many of the researcher's papers share
    outranks one tagged once. Plain degree or global PageRank would instead
    favour hubs that have little to do with this person.

    Power iteration over the edge list with numpy (networkx's pagerank needs
    scipy): `bincount` sums each node's inflow in one pass, in edge order,
    and the edges are listed in sorted node order, so the floating-point
    sums, and hence the result, are the same on every run and machine. No
    BLAS, whose threads could change the order of a sum.
    """
    adjacency = graph._adj  # networkx's own dicts: its views cost more than the arithmetic
    nodes = sorted(adjacency, key=_node_key)
    index = {node: i for i, node in enumerate(nodes)}
    sources: list[int] = []
    targets: list[int] = []
    shares: list[float] = []
    stranded: list[int] = []
    for i, node in enumerate(nodes):
        neighbours = adjacency[node]
        total = sum(data["weight"] for data in neighbours.values())
        if not total:
            stranded.append(i)
            continue
        for other, data in neighbours.items():
            sources.append(i)
            targets.append(index[other])
            shares.append(damping * data["weight"] / total)
    size = len(nodes)
    source_at = np.array(sources, dtype=np.intp)
    target_at = np.array(targets, dtype=np.intp)
    share = np.array(shares, dtype=np.float64)
    home = index[source]
    rank: np.ndarray[Any, np.dtype[Any]] = np.zeros(size)
    rank[home] = 1.0
    for _ in range(max_iterations):
        following = np.bincount(target_at, weights=rank[source_at] * share, minlength=size)
        # The restart, and the mass of nodes without edges, go back home.
        following[home] += (1.0 - damping) + damping * float(rank[stranded].sum())
        change = float(np.abs(following - rank).sum())
        rank = following
        if change < tolerance * size:
            break
    return dict(zip(nodes, rank.tolist(), strict=True))


def slice_cut(
    graph: nx.Graph, scores: dict[str, float], *, centre: str, caps: dict[str, int]
) -> list[str]:
    """The best-ranked nodes of each type, the centre always included.

    Topics and institutions connected to a kept work or person come before
    those that are not, so the picture never has a floating node while a
    connected one of nearly the same rank was left out.
    """
    by_type: dict[str, list[str]] = defaultdict(list)
    for node, attrs in graph._node.items():
        if node != centre:
            by_type[attrs["type"]].append(node)
    adjacency = graph._adj

    def best(nodes: list[str], cap: int, anchors: set[str] | None = None) -> list[str]:
        def key(node: str) -> tuple[bool, float, tuple[int, int]]:
            detached = anchors is not None and anchors.isdisjoint(adjacency[node])
            return (detached, -scores[node], _node_key(node))

        return sorted(nodes, key=key)[: max(cap, 0)]

    people = best(by_type["person"], caps["person"] - 1)
    works = best(by_type["work"], caps["work"])
    topics = best(by_type["topic"], caps["topic"], anchors=set(works))
    institutions = best(by_type["institution"], caps["institution"], anchors={centre, *people})
    return sorted([centre, *people, *works, *topics, *institutions], key=_node_key)


def _circular_mean(angles: Sequence[float]) -> float | None:
    if not angles:
        return None
    return math.atan2(sum(math.sin(a) for a in angles), sum(math.cos(a) for a in angles))


def _assign_slots(
    ordered: list[str], preferred: dict[str, float | None], *, phase: float
) -> dict[str, float]:
    """Spread nodes evenly on a ring, each as near its preferred angle as the order allows.

    Nodes with a preference keep their circular order; the ring is turned to
    the rotation with the least squared displacement. Nodes without one fill
    the remaining slots in rank order.
    """
    count = len(ordered)
    if not count:
        return {}
    slots = [phase + 2 * math.pi * k / count for k in range(count)]
    placed = sorted(
        (n for n in ordered if preferred.get(n) is not None),
        key=lambda n: ((preferred[n] or 0.0) % (2 * math.pi), _node_key(n)),
    )
    order = placed + [n for n in ordered if preferred.get(n) is None]
    turn = 0
    if placed:
        # Every rotation's cost at once: row t holds each placed node's gap to
        # the slot that turn t gives it. argmin keeps the first of equal costs.
        wanted = np.array([preferred[n] or 0.0 for n in placed])
        slot_of = (np.arange(len(placed))[None, :] + np.arange(count)[:, None]) % count
        gaps = (wanted[None, :] - np.array(slots)[slot_of] + math.pi) % (2 * math.pi) - math.pi
        turn = int(np.argmin((gaps * gaps).sum(axis=1)))
    return {node: slots[(i + turn) % count] for i, node in enumerate(order)}


def slice_layout(
    graph: nx.Graph,
    kept: list[str],
    scores: dict[str, float],
    *,
    centre: str,
    rings: dict[str, float] = SLICE_RINGS,
) -> dict[str, tuple[float, float]]:
    """Concentric rings in a unit circle: the centre, then people, works, topics and institutions.

    People are chained so that co-authors tied to each other sit side by
    side; every other node is placed towards the angle of the nodes it is
    attached to, which keeps edges short and crossings few. No randomness.
    """

    adjacency, attributes = graph._adj, graph._node

    def ranked(kind: str) -> list[str]:
        nodes = [n for n in kept if n != centre and attributes[n]["type"] == kind]
        return sorted(nodes, key=lambda n: (-scores[n], _node_key(n)))

    angle: dict[str, float] = {}
    people = ranked("person")
    chain: list[str] = []
    remaining = list(people)
    while remaining:
        current = chain[-1] if chain else None
        near = adjacency[current] if current is not None else {}
        ties = [(near[n]["weight"], n) for n in remaining if n in near]
        following = (
            min(ties, key=lambda t: (-t[0], -scores[t[1]], _node_key(t[1])))[1]
            if ties
            else remaining[0]
        )
        chain.append(following)
        remaining.remove(following)
    count = len(chain)
    for k, node in enumerate(chain):
        angle[node] = -math.pi / 2 + 2 * math.pi * k / count

    def towards(node: str) -> float | None:
        placed = sorted((n for n in adjacency[node] if n in angle), key=_node_key)
        return _circular_mean([angle[n] for n in placed])

    works = ranked("work")
    angle.update(
        _assign_slots(
            works,
            {w: towards(w) for w in works},
            phase=-math.pi / 2 + math.pi / max(len(works), 1),
        )
    )
    outer = ranked("topic") + ranked("institution")
    outer.sort(key=lambda n: (-scores[n], _node_key(n)))
    angle.update(
        _assign_slots(
            outer,
            {n: towards(n) for n in outer},
            phase=-math.pi / 2 + math.pi / (2 * max(len(outer), 1)),
        )
    )

    positions = {centre: (0.0, 0.0)}
    for node, theta in angle.items():
        radius = rings[attributes[node]["type"]]
        # "+ 0.0" turns -0.0 into 0.0 so that equal layouts serialise alike.
        positions[node] = (
            round(radius * math.cos(theta), 4) + 0.0,
            round(radius * math.sin(theta), 4) + 0.0,
        )
    return positions


_URL_NAMES = {
    "person": "profiles:researcher_detail",
    "work": "works:work_detail",
    "topic": "works:topic_detail",
    "institution": "works:institution_detail",
}
_URL_PLACEHOLDER = 987654321


@lru_cache(maxsize=8)
def _url_pattern(kind: str) -> str:
    # reverse() once per kind: a slice has hundreds of links.
    return reverse(_URL_NAMES[kind], args=[_URL_PLACEHOLDER]).replace(str(_URL_PLACEHOLDER), "{}")


def _url(kind: str, pk: int) -> str:
    return _url_pattern(kind).format(pk)


def slice_serialise(
    graph: nx.Graph,
    scores: dict[str, float],
    *,
    centre: str,
    caps: dict[str, int],
    totals: dict[str, int],
    rings: dict[str, float] = SLICE_RINGS,
    edge_works: bool = True,
) -> dict[str, Any]:
    """Cut, lay out and turn into the JSON-able dict that is stored and served.

    `edge_works`: list the works behind each co-author edge (the explorer
    shows them; on the page's slice they would be half its bytes, unread).
    """
    kept = slice_cut(graph, scores, centre=centre, caps=caps)
    positions = slice_layout(graph, kept, scores, centre=centre, rings=rings)
    adjacency, attributes = graph._adj, graph._node
    rank_in_type: dict[str, int] = {}
    for kind in NODE_TYPES:
        nodes = [n for n in kept if attributes[n]["type"] == kind and n != centre]
        for i, node in enumerate(sorted(nodes, key=lambda n: (-scores[n], _node_key(n)))):
            rank_in_type[node] = i + 1
    rank_in_type[centre] = 0

    nodes_out = []
    for node in sorted(kept, key=lambda n: (_node_key(n)[0], rank_in_type[n], _node_key(n))):
        attrs = attributes[node]
        x, y = positions[node]
        item: dict[str, Any] = {
            "id": node,
            "type": attrs["type"],
            "label": attrs["label"],
            "url": _url(attrs["type"], attrs["pk"]),
            "x": x,
            "y": y,
            "score": round(scores[node], 6),
            "rank": rank_in_type[node],
        }
        if attrs["type"] == "work":
            item["year"] = attrs["year"]
        if node == centre:
            item["centre"] = True
        nodes_out.append(item)

    edges_out = []
    kept_set = set(kept)
    for u in kept:
        for v, attrs in adjacency[u].items():
            # Each edge once, from its smaller end (kept is in node order).
            if v not in kept_set or _node_key(v) < _node_key(u):
                continue
            edge: dict[str, Any] = {
                "source": u,
                "target": v,
                "kind": attrs["kind"],
                "weight": round(attrs["weight"], 4),
            }
            if attrs["kind"] == "coauthor":
                edge["shared"] = attrs["shared"]
                if edge_works:
                    # [year, works, strength]: the explorer's year range recounts the tie.
                    edge["by_year"] = [list(row) for row in _by_year(attrs["dated"])]
                    edge["works"] = [
                        {"id": pk, "title": title, "year": year, "url": _url("work", pk)}
                        for pk, title, year in attrs["works"]
                    ]
            edges_out.append(edge)
    edges_out.sort(
        key=lambda e: (_KIND_ORDER[e["kind"]], _node_key(e["source"]), _node_key(e["target"]))
    )

    counts = {kind: 0 for kind in NODE_TYPES}
    for item in nodes_out:
        counts[item["type"]] += 1
    return {
        "centre": centre,
        "nodes": nodes_out,
        "edges": edges_out,
        "meta": {
            "algorithm_version": ALGORITHM_VERSION,
            "counts": counts,
            "totals": totals,
        },
    }


def slice_compute(inputs: SliceInput) -> tuple[dict[str, Any], dict[str, Any]]:
    """The profile page's slice and the explorer's, from one graph and one ranking."""
    graph = slice_graph(inputs)
    centre = node_id("person", inputs.centre.id)
    scores = personalized_pagerank(graph, source=centre)
    coauthors = {row.author_id for row in inputs.authorships} - {inputs.centre.id}
    kinds = [kind for _, kind in graph.nodes(data="type")]
    totals = {
        "person": len(coauthors) + 1,
        "work": inputs.works_total,
        "topic": kinds.count("topic"),
        "institution": kinds.count("institution"),
    }
    return (
        slice_serialise(
            graph, scores, centre=centre, caps=SLICE_CAPS, totals=totals, edge_works=False
        ),
        slice_serialise(
            graph, scores, centre=centre, caps=EXPLORER_CAPS, totals=totals, rings=EXPLORER_RINGS
        ),
    )


def slice_is_current(data: dict[str, Any]) -> bool:
    """Stored data this code can draw: built by the current algorithm."""
    return bool(data) and data.get("meta", {}).get("algorithm_version") == ALGORITHM_VERSION


# ---------------------------------------------------------------------------
# Jobs: queue, build, sweep
# ---------------------------------------------------------------------------

# Which existing rows a queueing call may flip back to "queued". In every
# mode a dead build (lease run out) and a queued row whose task seems lost
# are queued again; the modes differ in what else counts.
_RESCUE = (
    "(s.status = 'building' AND s.lease_expires_at < %(now)s)"
    " OR (s.status = 'queued' AND (s.queued_at IS NULL OR s.queued_at < %(requeue_before)s))"
)
_QUEUE_WHEN = {
    # Inputs may have changed (imports, claims, profile edits, the command).
    "changed": "s.status IN ('ready', 'failed') OR " + _RESCUE,
    # The page asked: only a slice from an older algorithm is worth a rebuild.
    "request": "(s.status = 'ready' AND s.algorithm_version <> %(version)s) OR " + _RESCUE,
    # A person pressed "Try again".
    "retry": "s.status = 'failed' OR " + _RESCUE,
}

_MARK_QUEUED_SQL = """
INSERT INTO graph_graphslice AS s (
    author_id, status, data, explorer_data, error, input_hash, algorithm_version,
    attempts, rebuild_requested, queued_at, updated_at
)
SELECT a.id, 'queued', '{{}}'::jsonb, '{{}}'::jsonb, '', '', 0, 0, false, %(now)s, %(now)s
FROM works_author a WHERE a.id = ANY(%(ids)s)
ORDER BY a.id
ON CONFLICT (author_id) DO UPDATE
SET status = 'queued', queued_at = %(now)s, sent_at = NULL, updated_at = %(now)s,
    rebuild_requested = false
WHERE {condition}
RETURNING s.author_id
"""


def _mark_queued(author_ids: Iterable[int], *, mode: str, now: datetime) -> list[int]:
    """Create missing rows as queued at `now`, flip the ones `mode` allows; the ids it queued."""
    ids = sorted(set(author_ids))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_QUEUED_SQL.format(condition=_QUEUE_WHEN[mode]),
            {
                "ids": ids,
                "now": now,
                "requeue_before": now - REQUEUE_AFTER,
                "version": ALGORITHM_VERSION,
            },
        )
        queued = sorted(row[0] for row in cursor.fetchall())
    if mode == "changed":
        # A build running now may have read the inputs before they changed:
        # it queues the author once more when it finishes.
        GraphSlice.objects.filter(
            pk__in=ids, status=Status.BUILDING, lease_expires_at__gte=now
        ).update(rebuild_requested=True, updated_at=now)
    return queued


def _send(author_ids: list[int], *, queued_at: datetime) -> None:
    """Send build tasks, in chunks, once the transaction that queued the rows commits.

    A chunk the broker takes is marked sent; one it does not (down, hung:
    the send gives up after the broker timeout) stays unsent, and the sweep
    sends it at its next run. A request never fails or waits on the broker
    for longer than that timeout.
    """
    for start in range(0, len(author_ids), CHUNK_SIZE):
        chunk = author_ids[start : start + CHUNK_SIZE]
        transaction.on_commit(partial(_send_chunk, chunk, queued_at))


def _send_chunk(author_ids: list[int], queued_at: datetime) -> None:
    # graph.tasks imports this module; the task is looked up when it is needed.
    from graph.tasks import graph_slices_build_task

    if broker.task_send(graph_slices_build_task, author_ids):
        # Only this queueing's rows (same queued_at) that no worker took yet.
        GraphSlice.objects.filter(
            pk__in=author_ids, status=Status.QUEUED, queued_at=queued_at, sent_at__isnull=True
        ).update(sent_at=timezone.now())


def slices_mark_queued(*, author_ids: Iterable[int]) -> list[int]:
    """Mark slices queued without sending tasks (for a caller that builds them itself)."""
    return _mark_queued(author_ids, mode="changed", now=timezone.now())


@transaction.atomic
def slices_queue(*, author_ids: Iterable[int]) -> int:
    """Rebuild these authors' slices in the background: their inputs may have changed.

    Deduplicated by the database: an author whose slice is already queued or
    building is not queued again (a running build is asked to run once
    more). Returns how many were queued.
    """
    now = timezone.now()
    queued = _mark_queued(author_ids, mode="changed", now=now)
    _send(queued, queued_at=now)
    return len(queued)


def slice_wants_queue(graph_slice: GraphSlice, *, now: datetime | None = None) -> bool:
    """What the "request" mode of queueing would flip, without a query (a poll is one read)."""
    now = now or timezone.now()
    if graph_slice.status == Status.READY:
        return graph_slice.algorithm_version != ALGORITHM_VERSION
    if graph_slice.status == Status.BUILDING:
        return graph_slice.lease_expires_at is None or graph_slice.lease_expires_at < now
    if graph_slice.status == Status.QUEUED:
        return graph_slice.queued_at is None or graph_slice.queued_at < now - REQUEUE_AFTER
    return False


def slice_request(*, author_id: int) -> GraphSlice | None:
    """The slice the page asked for, queued first when missing or stale; None: no such author.

    Without a broker (tasks run in-process) the build has happened by the
    time this returns.
    """
    now = timezone.now()
    with transaction.atomic():
        _send(_mark_queued([author_id], mode="request", now=now), queued_at=now)
    return selectors.slice_for_display(author_id=author_id)


def slice_retry(*, author_id: int) -> GraphSlice | None:
    """Queue a failed slice again; None: no such author."""
    now = timezone.now()
    with transaction.atomic():
        _send(_mark_queued([author_id], mode="retry", now=now), queued_at=now)
    return selectors.slice_for_display(author_id=author_id)


_CLAIM_SQL = """
UPDATE graph_graphslice
SET status = 'building', started_at = %(now)s, lease_expires_at = %(lease)s,
    attempts = attempts + 1, rebuild_requested = false, updated_at = %(now)s
WHERE author_id = ANY(%(authors)s)
  AND (status = 'queued'
       OR (status = 'building' AND (lease_expires_at < %(now)s OR %(takeover)s)))
RETURNING author_id, input_hash, algorithm_version
"""

# Every result of a chunk in one statement, each row only if this build still
# holds it (same started_at: not taken over meanwhile). A row whose inputs
# changed during the build (rebuild_requested) goes back to the queue; one
# whose inputs were unchanged keeps its data and is only marked checked.
_STORE_SQL = """
UPDATE graph_graphslice g
SET status = CASE WHEN v.error IS NOT NULL THEN 'failed'
                  WHEN g.rebuild_requested THEN 'queued' ELSE 'ready' END,
    data = coalesce(v.data, g.data),
    explorer_data = coalesce(v.explorer_data, g.explorer_data),
    input_hash = coalesce(v.input_hash, g.input_hash),
    algorithm_version = CASE WHEN v.data IS NULL THEN g.algorithm_version
                             ELSE %(version)s END,
    computed_at = CASE WHEN v.data IS NULL THEN g.computed_at ELSE %(now)s END,
    checked_at = CASE WHEN v.error IS NULL THEN %(now)s ELSE g.checked_at END,
    build_ms = coalesce(v.build_ms, g.build_ms),
    error = coalesce(v.error, ''),
    attempts = CASE WHEN v.error IS NULL THEN 0 ELSE g.attempts END,
    queued_at = CASE WHEN v.error IS NULL AND g.rebuild_requested THEN %(now)s
                     ELSE g.queued_at END,
    sent_at = NULL,
    rebuild_requested = false,
    lease_expires_at = NULL,
    updated_at = %(now)s
FROM jsonb_to_recordset(%(results)s::jsonb)
     AS v(author_id bigint, data jsonb, explorer_data jsonb, input_hash text, build_ms int,
          error text)
WHERE g.author_id = v.author_id AND g.status = 'building' AND g.started_at = %(started)s
RETURNING g.author_id, g.status
"""


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]


def slices_build(
    *, author_ids: Sequence[int], force: bool = False, takeover: bool = False
) -> dict[str, int]:
    """Build the queued slices among these authors (a task's chunk), all at once; idempotent.

    One statement claims every queued row of the chunk (and any whose build
    died), `selectors.slices_inputs` reads all their inputs in a few
    queries, each slice is computed in Python, and one statement stores
    every result. `takeover`: the task was redelivered because the process
    that ran it died, so rows still "building" are that dead build's and are
    taken over before their leases run out. `force` recomputes even when the
    inputs and the algorithm are unchanged (for trying out a change of the
    drawing code).

    Returns counts of outcomes: "built", "unchanged" (same inputs and
    algorithm: the stored slice stands), "skipped" (not queued, another
    worker holds it, or no such author) and "failed" (the error is stored
    on the row; the sweep retries it).
    """
    ids = sorted(set(author_ids))
    started = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "now": started,
                "lease": started + BUILD_LEASE,
                "authors": ids,
                "takeover": takeover,
            },
        )
        claimed = {pk: (old_hash, version) for pk, old_hash, version in cursor.fetchall()}
    outcomes: dict[str, int] = defaultdict(int)
    outcomes["skipped"] = len(ids) - len(claimed)
    if not claimed:
        return _counted(outcomes)
    results: dict[int, dict[str, Any]] = {}
    clock = time.perf_counter()
    try:
        delay = os.environ.get(BUILD_DELAY_ENV)
        if delay:
            time.sleep(float(delay))
        chunk = selectors.slices_inputs(author_ids=list(claimed))
    except Exception as error:
        logger.exception("graph slices of authors %s could not be read", sorted(claimed))
        chunk = {}
        results = {pk: {"error": _error_text(error)} for pk in claimed}
    # The chunk's read, shared out: build_ms is what one slice cost.
    read_ms = (time.perf_counter() - clock) * 1000 / len(claimed)
    for pk, inputs in chunk.items():
        clock = time.perf_counter()
        try:
            digest = input_hash(inputs)
            old_hash, old_version = claimed[pk]
            if digest == old_hash and old_version == ALGORITHM_VERSION and not force:
                results[pk] = {}
                continue
            data, explorer_data = slice_compute(inputs)
            build_ms = round(read_ms + (time.perf_counter() - clock) * 1000)
            results[pk] = {
                "data": data,
                "explorer_data": explorer_data,
                "input_hash": digest,
                "build_ms": build_ms,
            }
        except Exception as error:
            logger.exception("graph slice of author %s failed", pk)
            results[pk] = {"error": _error_text(error)}
    # Claimed rows of authors deleted since: the row went with the author.
    outcomes["skipped"] += len(claimed) - len(results)
    if not results:
        return _counted(outcomes)
    order = sorted(results)
    stored_at = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A slice is derived data: were the last commits lost in a crash,
            # their rows would still say "building" and be built again.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                _STORE_SQL,
                {
                    # One JSON document carries the chunk's results: psycopg
                    # would escape an array of large strings in Python.
                    "results": orjson.dumps(
                        [{"author_id": pk, **results[pk]} for pk in order]
                    ).decode(),
                    "version": ALGORITHM_VERSION,
                    "now": stored_at,
                    "started": started,
                },
            )
            stored = dict(cursor.fetchall())
        _send(
            sorted(pk for pk, status in stored.items() if status == Status.QUEUED),
            queued_at=stored_at,
        )
        # A rebuilt (or failed) slice replaces the fragment cached for
        # anonymous visitors; an unchanged one leaves it standing.
        pagecache.author_pages_changed(
            author_ids=[pk for pk in stored if "data" in results[pk] or "error" in results[pk]]
        )
    for pk in order:
        if pk not in stored:
            outcomes["skipped"] += 1
        elif "error" in results[pk]:
            outcomes["failed"] += 1
        elif "data" not in results[pk]:
            outcomes["unchanged"] += 1
        else:
            outcomes["built"] += 1
    return _counted(outcomes)


def _counted(outcomes: dict[str, int]) -> dict[str, int]:
    return {outcome: n for outcome, n in sorted(outcomes.items()) if n}


def slice_build(*, author_id: int, force: bool = False, takeover: bool = False) -> str:
    """Build one author's slice if it is queued (or its build died): a chunk of one.

    Returns what happened: "built", "unchanged", "skipped" or "failed" (see
    slices_build).
    """
    outcomes = slices_build(author_ids=[author_id], force=force, takeover=takeover)
    return next(iter(outcomes))


_STALE_SQL = """
UPDATE graph_graphslice
SET status = 'queued', queued_at = %(now)s, sent_at = NULL, updated_at = %(now)s,
    rebuild_requested = false
WHERE author_id IN (
    SELECT author_id FROM graph_graphslice
    WHERE (status = 'ready' AND (algorithm_version <> %(version)s
                                 OR checked_at IS NULL OR checked_at < %(refresh_before)s))
       OR (status = 'failed' AND attempts < %(max_attempts)s AND updated_at < %(retry_before)s)
       OR (status = 'building' AND lease_expires_at < %(now)s AND attempts < %(max_attempts)s)
       OR (status = 'queued' AND (sent_at IS NULL OR queued_at IS NULL
                                  OR queued_at < %(requeue_before)s))
    ORDER BY author_id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING author_id
"""


def slices_mark_stale(*, limit: int = STALE_BATCH, now: datetime | None = None) -> list[int]:
    """Queue (without sending) what the sweep rebuilds; the ids, at most `limit`.

    Stale means: built by an older algorithm or not checked for a week;
    failed with retries left; a build whose lease ran out (its worker died);
    queued but never handed to the broker (it was away when the row was
    queued); queued so long ago that the task was probably lost. A build that died
    MAX_ATTEMPTS times is marked failed instead of being tried forever.
    """
    now = now or timezone.now()
    GraphSlice.objects.filter(
        status=Status.BUILDING, lease_expires_at__lt=now, attempts__gte=MAX_ATTEMPTS
    ).update(
        status=Status.FAILED,
        error=f"The build stopped without finishing {MAX_ATTEMPTS} times.",
        lease_expires_at=None,
        updated_at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _STALE_SQL,
            {
                "now": now,
                "version": ALGORITHM_VERSION,
                "refresh_before": now - REFRESH_AFTER,
                "retry_before": now - RETRY_AFTER,
                "requeue_before": now - REQUEUE_AFTER,
                "max_attempts": MAX_ATTEMPTS,
                "limit": limit,
            },
        )
        return sorted(row[0] for row in cursor.fetchall())


@transaction.atomic
def slices_queue_stale(*, limit: int = STALE_BATCH) -> int:
    """The periodic sweep (Celery beat): queue and send what is stale; how many."""
    now = timezone.now()
    queued = slices_mark_stale(limit=limit, now=now)
    _send(queued, queued_at=now)
    return len(queued)
