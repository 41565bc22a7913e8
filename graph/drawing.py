"""From stored slice data to what the SVG template draws: pure arithmetic, no networkx.

A slice is laid out once, in a unit circle (graph.services.slice_layout).
Here it is stretched onto a frame, one per screen shape: a wide one for
desktops and a tall one, with larger type, for phones (CSS shows one of the
two). Labels are placed greedily by rank and dropped when they would collide
with a label or a node already placed, so the drawing never turns into a
smudge; every node keeps its full name in a tooltip and in the list under the
picture.
"""

import itertools
import math
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Part of the cache key of drawn fragments: bump when the drawing changes, so
# that fragments drawn by the old code are not served for a week.
DRAWING_VERSION = 2

NODE_TYPES = ("person", "work", "topic", "institution")
TYPE_LABELS = {
    "person": ("person", "people"),
    "work": ("paper", "papers"),
    "topic": ("topic", "topics"),
    "institution": ("institution", "institutions"),
}
TYPE_TITLES = {"person": "Person", "work": "Paper", "topic": "Topic", "institution": "Institution"}
# Labels drawn first win their place: the centre, the people, their papers, then the rest.
_LABEL_ORDER = {"person": 0, "work": 1, "topic": 2, "institution": 3}
# Ties between two co-authors drawn per person (their strongest): a group that
# all wrote together would otherwise fill the ring with a clique.
PEER_TIES_DRAWN = 3
# Advances of the printable ASCII characters (space to tilde) in hundredths of
# the font size: DejaVu Sans at weight 500 (drawn as Book) and at 750 (Bold).
_ADVANCES = (
    32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66,
    56, 86, 75, 79, 60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61,
    63, 55, 63, 62, 35, 63, 63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82,
    59, 59, 52, 64, 34, 64, 84,
)  # fmt: skip
_BOLD_ADVANCES = (
    35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70,
    70, 70, 70, 70, 40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37, 37, 77,
    64, 100, 84, 85, 73, 85, 77, 72, 68, 81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67,
    72, 59, 72, 68, 44, 72, 71, 34, 34, 67, 34, 104, 71, 69, 72, 72, 49, 60, 48, 71, 65, 92,
    65, 65, 58, 71, 37, 71, 84,
)  # fmt: skip
# A label's lines are this far apart, and its first baseline this far below its top
# (shares of the font size).
_LINE_HEIGHT = 1.2
_ASCENT = 0.95


@dataclass(frozen=True)
class Frame:
    name: str
    width: int
    height: int
    rx: float
    ry: float
    font: float
    node_scale: float
    # The longest label per type, in characters; 0: never labelled.
    label_chars: dict[str, int]
    # How many nodes of each type may get a label (by rank).
    label_budget: dict[str, int]
    # A node at radius r of the unit-circle layout is drawn at r ** spread: below
    # 1 the inner rings move out, making room around the centre for labels.
    spread: float = 1.0


SLICE_FRAMES = (
    Frame(
        name="wide",
        width=1000,
        height=640,
        rx=330,
        ry=250,
        font=14,
        node_scale=1.0,
        label_chars={"person": 24, "work": 30, "topic": 26, "institution": 26},
        label_budget={"person": 12, "work": 6, "topic": 8, "institution": 6},
    ),
    Frame(
        name="narrow",
        width=600,
        height=860,
        rx=232,
        ry=345,
        font=24,
        node_scale=1.45,
        label_chars={"person": 15, "work": 13, "topic": 15, "institution": 15},
        label_budget={"person": 11, "work": 4, "topic": 6, "institution": 4},
        spread=0.55,
    ),
)
EXPLORER_FRAMES = (
    Frame(
        name="wide",
        width=1000,
        height=720,
        rx=340,
        ry=300,
        font=17,
        node_scale=1.15,
        label_chars={"person": 22, "work": 26, "topic": 24, "institution": 24},
        label_budget={"person": 24, "work": 8, "topic": 16, "institution": 12},
    ),
    Frame(
        name="narrow",
        width=640,
        height=820,
        rx=245,
        ry=320,
        font=21,
        node_scale=1.3,
        label_chars={"person": 14, "work": 0, "topic": 14, "institution": 14},
        label_budget={"person": 10, "work": 0, "topic": 4, "institution": 3},
    ),
)


