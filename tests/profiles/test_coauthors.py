"""The co-authors page: everyone who shares a work, with counts and years, sorted and paged."""

import re
from collections import defaultdict

import pytest
from django.test import Client
from django.urls import reverse

from profiles import selectors, services
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user, owned_record
from tests.profiles.test_researcher_page import text_of
from works.models import Author, Authorship

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# The author with their owner's settings, the count, the page of co-authors.
COAUTHOR_PAGE_QUERIES = 3
DASH = "\u2013"


def url(author, query: str = "") -> str:
    return reverse("profiles:coauthors", args=[author.pk]) + query


def rows(response) -> list[tuple[str, int, str]]:
    """(name, shared works, years) of each row, in the page's order."""
    html = response.content.decode()
    found = re.findall(
        r'<tr>\s*<th scope="row"><a href="[^"]+">(.*?)</a>.*?</th>\s*'
        r'<td class="num">(\d+)</td>\s*<td>(.*?)</td>',
        html,
        re.S,
    )
    return [(name, int(shared), re.sub(r"<[^>]+>", "", years)) for name, shared, years in found]


def write_works(author, spec):
    """spec: [(year, [co-authors])]: one work per entry, the author first."""
    works = []
    for year, others in spec:
        work = WorkFactory(publication_year=year)
        AuthorshipFactory(work=work, author=author, position=0)
        for position, other in enumerate(others, start=1):
            AuthorshipFactory(work=work, author=other, position=position)
        works.append(work)
    return works


def expected_rows(author) -> dict[str, tuple[int, str]]:
    """The co-authors computed in Python from the authorships: {name: (shared, years)}."""
    visible = Authorship.objects.exclude(status=Authorship.Status.DISPUTED)
    mine = set(visible.filter(author=author).values_list("work_id", flat=True))
    years: dict[int, list[int]] = defaultdict(list)
    for a in visible.filter(work_id__in=mine).exclude(author=author).select_related("work"):
        assert a.work.publication_year is not None  # the fixtures' works all have one
        years[a.author_id].append(a.work.publication_year)
    names = dict(Author.objects.filter(pk__in=years).values_list("pk", "display_name"))
    return {
        names[pk]: (
            len(ys),
            str(min(ys)) if min(ys) == max(ys) else f"{min(ys)}{DASH}{max(ys)}",
        )
        for pk, ys in years.items()
    }


@pytest.fixture
def team():
    author = AuthorFactory(display_name="Main Author")
    ada, bo, cy, di = (
        AuthorFactory(display_name=name) for name in ("Ada Zed", "Bo Young", "Cy Xu", "Di Wolf")
    )
    works = write_works(
        author,
        [
            (2015, [ada, bo]),
            (2016, [ada]),
            (2018, [ada, cy]),
            (2023, [di]),
            (2021, [bo]),
        ],
    )
    return author, {"ada": ada, "bo": bo, "cy": cy, "di": di}, works


def test_counts_and_years_come_from_the_shared_works(client, team):
    author, _, _ = team
    response = client.get(url(author))
    assert response.status_code == 200
    got = {name: (shared, years) for name, shared, years in rows(response)}
    assert got == expected_rows(author)
    assert got["Ada Zed"] == (3, f"2015{DASH}2018")
    assert "4 co-authors" in text_of(response)


def test_sorted_by_shared_works_by_default_then_by_name_and_recency(client, team):
    author, _, _ = team
    by_shared = [name for name, _, _ in rows(client.get(url(author)))]
    assert by_shared == ["Ada Zed", "Bo Young", "Di Wolf", "Cy Xu"]
    assert [name for name, _, _ in rows(client.get(url(author, "?sort=shared")))] == by_shared
    by_name = [name for name, _, _ in rows(client.get(url(author, "?sort=name")))]
    assert by_name == sorted(by_name) == ["Ada Zed", "Bo Young", "Cy Xu", "Di Wolf"]
    recent = [name for name, _, _ in rows(client.get(url(author, "?sort=recent")))]
    assert recent == ["Di Wolf", "Bo Young", "Ada Zed", "Cy Xu"]


