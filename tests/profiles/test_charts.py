"""The per-year bar charts' geometry (profiles.charts): pure functions, no database."""

from itertools import pairwise

import pytest

from profiles.charts import (
    HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MAX_BAR_WIDTH,
    WIDTH,
    YEAR_LABEL_WIDTH,
    counts_by_year,
    nice_ceiling,
    short_number,
    year_bar_chart,
    year_span,
)

BASELINE = HEIGHT - MARGIN_BOTTOM
PLOT_HEIGHT = BASELINE - MARGIN_TOP


def test_no_years_gives_no_bars_and_no_labels():
    chart = year_bar_chart({})

    assert chart.bars == () and chart.year_labels == ()
    assert chart.peak is None and chart.total == 0
    assert [line.label for line in chart.grid] == ["0", "1"]


def test_one_year_is_one_bar_of_full_height_and_bounded_width():
    chart = year_bar_chart({2024: 7})

    (bar,) = chart.bars
    assert (bar.year, bar.value) == (2024, 7)
    assert bar.width <= MAX_BAR_WIDTH
    assert bar.y + bar.height == BASELINE
    # The value axis tops at 10, the round number above 7.
    assert bar.height == pytest.approx(PLOT_HEIGHT * 7 / 10)
    assert [label.text for label in chart.year_labels] == ["2024"]
    assert chart.plot_left <= bar.x and bar.x + bar.width <= chart.plot_right


def test_years_between_the_first_and_last_are_filled_with_zero_bars():
    chart = year_bar_chart({2010: 4, 2014: 2})

    assert [(b.year, b.value) for b in chart.bars] == [
        (2010, 4),
        (2011, 0),
        (2012, 0),
        (2013, 0),
        (2014, 2),
    ]
    assert [b.height for b in chart.bars[1:4]] == [0, 0, 0]
    xs = [b.x for b in chart.bars]
    gaps = {round(b - a, 6) for a, b in pairwise(xs)}
    assert len(gaps) == 1  # evenly spaced, a year per slot


def test_a_given_span_puts_both_series_on_the_same_years():
    works = year_bar_chart({2015: 1}, years=range(2012, 2021))
    citations = year_bar_chart({2019: 50}, years=range(2012, 2021))

    assert [b.year for b in works.bars] == [b.year for b in citations.bars]
    assert [b.x for b in works.bars] == [b.x for b in citations.bars]


def test_huge_counts_scale_into_the_plot_and_small_ones_stay_visible():
    chart = year_bar_chart({2000: 3, 2001: 2_500_000}, years=range(2000, 2003))

    big = chart.bars[1]
    assert big.y >= MARGIN_TOP and big.height <= PLOT_HEIGHT
    assert chart.bars[0].height >= 1  # a sliver, not nothing
    assert chart.bars[2].height == 0
    assert chart.grid[-1].label == "5M"
    assert all(MARGIN_TOP <= line.y <= BASELINE for line in chart.grid)


@pytest.mark.parametrize("n_years", [1, 2, 5, 9, 10, 11, 27, 60, 127])
@pytest.mark.parametrize("width", [240, WIDTH, 600])
def test_year_labels_never_overlap_and_stay_inside(n_years, width):
    chart = year_bar_chart({2000 + i: i + 1 for i in range(n_years)}, width=width)
    xs = [label.x for label in chart.year_labels]

    assert chart.year_labels[-1].text == str(1999 + n_years)  # the latest year is named
    assert all(b - a >= YEAR_LABEL_WIDTH for a, b in pairwise(xs))
    assert all(YEAR_LABEL_WIDTH / 2 <= x <= width - YEAR_LABEL_WIDTH / 2 for x in xs)
    assert all(chart.plot_left <= b.x and b.x + b.width <= chart.plot_right for b in chart.bars)


def test_stored_json_is_read_leniently():
    assert counts_by_year({"2021": 3, "2022": 0, "x": 5, "2023": -1, "2024": "7"}) == {
        2021: 3,
        2022: 0,
    }
    assert year_span({2021: 3, 2022: 0}, {2019: 1}) == range(2019, 2022)
    assert year_span({2021: 0}) == range(0)


def test_axis_numbers_are_round_and_short():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 260, 5001)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        500,
        10_000,
    ]
    assert [short_number(v) for v in (0, 950, 1000, 1500, 20_000, 3_000_000)] == [
        "0",
        "950",
        "1k",
        "1.5k",
        "20k",
        "3M",
    ]