@dataclass
class SceneNode:
    id: str
    type: str
    label: str
    href: str
    title: str
    x: float
    y: float
    size: float
    shape: str
    points: str = ""
    is_centre: bool = False
    # Top-left corner and side of a square (papers).
    left: float = 0.0
    top: float = 0.0
    side: float = 0.0
    text: str = ""
    text_x: float = 0.0
    text_y: float = 0.0
    font: float = 0.0
    anchor: str = "middle"
    # The label's lines and their baselines (one or two).
    lines: list[tuple[str, float]] = field(default_factory=list)
    # In the explorer a person's node re-centres the graph on them (htmx).
    recentre: bool = False


@dataclass
class SceneEdge:
    source: str
    target: str
    kind: str
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    title: str = ""
    href: str = ""
    key: str = ""
    selected: bool = False
    # A tie between two co-authors, not with the centre: drawn quieter.
    peer: bool = False


@dataclass
class Scene:
    frame: Frame
    nodes: list[SceneNode] = field(default_factory=list)
    edges: list[SceneEdge] = field(default_factory=list)
    rings: list[tuple[float, float]] = field(default_factory=list)

    @property
    def view_box(self) -> str:
        return f"0 0 {self.frame.width} {self.frame.height}"

    @property
    def cx(self) -> float:
        return self.frame.width / 2

    @property
    def cy(self) -> float:
        return self.frame.height / 2

    @property
    def edges_svg(self) -> SafeString:
        """The edges' markup, made here rather than in the template.

        A drawing has hundreds of edges and Django's template engine spends
        a fraction of a millisecond on each; joined here they cost nothing.
        Every value goes through format_html's escaping.
        """
        return format_html_join("", "{}", ((_edge_svg(e),) for e in self.edges))


@dataclass(frozen=True)
class Filters:
    """What the explorer shows: node types, a year range for papers, a selected tie."""

    types: frozenset[str] = frozenset(NODE_TYPES)
    year_from: int | None = None
    year_to: int | None = None
    edge: str = ""

    def query(self, *, edge: str = "") -> str:
        """The query string that keeps these filters (and selects `edge`)."""
        pairs: list[tuple[str, str | int]] = []
        if self.types != frozenset(NODE_TYPES):
            pairs.append(("filtered", 1))
            pairs += [("show", t) for t in NODE_TYPES if t in self.types]
        if self.year_from is not None:
            pairs.append(("year_from", self.year_from))
        if self.year_to is not None:
            pairs.append(("year_to", self.year_to))
        if edge:
            pairs.append(("edge", edge))
        return f"?{urlencode(pairs)}" if pairs else ""

    @property
    def by_year(self) -> bool:
        return self.year_from is not None or self.year_to is not None

    @property
    def active(self) -> bool:
        """Anything hidden: a type unticked or a year range."""
        return self.by_year or self.types != frozenset(NODE_TYPES)

    def year_ok(self, year: int | None) -> bool:
        if not self.by_year:
            return True
        if year is None:
            return False
        if self.year_from is not None and year < self.year_from:
            return False
        return self.year_to is None or year <= self.year_to

    def as_json(self) -> dict[str, Any]:
        return {
            "types": [t for t in NODE_TYPES if t in self.types],
            "year_from": self.year_from,
            "year_to": self.year_to,
        }


def _within_years(edge: dict[str, Any], filters: Filters) -> dict[str, Any] | None:
    """A co-author edge counted over the works of the year range; None: they share none there."""
    if edge["kind"] != "coauthor":
        return edge
    years = [(n, w) for year, n, w in edge.get("by_year", []) if filters.year_ok(year)]
    shared = sum(n for n, _ in years)
    if not shared:
        return None
    within = {**edge, "shared": shared, "weight": round(math.fsum(w for _, w in years), 4)}
    if "works" in edge:
        within["works"] = [w for w in edge["works"] if filters.year_ok(w.get("year"))]
    return within


