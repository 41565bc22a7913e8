"""The researcher page's works list: sort, filters, search within, paging, entries and cache."""

import re

import pytest
from django.conf import settings
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from profiles import selectors
from profiles.forms import WorksFilterForm
from profiles.views import _works_cache_params
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    SourceFactory,
    TopicFactory,
    WorkFactory,
)
from tests.profiles.conftest import make_user
from tests.profiles.test_page_cache import SHARED_READS
from tests.profiles.test_researcher_page import PROFILE_PAGE_QUERIES, text_of
from works.models import Authorship, WorkTopic

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# A filter that narrows the list counts its works in a query of its own.
FILTERED_PAGE_QUERIES = PROFILE_PAGE_QUERIES + 1


def page_url(author, query: str = "") -> str:
    url = reverse("profiles:researcher_detail", args=[author.pk])
    return f"{url}?{query}" if query else url


def titles(response) -> list[str]:
    return [w.title for w in response.context["works"]]


def fragment_titles(response) -> list[str]:
    return re.findall(r'class="work__title"[^>]*>([^<]*)<', response.content.decode())


@pytest.fixture
def record():
    """A researcher with five works that differ in every way the list filters on."""
    author = AuthorFactory(display_name="Ada Filter")
    journal = SourceFactory(display_name="Journal of Graphs", type="journal")
    arxiv = SourceFactory(display_name="arXiv", type="repository")
    graphs = TopicFactory(display_name="Graph theory")
    optics = TopicFactory(display_name="Optics")
    specs = [
        # title, type, year, source, citations, abstract, topic
        ("Zebra graphs", "article", 2019, journal, 5, "Colouring sparse networks.", graphs),
        (
            "apple lattices",
            "preprint",
            2021,
            arxiv,
            40,
            "Lattice walks and Kovačević sums.",
            graphs,
        ),
        ("Mirror optics", "article", 2015, journal, 12, "Lenses for telescopes.", optics),
        ("Beam splitting", "review", 2023, arxiv, 0, "A survey of beam splitters.", optics),
        ("Network flows", "article", 2010, None, 99, "Flows in a network, made simple.", None),
    ]
    works = {}
    for title, kind, year, source, cited, abstract, topic in specs:
        work = WorkFactory(
            title=title,
            type=kind,
            publication_year=year,
            source=source,
            cited_by_count=cited,
            abstract=abstract,
        )
        AuthorshipFactory(work=work, author=author, position=0)
        if topic:
            WorkTopic.objects.create(work=work, topic=topic, score=0.9)
        works[title] = work
    author.journal, author.arxiv, author.graphs, author.optics = journal, arxiv, graphs, optics
    author.by_title = works
    return author


# --- sort ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            ["Beam splitting", "apple lattices", "Zebra graphs", "Mirror optics", "Network flows"],
        ),
        (
            "sort=newest",
            ["Beam splitting", "apple lattices", "Zebra graphs", "Mirror optics", "Network flows"],
        ),
        (
            "sort=cited",
            ["Network flows", "apple lattices", "Mirror optics", "Zebra graphs", "Beam splitting"],
        ),
        # Case does not order titles: "apple" comes before "Beam".
        (
            "sort=title",
            ["apple lattices", "Beam splitting", "Mirror optics", "Network flows", "Zebra graphs"],
        ),
    ],
)
def test_each_sort_orders_the_list(client, record, query, expected):
    response = client.get(page_url(record, query))
    assert response.status_code == 200
    assert titles(response) == expected


def test_the_sort_shows_as_chosen_in_the_form(client, record):
    html = client.get(page_url(record, "sort=cited")).content.decode()
    assert '<option value="cited" selected>Most cited</option>' in html


# --- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=article", {"Zebra graphs", "Mirror optics", "Network flows"}),
        ("type=review", {"Beam splitting"}),
        ("year_from=2019", {"Zebra graphs", "apple lattices", "Beam splitting"}),
        ("year_to=2015", {"Mirror optics", "Network flows"}),
        ("year_from=2015&year_to=2019", {"Zebra graphs", "Mirror optics"}),
        ("year_from=2021&year_to=2021", {"apple lattices"}),
        ("type=article&year_from=2012&sort=title", {"Mirror optics", "Zebra graphs"}),
    ],
)
def test_filters_keep_only_the_matching_works(client, record, query, expected):
    response = client.get(page_url(record, query))
    assert response.status_code == 200
    assert set(titles(response)) == expected
    assert f"{len(expected)} of 5 works match" in text_of(response)