def test_disputed_works_on_either_side_do_not_count(client, team):
    author, people, works = team
    # The author disputes the 2023 work: Di Wolf is no co-author any more.
    Authorship.objects.filter(author=author, work=works[3]).update(
        status=Authorship.Status.DISPUTED
    )
    # Cy Xu disputes their only shared work.
    Authorship.objects.filter(author=people["cy"], work=works[2]).update(
        status=Authorship.Status.DISPUTED
    )
    got = {name: (shared, years) for name, shared, years in rows(client.get(url(author)))}
    assert got == expected_rows(author)
    assert set(got) == {"Ada Zed", "Bo Young"}
    assert got["Ada Zed"] == (3, f"2015{DASH}2018")


def test_a_work_without_a_year_says_so(client):
    author, other = AuthorFactory(), AuthorFactory(display_name="No Year")
    write_works(author, [(None, [other])])
    assert rows(client.get(url(author))) == [("No Year", 1, "year unknown")]


def test_a_solo_author_has_no_coauthors(client):
    author = AuthorFactory()
    write_works(author, [(2020, [])])
    response = client.get(url(author))
    assert response.status_code == 200
    assert "No co-authors" in text_of(response)


def test_pages_of_fifty_with_next_and_previous(client, django_assert_num_queries):
    author = AuthorFactory()
    others = [AuthorFactory(display_name=f"Person {i:03d}") for i in range(120)]
    write_works(author, [(2000 + i % 20, others[i : i + 3]) for i in range(0, 120, 3)])
    assert selectors.coauthor_count(author=author) == 120
    first = client.get(url(author, "?sort=name"))
    assert len(rows(first)) == 50 and rows(first)[0][0] == "Person 000"
    assert "1\u201350 of 120 co-authors" in text_of(first)
    assert "?sort=name&amp;page=2" in first.content.decode()
    with django_assert_num_queries(COAUTHOR_PAGE_QUERIES):
        last = client.get(url(author, "?sort=name&page=3"))
    assert [name for name, _, _ in rows(last)] == [f"Person {i:03d}" for i in range(100, 120)]
    assert "101\u2013120 of 120" in text_of(last)
    assert (
        "?sort=name&amp;page=2" in last.content.decode() and "page=4" not in last.content.decode()
    )


def test_query_count_is_the_same_for_a_small_and_a_large_author(client, django_assert_num_queries):
    small, large = AuthorFactory(), AuthorFactory()
    write_works(small, [(2020, [AuthorFactory()])])
    people = [AuthorFactory() for _ in range(80)]
    write_works(large, [(2000 + i % 25, people[i % 80 : i % 80 + 4]) for i in range(200)])
    for author in (small, large):
        with django_assert_num_queries(COAUTHOR_PAGE_QUERIES):
            assert client.get(url(author, "?sort=recent")).status_code == 200


@pytest.mark.parametrize(
    ("query", "note", "page", "sort"),
    [
        ("?page=abc", "There is no page \u201cabc\u201d; showing page 1", 1, "shared"),
        ("?page=0", "There is no page 0; showing page 1", 1, "shared"),
        ("?page=-3", "There is no page -3; showing page 1", 1, "shared"),
        ("?page=99", "There is no page 99; showing page 2, the last", 2, "shared"),
        ("?sort=citations", "There is no sort \u201ccitations\u201d", 1, "shared"),
        ("?sort=" + "x" * 300, "There is no sort \u201c" + "x" * 20 + "\u2026\u201d", 1, "shared"),
        ("?sort=NAME&page=2", "There is no sort \u201cNAME\u201d", 2, "shared"),
        ("?sort=name&page=1e3", "There is no page \u201c1e3\u201d", 1, "name"),
    ],
)
def test_bad_page_or_sort_gets_the_nearest_valid_one_with_a_note(client, query, note, page, sort):
    author = AuthorFactory()
    others = [AuthorFactory() for _ in range(60)]
    write_works(author, [(2010, others[i : i + 6]) for i in range(0, 60, 6)])
    response = client.get(url(author, query))
    assert response.status_code == 200
    html = response.content.decode()
    assert note in html
    assert f'<span aria-current="page">{page}</span>' in html
    assert re.search(r'<span aria-current="true" class="sort-current">[^<]+</span>', html)
    labels = dict((k, v.label) for k, v in selectors.COAUTHOR_SORTS.items())
    assert f'<span aria-current="true" class="sort-current">{labels[sort]}</span>' in html

    fragment = client.get(url(author, query), headers=HTMX)
    assert fragment.status_code == 200
    assert note in fragment.content.decode() and "<html" not in fragment.content.decode()