def shown(data: dict[str, Any], filters: Filters) -> dict[str, Any]:
    """The slice as the filters show it: one consistent set that everything is drawn from.

    Types hide their nodes. A year range keeps the papers of those years and
    what is reached through them: the co-authors who share one of them with
    the centre, ties counted over those years alone, the topics of those
    papers and the institutions of the people kept. Nodes, edges, the ties
    list, the summary, the text list and graph.json all read the result.
    """
    if not data or not filters.active:
        return data
    centre = data["centre"]
    edges: list[dict[str, Any]] = data["edges"]
    if filters.by_year:
        edges = [e for e in (_within_years(e, filters) for e in edges) if e is not None]
    linked: dict[str, set[str]] = {}
    for e in edges:
        linked.setdefault(e["source"], set()).add(e["target"])
        linked.setdefault(e["target"], set()).add(e["source"])
    in_years = {
        n["id"] for n in data["nodes"] if n["type"] == "work" and filters.year_ok(n.get("year"))
    }
    people = {centre} | {
        n["id"]
        for n in data["nodes"]
        if n["type"] == "person" and (not filters.by_year or centre in linked.get(n["id"], ()))
    }
    reached = {"work": in_years, "person": people}

    def keep(node: dict[str, Any]) -> bool:
        if node.get("centre"):
            return True
        kind = node["type"]
        if kind not in filters.types:
            return False
        if kind in reached:
            return node["id"] in reached[kind]
        if not filters.by_year:
            return True
        anchors = in_years if kind == "topic" else people
        return not anchors.isdisjoint(linked.get(node["id"], ()))

    nodes = [n for n in data["nodes"] if keep(n)]
    kept = {n["id"] for n in nodes}
    counts = {kind: 0 for kind in NODE_TYPES}
    for n in nodes:
        counts[n["type"]] += 1
    return {
        "centre": centre,
        "nodes": nodes,
        "edges": [e for e in edges if e["source"] in kept and e["target"] in kept],
        "meta": {**data["meta"], "counts": counts, "filters": filters.as_json()},
    }


def _edge_svg(e: SceneEdge) -> SafeString:
    kind = f"gedge gedge--{e.kind}" + (" gedge--peer" if e.peer else "")
    ends = format_html('x1="{}" y1="{}" x2="{}" y2="{}"', e.x1, e.y1, e.x2, e.y2)
    if e.href:
        return format_html(
            '<a class="gedge-link{}" href="{}" hx-get="{}" data-edge="{}"><title>{}</title>'
            '<line class="gedge-hit" {}/><line class="{}" {} stroke-width="{}"/></a>',
            " is-selected" if e.selected else "",
            e.href,
            e.href,
            e.key,
            e.title,
            ends,
            kind,
            ends,
            e.width,
        )
    if e.title:
        return format_html(
            '<line class="{}" {} stroke-width="{}"><title>{}</title></line>',
            kind,
            ends,
            e.width,
            e.title,
        )
    return format_html('<line class="{}" {} stroke-width="{}"/>', kind, ends, e.width)


@lru_cache(maxsize=1)
def _explorer_pattern() -> str:
    # reverse() once: an explorer page links to its hundreds of ties and people.
    return reverse("graph:explorer", args=[987654321]).replace("987654321", "{}")


def _explorer_url(person: str, query: str) -> str:
    """The explorer centred on `person` ("a:12"), with a query string."""
    return _explorer_pattern().format(int(person.split(":")[1])) + query


def edge_key(source: str, target: str) -> str:
    return f"{source}-{target}"


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)].rstrip(" ,.;:-") + "…"


def count_phrase(counts: dict[str, int]) -> str:
    """'12 papers, 12 people, 8 topics, 6 institutions' (in the seed's order)."""
    parts = []
    for kind in ("work", "person", "topic", "institution"):
        n = counts.get(kind, 0)
        singular, plural = TYPE_LABELS[kind]
        parts.append(f"{n} {singular if n == 1 else plural}")
    return ", ".join(parts)


