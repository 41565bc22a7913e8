"""Small bar charts of counts per year, drawn on the server as SVG geometry.

`year_bar_chart` is a pure function: counts per year in, bars and labels with
their coordinates out, in the units of the SVG's viewBox. A template draws
them; no chart library and no script. The viewBox is narrow enough that the
chart reads at its natural size on a 390 px phone: year labels are thinned out
so that no two overlap, and the value axis shows 0, a middle line and a round
top.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

# The viewBox: the plot sits between the left margin (value labels) and the
# right edge, above the bottom margin (year labels).
WIDTH = 320
HEIGHT = 132
MARGIN_LEFT = 34
# Half a year label and a little: the last label never runs off the edge.
MARGIN_RIGHT = 16
MARGIN_TOP = 8
MARGIN_BOTTOM = 18
# A year label ("2026") at the chart's font size, with room on either side.
YEAR_LABEL_WIDTH = 30
# Of each year's slot, the share a bar fills, up to a width that still reads as a bar.
BAR_SHARE = 0.7
MAX_BAR_WIDTH = 24


@dataclass(frozen=True)
class Bar:
    year: int
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Label:
    text: str
    x: float
    y: float


@dataclass(frozen=True)
class GridLine:
    label: str
    y: float


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    year_labels: tuple[Label, ...]
    grid: tuple[GridLine, ...]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: float = MARGIN_LEFT
    plot_right: float = WIDTH - MARGIN_RIGHT
    baseline: float = HEIGHT - MARGIN_BOTTOM

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def peak(self) -> Bar | None:
        """The highest bar (the latest of equals), or None when every year is zero."""
        best = max(self.bars, key=lambda bar: (bar.value, bar.year), default=None)
        return best if best and best.value else None


def counts_by_year(raw: Mapping[str, object]) -> dict[int, int]:
    """{"2021": 3} as stored (AuthorMetrics' JSON) to {2021: 3}; anything else dropped."""
    counts: dict[int, int] = {}
    for key, value in raw.items():
        if isinstance(key, str) and key.isdigit() and isinstance(value, int) and value >= 0:
            counts[int(key)] = counts.get(int(key), 0) + value
    return counts


def year_span(*series: Mapping[int, int]) -> range:
    """Every year from the first to the last that any series has a count for."""
    years = [year for counts in series for year, value in counts.items() if value]
    return range(min(years), max(years) + 1) if years else range(0)


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (and at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def short_number(value: int) -> str:
    """An axis label: 950, 1.5k, 20k, 3M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return text + suffix
    return str(value)


def year_bar_chart(
    counts: Mapping[int, int], *, years: range | None = None, width: int = WIDTH
) -> BarChart:
    """Bars for every year of `years` (default: the span of `counts`), a year without a
    count drawn as zero; bar heights in proportion to a round top of the value axis."""
    if years is None:
        years = year_span(counts)
    plot_left, plot_right = MARGIN_LEFT, width - MARGIN_RIGHT
    baseline, plot_top = HEIGHT - MARGIN_BOTTOM, MARGIN_TOP
    top = nice_ceiling(max((counts.get(year, 0) for year in years), default=0))
    grid = tuple(
        GridLine(
            label=short_number(value), y=round(baseline - (baseline - plot_top) * value / top, 2)
        )
        for value in ((0, top // 2, top) if top >= 2 and top % 2 == 0 else (0, top))
    )
    if not years:
        return BarChart(bars=(), year_labels=(), grid=grid, width=width, plot_right=plot_right)
    slot = (plot_right - plot_left) / len(years)
    bar_width = round(min(slot * BAR_SHARE, MAX_BAR_WIDTH), 2)
    bars = []
    for index, year in enumerate(years):
        value = counts.get(year, 0)
        height = (baseline - plot_top) * value / top
        # A year with any count shows at least a sliver next to a huge one.
        if value and height < 1:
            height = 1.0
        bars.append(
            Bar(
                year=year,
                value=value,
                x=round(plot_left + index * slot + (slot - bar_width) / 2, 2),
                y=round(baseline - height, 2),
                width=bar_width,
                height=round(height, 2),
            )
        )
    # Every k-th year, k the fewest slots a label fits in, counted back from the last.
    every = math.ceil(YEAR_LABEL_WIDTH / slot)
    labelled = list(range(len(years) - 1, -1, -every))[::-1]
    labels = tuple(
        Label(
            text=str(years[index]),
            x=round(plot_left + (index + 0.5) * slot, 2),
            y=HEIGHT - 5,
        )
        for index in labelled
    )
    return BarChart(
        bars=tuple(bars), year_labels=labels, grid=grid, width=width, plot_right=plot_right
    )