def test_htmx_gets_the_list_alone_and_announces_it(client, team):
    author, _, _ = team
    response = client.get(url(author, "?sort=name"), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="coauthor-list">')
    assert rows(response)[0][0] == "Ada Zed"
    assert 'hx-swap-oob="innerHTML:#live-status">Showing 1\u20134 of 4 co-authors' in html


def test_anonymous_visitors_get_the_page_from_the_cache(client, team, django_assert_num_queries):
    author, _, _ = team
    first = client.get(url(author, "?sort=name"))
    assert "public" in first["Cache-Control"]
    with django_assert_num_queries(0):
        again = client.get(url(author, "?sort=name"))
    assert again.content == first.content
    with django_assert_num_queries(0):
        client.get(url(author, "?sort=name"))
    # A different sort is an entry of its own; an unknown parameter is live.
    with django_assert_num_queries(COAUTHOR_PAGE_QUERIES):
        client.get(url(author, "?sort=recent"))
    response = client.get(url(author, "?smuggled=1"))
    assert "private" in response["Cache-Control"]


def test_signed_in_visitors_get_the_live_page(team):
    author, _, _ = team
    client = Client()
    client.force_login(make_user())
    response = client.get(url(author))
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    assert len(rows(response)) == 4


def test_a_dispute_retires_the_cached_page():
    owner, author = owned_record()
    other = AuthorFactory(display_name="Soon Gone")
    (work,) = write_works(author, [(2020, [other])])
    anonymous = Client()
    assert "Soon Gone" in text_of(anonymous.get(url(author)))
    services.authorship_set_status(
        user=owner, author=author, work_id=work.pk, status=Authorship.Status.DISPUTED
    )
    assert "Soon Gone" not in text_of(anonymous.get(url(author)))


def test_an_owner_who_hides_collaborators_hides_this_page_too(client):
    owner, author = owned_record()
    write_works(author, [(2020, [AuthorFactory(display_name="Hidden Person")])])
    services.profile_settings_update(
        user=owner,
        author=author,
        summary="",
        affiliation="",
        homepage="",
        contact="",
        open_to_collaborate=False,
        hidden_sections=["collaborators"],
    )
    text = text_of(client.get(url(author)))
    assert "Hidden by the researcher." in text and "Hidden Person" not in text
    page = text_of(client.get(reverse("profiles:researcher_detail", args=[author.pk])))
    assert "co-author" not in page.split("Close collaborators", 1)[1]


def test_a_merged_record_redirects_to_the_one_it_became(client):
    kept = AuthorFactory()
    merged = AuthorFactory(merged_into=kept)
    response = client.get(url(merged, "?sort=name"))
    assert response.status_code == 301 and response["Location"] == url(kept)


def test_an_unknown_researcher_is_a_404(client):
    assert client.get("/researchers/987654321/coauthors/").status_code == 404


def test_the_profile_page_links_here_with_the_count(client, team):
    author, _, _ = team
    html = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    assert f'<a href="{url(author)}">All 4 co-authors</a>' in html