def _tooltip(node: dict[str, Any], edges_by_node: dict[str, dict[str, Any]]) -> str:
    kind = node["type"]
    if node.get("centre"):
        return f"{node['label']} (this researcher)"
    if kind == "work":
        year = f" ({node['year']})" if node.get("year") else ""
        return f"Paper{year}: {node['label']}"
    if kind == "person":
        tie = edges_by_node.get(node["id"])
        if tie:
            shared = tie.get("shared", 0)
            return f"{node['label']}: {shared} shared work{'' if shared == 1 else 's'}"
        return node["label"]
    return f"{TYPE_TITLES[kind]}: {node['label']}"


def _shape(kind: str, x: float, y: float, size: float) -> tuple[str, str]:
    if kind == "person":
        return "circle", ""
    if kind == "work":
        return "rect", ""
    if kind == "topic":
        pts = [(x, y - size), (x + size, y), (x, y + size), (x - size, y)]
    else:
        pts = [
            (x + size * math.cos(math.pi / 3 * k), y + size * math.sin(math.pi / 3 * k))
            for k in range(6)
        ]
    return "polygon", " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)


def text_width(text: str, font: float, *, bold: bool = False) -> float:
    """How wide `text` is drawn at `font` units, by the per-character advances of DejaVu Sans.

    DejaVu Sans is what system-ui falls back to on Linux and is wider than
    the system fonts of phones and desktops, so labels that fit with it fit
    everywhere. A flat average per character was off by a third either way
    ("Illini" against "MMWW"), which let labels run into nodes.
    """
    table = _BOLD_ADVANCES if bold else _ADVANCES
    total = 0
    for char in text:
        code = ord(char)
        if 32 <= code < 127:
            total += table[code - 32]
        elif char == "…":
            total += 100
        else:
            total += 100 if unicodedata.east_asian_width(char) in "WF" else 72
    return total * font / 100


def _wrap(text: str, limit: int, lines: int) -> list[str]:
    """`text` on `lines` lines of at most `limit` characters, broken at spaces, the last cut.

    Lines are balanced (each about an equal share of the text) so that a
    title does not leave one word dangling on its own line.
    """
    words = text.split()
    share = max(len(text) / lines, 1)
    out: list[str] = []
    while words and len(out) < lines - 1:
        line = words.pop(0)
        while words and len(line) + 1 + len(words[0]) <= limit:
            longer = len(line) + 1 + len(words[0])
            rest_fits = len(" ".join(words)) <= limit * (lines - len(out) - 1)
            if rest_fits and abs(longer - share) >= abs(len(line) - share):
                break
            line += " " + words.pop(0)
        out.append(truncate(line, limit))
    if words:
        out.append(truncate(" ".join(words), limit))
    return out


def _label_variants(label: str, limit: int, most: int) -> list[list[str]]:
    """The ways to write a label, the most readable first: whole (on fewest lines), then cut."""
    variants: list[list[str]] = []
    for lines in range(1, most + 1):
        variant = _wrap(label, limit, lines)
        if variant not in variants:
            variants.append(variant)
    whole = [v for v in variants if " ".join(v) == label]
    cut = [v for v in variants if v not in whole]
    # Cut ones: those showing more of the label first.
    return whole + sorted(cut, key=lambda v: -sum(map(len, v)))


def _overlaps(a: tuple[float, ...], b: tuple[float, ...], pad: float = 2.0) -> bool:
    return not (
        a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1] or b[3] + pad <= a[1]
    )


# Where a label may sit around its node, as (horizontal, vertical, reach):
# the side of the node its box touches (0: centred on that axis); a label
# above or below may also reach out to one side (-1 left, 1 right) instead
# of being centred, which lets it clear a neighbour or the frame's edge.
Spot = tuple[int, int, int]
_SPOTS: tuple[Spot, ...] = (
    (1, 0, 0),
    (-1, 0, 0),
    (0, 1, 0),
    (0, -1, 0),
    (0, 1, 1),
    (0, 1, -1),
    (0, -1, 1),
    (0, -1, -1),
    (1, 1, 0),
    (-1, 1, 0),
    (1, -1, 0),
    (-1, -1, 0),
)