def test_venue_filter_keeps_that_venues_works(client, record):
    response = client.get(page_url(record, f"venue={record.arxiv.pk}"))
    assert set(titles(response)) == {"apple lattices", "Beam splitting"}
    html = response.content.decode()
    assert f'<option value="{record.arxiv.pk}" selected>arXiv (2)</option>' in html


def test_topic_filter_keeps_that_topics_works(client, record):
    response = client.get(page_url(record, f"topic={record.optics.pk}"))
    assert set(titles(response)) == {"Mirror optics", "Beam splitting"}
    assert f'<option value="{record.optics.pk}" selected>Optics (2)</option>' in (
        response.content.decode()
    )


def test_the_form_offers_the_researchers_own_types_and_venues(client, record):
    html = client.get(page_url(record)).content.decode()
    assert '<option value="article">article (3)</option>' in html
    assert '<option value="dataset">' not in html
    assert f'<option value="{record.journal.pk}">Journal of Graphs (2)</option>' in html
    assert f'<option value="{record.graphs.pk}">Graph theory (2)</option>' in html


def test_combined_filters_and_sort(client, record):
    query = (
        f"venue={record.journal.pk}&topic={record.graphs.pk}&year_from=2000&sort=cited&q=networks"
    )
    response = client.get(page_url(record, query))
    assert titles(response) == ["Zebra graphs"]


def test_a_filter_that_matches_nothing_says_so_and_offers_to_clear_it(client, record):
    response = client.get(page_url(record, "type=review&year_to=2000"))
    assert response.status_code == 200
    assert titles(response) == []
    text = text_of(response)
    assert "No works match this filter. Clear filters to see all 5." in text
    html = response.content.decode()
    assert f'<a href="{page_url(record)}#works-title">Clear filters</a>' in html


def test_unknown_parameters_are_ignored(client, record):
    response = client.get(page_url(record, "utm_source=mail&type=review"))
    assert response.status_code == 200
    assert titles(response) == ["Beam splitting"]


# --- search within ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("zebra", {"Zebra graphs"}),  # a word of the title, any case
        ("TELESCOPES", {"Mirror optics"}),  # a word of the abstract
        ("network", {"Zebra graphs", "Network flows"}),  # English stems: networks, network
        ("kovacevic", {"apple lattices"}),  # accents folded
        ("Kovačević", {"apple lattices"}),
        ('"beam splitters"', {"Beam splitting"}),  # a phrase
        ("network -colouring", {"Network flows"}),  # websearch: minus leaves out
        ("lattice or lenses", {"apple lattices", "Mirror optics"}),
        ("the", set()),  # only a stop word: nothing to look for, nothing found
        ("a & b | !(", set()),  # operators websearch takes as plain text
    ],
)
def test_search_within_titles_and_abstracts(client, record, q, expected):
    response = client.get(page_url(record), {"q": q})
    assert response.status_code == 200
    assert set(titles(response)) == expected


def test_search_does_not_reach_other_researchers_works(client, record):
    other = AuthorFactory()
    AuthorshipFactory(author=other, work=WorkFactory(title="Zebra crossings"))
    response = client.get(page_url(record, "q=zebra"))
    assert titles(response) == ["Zebra graphs"]


# --- bad parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("year_from=2020&year_to=2010", "The years run backwards: “from” 2020 is after “to” 2010."),
        ("type=poem", "There is no work type “poem”; choose one from the list."),
        ("sort=random", "Sort by newest, most cited or title."),
        ("year_from=last+year", "Give the first year as a number, e.g. 2015."),
        ("year_to=20x0", "Give the last year as a number, e.g. 2024."),
        ("year_from=99", "Give a year from 1000 on."),
        ("venue=journal", "Choose a venue from the list."),
        ("topic=-3", "Choose a topic from the list."),
        ("q=" + "x" * 201, "Search for at most 200 characters (this is 201)."),
    ],
)
def test_a_bad_value_gets_a_message_in_the_filter_form_on_the_whole_page(
    client, record, query, message
):
    response = client.get(page_url(record, query))
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html and record.display_name in html
    form = html[
        html.find('id="works-filter"') : html.find("</form>", html.find('id="works-filter"'))
    ]
    assert message in form
    assert 'aria-invalid="true"' in form
    assert "private" in response["Cache-Control"]


def test_a_bad_value_leaves_the_rest_of_the_filter_applied(client, record):
    response = client.get(page_url(record, "type=article&year_from=soon"))
    assert response.status_code == 400
    assert set(titles(response)) == {"Zebra graphs", "Mirror optics", "Network flows"}
    assert "the list leaves it out" in text_of(response)


