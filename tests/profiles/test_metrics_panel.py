"""The researcher page's "Citation metrics": the table, the charts and their numbers."""

import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.charts import HEIGHT, MARGIN_BOTTOM
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.test_researcher_page import PROFILE_PAGE_QUERIES, page_url, text_of
from works import metrics
from works.models import AuthorMetrics, Authorship

pytestmark = pytest.mark.django_db

SINCE = metrics.since_year()


def panel_html(response) -> str:
    html = response.content.decode()
    start = html.index('<section class="panel panel--wide metrics"')
    return html[start : html.index("</section>", start)]


def panel_text(response) -> str:
    html = re.sub(r"<(title|desc)[^>]*>.*?</\1>", " ", panel_html(response), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def author_with_cited_works(specs, **author_fields):
    """specs: (publication year, {year: citations}) per work; metrics computed as imports do."""
    author = AuthorFactory(**author_fields)
    for year, by_year in specs:
        work = WorkFactory(
            publication_year=year,
            cited_by_count=sum(by_year.values()),
            counts_by_year={str(y): n for y, n in by_year.items()},
        )
        AuthorshipFactory(work=work, author=author)
    metrics.author_metrics_refresh(author_ids=[author.pk])
    return author


@pytest.fixture
def cited_author():
    return author_with_cited_works(
        [
            (2012, {2013: 30, 2016: 20, SINCE + 1: 12}),  # 62 citations, 12 since
            (2015, {2016: 5, SINCE: 6}),  # 11, 6 since
            (2015, {SINCE + 2: 3}),  # 3
            (2019, {}),  # none
        ]
    )


def bars(html: str, chart_id: str) -> list[tuple[str, str]]:
    """(year, value) of each drawn bar of one chart, from the bars' own <title>."""
    start = html.index(f'id="{chart_id}-title"')
    svg = html[start : html.index("</svg>", start)]
    return re.findall(r'<rect class="year-chart__bar"[^>]*><title>(\d+): ([\d,]+)</title>', svg)


def test_table_shows_all_and_since_columns_as_computed(client, cited_author):
    row = AuthorMetrics.objects.get(author=cited_author)
    text = panel_text(client.get(page_url(cited_author)))

    assert (row.citations, row.h_index, row.i10_index) == (76, 3, 2)
    assert (row.citations_since, row.h_index_since, row.i10_index_since) == (21, 3, 1)
    assert f"All Since {SINCE}" in text
    assert "Citations 76 21" in text
    assert "h-index 3 3" in text
    assert "i10-index 2 1" in text
    assert "Not computed yet" not in text


def test_chart_bars_are_the_years_counts_with_gaps_as_zero(client, cited_author):
    html = panel_html(client.get(page_url(cited_author)))

    assert bars(html, "works-chart") == [("2012", "1"), ("2015", "2"), ("2019", "1")]
    assert bars(html, "citations-chart") == [
        ("2013", "30"),
        ("2016", "25"),
        (str(SINCE), "6"),
        (str(SINCE + 1), "12"),
        (str(SINCE + 2), "3"),
    ]
    # Both charts span the same years, first work to last citation.
    last = max(2019, SINCE + 2)
    assert f'<title id="works-chart-title">Works per year, 2012 to {last}</title>' in html
    assert f'<title id="citations-chart-title">Citations per year, 2012 to {last}</title>' in html
    for height in re.findall(r'<rect class="year-chart__bar" x="[\d.]+" y="([\d.]+)"', html):
        assert 0 <= float(height) <= HEIGHT - MARGIN_BOTTOM


def test_charts_are_images_with_a_title_a_description_and_the_numbers_in_a_table(
    client, cited_author
):
    html = panel_html(client.get(page_url(cited_author)))

    assert html.count('role="img"') == 2
    assert 'aria-labelledby="works-chart-title works-chart-desc"' in html
    assert "76 citations in all; the most, 30, in 2013." in html
    assert "<summary>Show the numbers</summary>" in html
    table = html[html.index("metrics__years") :]
    rows = re.findall(
        r'<tr><th scope="row">(\d+)</th><td class="points">(\d+)</td><td class="points">(\d+)</td>',
        table,
    )
    # Newest first, every year of the span, zeros included.
    years = list(range(max(2019, SINCE + 2), 2011, -1))
    assert [int(r[0]) for r in rows] == years
    assert dict((int(y), (int(w), int(c))) for y, w, c in rows)[2014] == (0, 0)
    assert dict((int(y), (int(w), int(c))) for y, w, c in rows)[2015] == (2, 0)
    assert sum(int(c) for _y, _w, c in rows) == 76


def test_definitions_say_how_each_number_is_counted(client, cited_author):
    text = panel_text(client.get(page_url(cited_author)))

    for phrase in (
        "How these are counted",
        "Citations The sum of the citation counts",
        "h-index The largest number h such that h of these works have at least h citations each.",
        "i10-index The number of these works with at least 10 citations.",
        f"Since {SINCE} The same three, counting only citations received from {SINCE} on",
        "Works per year",
        "Citations per year Citations received each year, for the years the source reports",
        'Works the researcher marked "not mine" do not count anywhere.',
    ):
        assert phrase in text, phrase


def test_a_work_marked_not_mine_stops_counting(client, cited_author):
    Authorship.objects.filter(author=cited_author, work__publication_year=2012).update(
        status=Authorship.Status.DISPUTED
    )
    metrics.author_metrics_refresh(author_ids=[cited_author.pk])
    response = client.get(page_url(cited_author))

    assert "Citations 14 9" in panel_text(response)
    assert ("2012", "1") not in bars(panel_html(response), "works-chart")


def test_an_author_with_no_metrics_row_reads_zeros_and_not_computed_yet(client):
    author = AuthorFactory()
    AuthorshipFactory(author=author)
    AuthorMetrics.objects.filter(author=author).delete()
    response = client.get(page_url(author))
    text = panel_text(response)

    assert response.status_code == 200
    assert "Not computed yet" in text
    assert "Citations 0 0" in text and "h-index 0 0" in text and "i10-index 0 0" in text
    assert "No works or citations counted yet." in text
    assert 'role="img"' not in panel_html(response)


def test_works_with_no_citations_read_as_zeros_with_a_works_chart(client):
    author = author_with_cited_works([(2021, {}), (2023, {})])
    response = client.get(page_url(author))
    html = panel_html(response)

    assert "Citations 0 0" in panel_text(response)
    assert bars(html, "works-chart") == [("2021", "1"), ("2023", "1")]
    assert 'id="citations-chart-title"' not in html
    assert "Citations per year No citations counted yet." in panel_text(response)


def test_the_panel_sits_between_the_profile_panels_and_the_graph(client, cited_author):
    text = text_of(client.get(page_url(cited_author)))

    assert text.index("Direct collaboration") < text.index("Citation metrics")
    assert text.index("Citation metrics") < text.index("Research graph")


def test_htmx_next_page_of_works_leaves_the_panel_out(client, cited_author):
    for i in range(25):
        AuthorshipFactory(author=cited_author, work=WorkFactory(publication_year=2000 + i % 5))
    response = client.get(page_url(cited_author), {"page": 2}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Citation metrics" not in response.content.decode()
    full = client.get(page_url(cited_author))
    assert "Citation metrics" in full.content.decode()


def test_the_page_query_count_stays_with_metrics_and_without(client, django_assert_num_queries):
    small = author_with_cited_works([(2020, {2021: 3})])
    large = author_with_cited_works([(2000 + i % 27, {2024: i}) for i in range(120)])
    bare = AuthorshipFactory().author  # no metrics row
    AuthorMetrics.objects.filter(author=bare).delete()
    user = get_user_model().objects.create_user("mo", "mo@example.org", "pw-long-enough-1")

    for author in (small, large, bare):
        with django_assert_num_queries(PROFILE_PAGE_QUERIES):
            client.get(page_url(author))
    # Signed in, the live page: as many queries for each.
    client.force_login(user)
    counts = []
    for author in (small, large, bare):
        with CaptureQueriesContext(connection) as queries:
            client.get(page_url(author))
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts


def test_since_year_label_follows_the_stored_year(client, cited_author):
    metrics.author_metrics_refresh(author_ids=[cited_author.pk], today=date(2031, 1, 5))
    text = panel_text(client.get(page_url(cited_author)))

    assert "All Since 2026" in text