def _spots(node: SceneNode, scene: Scene) -> list[Spot]:
    """Spots to try, those facing away from the centre first: labels go outwards."""
    frame = scene.frame
    dx, dy = node.x - scene.cx, node.y - scene.cy
    if node.is_centre or not (dx or dy):
        out_x, out_y = 0.0, 1.0
    else:
        angle = math.atan2(dy / frame.ry, dx / frame.rx)
        out_x, out_y = math.cos(angle), math.sin(angle)

    def facing(spot: Spot) -> float:
        sx, sy, reach = spot
        # Facing outwards scores up to 1; a label reaching out sideways
        # counts a third as much as its side; corners come last of equals.
        x = sx or reach / 3
        return -(x * out_x + sy * out_y) / math.hypot(x, sy) + 0.05 * bool(reach or (sx and sy))

    return sorted(_SPOTS, key=facing)


def _label_box(
    node: SceneNode, spot: Spot, width: float, height: float, gap: float
) -> tuple[float, float, float, float]:
    sx, sy, reach = spot
    side = node.size + gap
    if sx and sy:
        # A corner: the box's nearest corner sits off the node's diagonal.
        side = node.size * 0.75 + gap
    if sx > 0:
        left = node.x + side
    elif sx < 0:
        left = node.x - side - width
    elif reach > 0:
        left = node.x - node.size
    elif reach < 0:
        left = node.x + node.size - width
    else:
        left = node.x - width / 2
    if sy > 0:
        top = node.y + (side if sx else node.size + gap * 0.5)
    elif sy < 0:
        top = node.y - (side if sx else node.size + gap * 0.5) - height
    else:
        top = node.y - height / 2
    return (left, top, left + width, top + height)


def _set_label(
    node: SceneNode, lines: list[str], box: tuple[float, ...], spot: Spot, font: float
) -> None:
    # Anchored on the side nearest the node, so that a font wider than the
    # estimate grows away from it.
    sx, _, reach = spot
    if sx > 0 or (not sx and reach > 0):
        anchor, x = "start", box[0]
    elif sx < 0 or reach < 0:
        anchor, x = "end", box[2]
    else:
        anchor, x = "middle", (box[0] + box[2]) / 2
    node.text, node.anchor, node.font = " ".join(lines), anchor, round(font, 1)
    node.text_x = round(x, 1)
    node.text_y = round(box[1] + font * _ASCENT, 1)
    node.lines = [
        (line, round(box[1] + font * (_ASCENT + _LINE_HEIGHT * i), 1))
        for i, line in enumerate(lines)
    ]


def _place_labels(scene: Scene, ranks: dict[str, int]) -> None:
    """Give labels to as many nodes as fit, by rank, none over another label or node.

    Each label tries one line, then two, on every side of its node, outwards
    first. A node left without one is still named by its tooltip (SVG title,
    which is also its accessible name) and in the list under the drawing.
    """
    frame = scene.frame
    node_boxes = [
        (n.id, (n.x - n.size, n.y - n.size, n.x + n.size, n.y + n.size)) for n in scene.nodes
    ]
    placed: list[tuple[float, ...]] = []
    order = sorted(
        scene.nodes,
        key=lambda n: (not n.is_centre, _LABEL_ORDER[n.type], ranks.get(n.id, 0), n.id),
    )
    for node in order:
        limit = frame.label_chars[node.type]
        if node.is_centre:
            limit = max(limit, 24)
        elif not limit or ranks.get(node.id, 0) > frame.label_budget[node.type]:
            continue
        font = frame.font * (1.1 if node.is_centre else 1.0)
        # The centre may also stand a little off its node, between the people around it.
        gaps = [font * step for step in ((0.3, 0.8, 1.3, 1.8) if node.is_centre else (0.3,))]
        others = [box for nid, box in node_boxes if nid != node.id]
        spots = _spots(node, scene)
        variants = _label_variants(node.label, limit, 3 if node.type == "work" else 2)
        found = None
        sizes = [
            (
                lines,
                max(text_width(line, font, bold=node.is_centre) for line in lines),
                font * _LINE_HEIGHT * len(lines),
            )
            for lines in variants
        ]
        # A spot facing outwards on two lines reads better than one facing a
        # neighbour on one: the label is not taken for the neighbour's.
        for gap, spot in itertools.product(gaps, spots):
            for lines, width, height in sizes:
                box = _label_box(node, spot, width, height, gap)
                if (
                    box[0] < 2
                    or box[1] < 2
                    or box[2] > frame.width - 2
                    or box[3] > frame.height - 2
                ):
                    continue
                if any(_overlaps(box, other) for other in placed):
                    continue
                if any(_overlaps(box, other, pad=1.0) for other in others):
                    continue
                found = (lines, box, spot)
                break
            if found:
                break
        if found is None and node.is_centre:
            # Never seen in practice: the centre is named even over a neighbour.
            lines = variants[-1]
            width = max(text_width(line, font, bold=True) for line in lines)
            spot = (0, 1, 0)
            found = (lines, _label_box(node, spot, width, font * _LINE_HEIGHT, gaps[0]), spot)
        if found:
            _set_label(node, found[0], found[1], found[2], font)
            placed.append(found[1])