def test_a_bad_value_by_htmx_swaps_the_list_and_fills_the_forms_message(client, record):
    response = client.get(page_url(record, "year_from=2020&year_to=2010"), headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" not in html and 'id="works-filter"' not in html
    assert '<div id="works-filter-messages" class="works-filter__messages" hx-swap-oob="true">' in (
        html
    )
    assert "The years run backwards" in html
    assert "Part of the filter could not be read." in html  # said in the live region too


@pytest.mark.parametrize("page", ["abc", "0", "99"])
def test_a_page_that_does_not_exist_is_noted_inside_the_filter_form(client, record, page):
    response = client.get(page_url(record, f"type=article&page={page}"))
    assert response.status_code == 200
    html = response.content.decode()
    form = html[
        html.find('id="works-filter"') : html.find("</form>", html.find('id="works-filter"'))
    ]
    assert 'id="page-note"' in form and "There is no page" in form
    assert len(titles(response)) == 3


# --- paging with filters ------------------------------------------------------------------


def many_works(n: int, **fields):
    author = AuthorFactory()
    for i in range(n):
        work = WorkFactory(publication_year=2000 + i % 20, cited_by_count=i, **fields)
        AuthorshipFactory(author=author, work=work)
    return author


def test_show_more_keeps_the_filter_and_sort(client):
    author = many_works(30, type="article")
    for i in range(5):
        AuthorshipFactory(author=author, work=WorkFactory(type="preprint", cited_by_count=1000 + i))
    response = client.get(page_url(author, "sort=cited&type=article&q=&year_from="))
    assert len(titles(response)) == 20
    html = response.content.decode()
    assert 'href="?sort=cited&amp;type=article&amp;page=2#work-list"' in html
    assert 'hx-get="?sort=cited&amp;type=article&amp;page=2"' in html

    more = client.get(page_url(author, "sort=cited&type=article&page=2"), headers=HTMX)
    assert more.status_code == 200
    cited = re.findall(r'class="work__cites">(\d+) citation', more.content.decode())
    assert cited == [str(n) for n in range(9, -1, -1)]
    assert "<html" not in more.content.decode() and "Show more" not in more.content.decode()
    assert "10 more works loaded" in more.content.decode()


def test_page_two_of_a_filter_without_javascript_is_the_whole_page(client):
    author = many_works(25, type="article")
    response = client.get(page_url(author, "type=article&page=2"))
    assert "<html" in response.content.decode()
    assert len(titles(response)) == 5


# --- htmx ---------------------------------------------------------------------------------


def test_the_filter_form_by_htmx_gets_the_list_and_announces_the_count(client, record):
    response = client.get(page_url(record, "type=article&sort=title"), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="works-filter"' not in html
    assert fragment_titles(response) == ["Mirror optics", "Network flows", "Zebra graphs"]
    assert (
        '<div hx-swap-oob="innerHTML:#live-status">3 of 5 works match, sorted by title</div>'
        in (html)
    )
    # The form's old message, if any, is cleared.
    assert '<div id="works-filter-messages" class="works-filter__messages" hx-swap-oob="true">' in (
        html
    )


def test_htmx_puts_the_filter_as_read_in_the_address_bar(client, record):
    response = client.get(
        page_url(record, "q=+walks++on&sort=newest&type=article&venue=&year_from="), headers=HTMX
    )
    assert response["HX-Push-Url"] == page_url(record, "type=article&q=walks+on")
    cleared = client.get(page_url(record, "q=&type="), headers=HTMX)
    assert cleared["HX-Push-Url"] == page_url(record)


def test_clearing_by_htmx_announces_every_work(client, record):
    html = client.get(page_url(record, "sort=newest"), headers=HTMX).content.decode()
    assert "All 5 works, sorted by newest" in html


def test_a_history_restore_gets_the_whole_page(client, record):
    response = client.get(
        page_url(record, "type=article"),
        headers={**HTMX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()
    assert len(titles(response)) == 3


def test_the_form_works_without_javascript_and_asks_htmx_to_push_the_url(client, record):
    html = client.get(page_url(record)).content.decode()
    form = re.search(r'<form class="works-filter"[^>]*>', html).group(0)
    assert 'method="get"' in form
    assert f'action="{page_url(record)}#works-title"' in form
    assert 'hx-target="#works-results"' in form and 'hx-push-url="true"' in form


# --- entries ------------------------------------------------------------------------------


def test_each_work_shows_venue_ids_links_and_citations(client):
    author = AuthorFactory()
    work = WorkFactory(
        title="Linked work",
        doi="10.1000/xyz.1",
        arxiv_id="2101.00001",
        pdf_url="https://example.org/paper.pdf",
        is_oa=True,
        cited_by_count=1,
        source=SourceFactory(display_name="Annals of Links"),
    )
    plain = WorkFactory(title="Open work", oa_url="https://repo.example/item/9", cited_by_count=7)
    hostile = WorkFactory(title="Bad link", pdf_url="javascript:alert(1)")
    for w in (work, plain, hostile):
        AuthorshipFactory(author=author, work=w)
    html = client.get(page_url(author)).content.decode()
    assert '<span class="work__venue">Annals of Links</span>' in html
    assert '<a href="https://doi.org/10.1000/xyz.1" rel="noopener">DOI 10.1000/xyz.1</a>' in html
    assert '<a href="https://arxiv.org/abs/2101.00001" rel="noopener">arXiv:2101.00001</a>' in html
    assert (
        'href="https://example.org/paper.pdf" rel="nofollow noopener">PDF (open access)</a>' in html
    )
    assert 'href="https://repo.example/item/9" rel="nofollow noopener">Open access</a>' in html
    assert "javascript:" not in html
    assert "1 citation<" in html and "7 citations<" in html


def test_a_retracted_work_carries_a_badge(client):
    author = AuthorFactory()
    AuthorshipFactory(author=author, work=WorkFactory(title="Withdrawn", is_retracted=True))
    AuthorshipFactory(author=author, work=WorkFactory(title="Sound"))
    html = client.get(page_url(author)).content.decode()
    assert html.count('<strong class="badge badge--retracted">Retracted</strong>') == 1
    assert 'class="work work--retracted"' in html


def team_work(author, *, size: int, own_position: int, title: str = "Team work"):
    work = WorkFactory(title=title)
    people = []
    for position in range(size):
        person = author if position == own_position else AuthorFactory()
        AuthorshipFactory(work=work, author=person, position=position)
        people.append(person)
    return work, people


def authors_line(html: str, title: str) -> str:
    item = html[html.find(f">{title}<") :]
    return text_of_fragment(item[item.find('class="work__authors"') : item.find("</p>")])


def text_of_fragment(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.split(">", 1)[1])).strip()


def test_coauthors_first_five_in_order_then_how_many_more_with_the_researcher_highlighted(client):
    author = AuthorFactory(display_name="Self Person")
    _, people = team_work(author, size=8, own_position=1)
    html = client.get(page_url(author)).content.decode()
    names = [p.display_name for p in people[:5]]
    assert authors_line(html, "Team work") == ", ".join(names) + " and 3 more"
    assert '<strong class="work__self">Self Person</strong>' in html
    coauthor = people[0]
    assert f'<a href="{page_url(coauthor)}">{coauthor.display_name}</a>' in html


def test_a_researcher_listed_late_is_named_after_the_first_five(client):
    author = AuthorFactory(display_name="Late Person")
    _, people = team_work(author, size=12, own_position=9)
    html = client.get(page_url(author)).content.decode()
    names = [p.display_name for p in people[:5]]
    assert authors_line(html, "Team work") == ", ".join(names) + ", … Late Person and 6 more"


def test_an_author_who_said_not_mine_is_not_listed_on_the_work(client):
    author = AuthorFactory(display_name="Self Person")
    work, people = team_work(author, size=3, own_position=0)
    Authorship.objects.filter(work=work, author=people[1]).update(status=Authorship.Status.DISPUTED)
    html = client.get(page_url(author)).content.decode()
    assert people[1].display_name not in html
    assert authors_line(html, "Team work") == f"Self Person, {people[2].display_name}"


def test_query_count_is_constant_with_many_works_and_many_coauthors(
    client, django_assert_num_queries
):
    small = AuthorFactory()
    team_work(small, size=2, own_position=0)
    large = AuthorFactory()
    for i in range(40):
        team_work(large, size=15, own_position=i % 15, title=f"Big team {i}")
    for author in (small, large):
        with django_assert_num_queries(FILTERED_PAGE_QUERIES):
            response = client.get(page_url(author, "sort=cited&type=article&q=team"))
        assert response.status_code == 200
        # The topics, collaborators and the filter's choices are the author's cached reads.
        with django_assert_num_queries(PROFILE_PAGE_QUERIES - SHARED_READS):
            client.get(page_url(author))
    html = client.get(page_url(large, "page=2")).content.decode()
    # Five named and ten more, or, when the researcher comes later, six named and nine more.
    assert html.count(" and 10 more") + html.count(" and 9 more") == 20
    assert html.count('<strong class="work__self">') == 20


def test_signed_in_filtered_page_is_the_shared_one_with_their_parts_in_one_query(
    client, record, django_assert_num_queries
):
    client.force_login(make_user())
    client.get(page_url(record))  # the session and the shared reads are made
    # The first visit builds the filtered page anonymous visitors get (the shared
    # reads from the cache) and fills in the visitor's parts: one statement for the
    # session, its user, and their follow, claim, inbox count and standing.
    with django_assert_num_queries(FILTERED_PAGE_QUERIES - SHARED_READS + 1):
        response = client.get(page_url(record, "type=article"))
    assert len(titles(response)) == 3 and "Log out" in response.content.decode()
    assert "private" in response["Cache-Control"]
    with django_assert_num_queries(1):
        again = client.get(page_url(record, "type=article"))
    html = again.content.decode()
    assert all(title in html for title in titles(response)) and "Log out" in html


# --- the one parser and selector the exports share ---------------------------------------


def test_works_for_filter_reads_the_same_parameters_as_the_page(record):
    form = WorksFilterForm({"type": "article", "sort": "title", "ignored": "x"})
    assert form.is_valid()
    works = selectors.works_for_filter(author=record, filters=form.filters())
    assert [w.title for w in works] == ["Mirror optics", "Network flows", "Zebra graphs"]
    assert form.query() == [("sort", "title"), ("type", "article")]


def test_works_for_filter_leaves_out_works_marked_not_mine(record):
    Authorship.objects.filter(author=record, work=record.by_title["Zebra graphs"]).update(
        status=Authorship.Status.DISPUTED
    )
    works = selectors.works_for_filter(author=record)
    assert "Zebra graphs" not in {w.title for w in works}
    assert works.count() == 4


# --- the anonymous page cache -------------------------------------------------------------


def test_an_anonymous_filtered_page_is_served_from_the_cache(
    client, record, django_assert_num_queries
):
    url = page_url(record, "type=article&sort=cited")
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.content == first.content
    assert "public" in second["Cache-Control"]
    built = client.get(url, headers=HTMX)
    with django_assert_num_queries(0):
        fragment = client.get(url, headers=HTMX)
    assert fragment.content == built.content and "<html" not in fragment.content.decode()


def test_different_filters_are_cached_apart(client, record, django_assert_num_queries):
    for query, expected in [
        ("type=review", ["Beam splitting"]),
        ("type=preprint", ["apple lattices"]),
        ("q=telescopes", ["Mirror optics"]),
    ]:
        for _ in range(2):
            assert fragment_titles(client.get(page_url(record, query), headers=HTMX)) == expected
    with django_assert_num_queries(0):
        for query in ("type=review", "type=preprint", "q=telescopes"):
            client.get(page_url(record, query), headers=HTMX)


def test_equivalent_filters_share_one_entry(client, record, django_assert_num_queries):
    first = client.get(page_url(record, "type=article&q=network++flows"))
    with django_assert_num_queries(0):
        for query in (
            "q=network%20flows&type=article",
            "sort=newest&type=article&q=+network+flows+&year_from=&venue=",
            "type=article&q=network+flows&page=1",
        ):
            assert client.get(page_url(record, query)).content == first.content


@pytest.mark.parametrize("query", ["type=poem", "year_from=2020&year_to=2010", "page=abc"])
def test_invalid_values_are_never_cached(client, record, query, django_assert_num_queries):
    client.get(page_url(record, query))
    response = client.get(page_url(record, query))
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_the_page_cache_keys_only_valid_canonical_filters():
    assert _works_cache_params(QueryDict("sort=newest&q=+a++b+&page=1")) == [("q", "a b")]
    assert _works_cache_params(QueryDict("page=02")) is None
    assert _works_cache_params(QueryDict("page=3&sort=title")) == [("sort", "title"), ("page", "3")]
    assert _works_cache_params(QueryDict("year_to=x")) is None
    assert _works_cache_params(QueryDict("page=999999")) is None


def test_cache_control_of_a_cached_filtered_page(client, record):
    response = client.get(page_url(record, "type=article"))
    control = set(response["Cache-Control"].split(", "))
    assert control == {"public", "max-age=0", f"s-maxage={settings.PAGE_CACHE_SHARED_SECONDS}"}
    assert Client().get(page_url(record, "type=article")).content == response.content