def _strongest_peer_ties(data: dict[str, Any], visible: set[str], *, keep: str) -> set[str]:
    """Keys of the ties between co-authors worth drawing: each person's strongest few."""
    centre = data.get("centre", "")
    peers = sorted(
        (
            e
            for e in data.get("edges", [])
            if e["kind"] == "coauthor"
            and centre not in (e["source"], e["target"])
            and e["source"] in visible
            and e["target"] in visible
        ),
        key=lambda e: (-e["weight"], edge_key(e["source"], e["target"])),
    )
    drawn: dict[str, int] = {}
    chosen = {keep} if keep else set()
    for e in peers:
        ends = (e["source"], e["target"])
        if any(drawn.get(person, 0) < PEER_TIES_DRAWN for person in ends):
            chosen.add(edge_key(*ends))
            for person in ends:
                drawn[person] = drawn.get(person, 0) + 1
    return chosen


def build_scene(
    data: dict[str, Any],
    frame: Frame,
    *,
    filters: Filters | None = None,
    explorer: bool = False,
) -> Scene:
    """Where everything goes on one frame: `data` as `shown` gave it for these filters.

    `filters` only shape the links (they keep the filters) and the selected tie.
    """
    filters = filters or Filters()
    scene = Scene(frame=frame)
    nodes = data.get("nodes", [])
    visible = {n["id"] for n in nodes}
    centre = data.get("centre", "")
    centre_ties = {
        (e["target"] if e["source"] == centre else e["source"]): e
        for e in data.get("edges", [])
        if e["kind"] == "coauthor" and centre in (e["source"], e["target"])
    }
    max_score = {kind: 0.0 for kind in NODE_TYPES}
    for n in nodes:
        if not n.get("centre"):
            max_score[n["type"]] = max(max_score[n["type"]], n["score"])

    base = {"person": 7.0, "work": 6.0, "topic": 8.0, "institution": 8.0}
    grow = {"person": 5.0, "work": 3.0, "topic": 3.0, "institution": 3.0}
    for n in nodes:
        radius = math.hypot(n["x"], n["y"])
        stretch = radius ** (frame.spread - 1) if radius and frame.spread != 1.0 else 1.0
        x = round(scene.cx + n["x"] * stretch * frame.rx, 1)
        y = round(scene.cy + n["y"] * stretch * frame.ry, 1)
        kind = n["type"]
        if n.get("centre"):
            size = 20.0
        else:
            top = max_score[kind] or 1.0
            size = base[kind] + grow[kind] * math.sqrt(max(n["score"], 0.0) / top)
        size = round(size * frame.node_scale, 1)
        shape, points = _shape(kind, x, y, size)
        recentre = explorer and kind == "person" and not n.get("centre")
        href = n["url"]
        if recentre:
            href = _explorer_url(n["id"], filters.query())
        scene.nodes.append(
            SceneNode(
                id=n["id"],
                type=kind,
                label=n["label"],
                href=href,
                title=_tooltip(n, centre_ties),
                x=x,
                y=y,
                size=size,
                shape=shape,
                points=points,
                is_centre=bool(n.get("centre")),
                left=round(x - size, 1),
                top=round(y - size, 1),
                side=round(2 * size, 1),
                recentre=recentre,
            )
        )
    # Paint order: the big and important on top.
    paint = {"work": 0, "topic": 1, "institution": 2, "person": 3}
    scene.nodes.sort(key=lambda s: (s.is_centre, paint[s.type]))

    where = {s.id: s for s in scene.nodes}
    labels = {n["id"]: n["label"] for n in nodes}
    coauthor_weights = [e["weight"] for e in data.get("edges", []) if e["kind"] == "coauthor"]
    heaviest = max(coauthor_weights, default=1.0) or 1.0
    drawn_peers = _strongest_peer_ties(data, visible, keep=filters.edge)
    for e in data.get("edges", []):
        if e["source"] not in visible or e["target"] not in visible:
            continue
        is_peer = e["kind"] == "coauthor" and centre not in (e["source"], e["target"])
        if is_peer and edge_key(e["source"], e["target"]) not in drawn_peers:
            continue
        a, b = where[e["source"]], where[e["target"]]
        edge = SceneEdge(
            source=e["source"],
            target=e["target"],
            kind=e["kind"],
            x1=a.x,
            y1=a.y,
            x2=b.x,
            y2=b.y,
            width=1.0,
        )
        if e["kind"] == "coauthor":
            edge.width = round(1.2 + 3.3 * min(e["weight"] / heaviest, 1.0), 2)
            shared = e.get("shared", 0)
            edge.title = (
                f"{labels[e['source']]} and {labels[e['target']]}: "
                f"{shared} shared work{'' if shared == 1 else 's'}"
            )
            edge.key = edge_key(e["source"], e["target"])
            edge.peer = is_peer
            if edge.peer:
                edge.width = round(edge.width * 0.7, 2)
            edge.selected = edge.key == filters.edge
            if explorer:
                edge.href = _explorer_url(centre, filters.query(edge=edge.key))
        scene.edges.append(edge)
    kind_paint = {"about": 0, "affiliated": 1, "authored": 2, "coauthor": 3}
    scene.edges.sort(key=lambda e: (kind_paint[e.kind], e.selected))

    scene.rings = [
        (round(frame.rx * r**frame.spread, 1), round(frame.ry * r**frame.spread, 1))
        for r in (0.4, 0.72, 1.0)
    ]
    ranks = {n["id"]: n.get("rank", 0) for n in nodes}
    _place_labels(scene, ranks)
    return scene


def node_groups(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes as a text list, by type, for screen readers and for reading."""
    groups = []
    for kind in NODE_TYPES:
        members = [n for n in data.get("nodes", []) if n["type"] == kind]
        if members:
            plural = TYPE_LABELS[kind][1]
            groups.append(
                {
                    "type": kind,
                    "title": plural.capitalize(),
                    "nodes": members,
                    "count": len(members),
                }
            )
    return groups


def selected_edge(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The co-author edge named `key` ("a:1-a:2"), with its people's labels."""
    if not key:
        return None
    labels = {n["id"]: n for n in data.get("nodes", [])}
    for e in data.get("edges", []):
        if e["kind"] == "coauthor" and edge_key(e["source"], e["target"]) == key:
            return {**e, "a": labels.get(e["source"]), "b": labels.get(e["target"])}
    return None


def coauthor_ties(data: dict[str, Any], filters: Filters | None = None) -> list[dict[str, Any]]:
    """Every co-author edge, strongest first, with both people and the link that selects it."""
    filters = filters or Filters()
    labels = {n["id"]: n for n in data.get("nodes", [])}
    ties = []
    for e in data.get("edges", []):
        if e["kind"] == "coauthor":
            key = edge_key(e["source"], e["target"])
            ties.append(
                {
                    **e,
                    "a": labels[e["source"]],
                    "b": labels[e["target"]],
                    "key": key,
                    "href": _explorer_url(data["centre"], filters.query(edge=key)),
                }
            )
    return sorted(ties, key=lambda e: (-e["weight"], e["key"]))
