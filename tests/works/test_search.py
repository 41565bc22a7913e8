import json
import re
import string
from html import unescape

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from works.models import Author, Authorship

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def search(client, q, **extra):
    return client.get(
        reverse("works:researcher_search"), {"q": q, **extra.pop("params", {})}, **extra
    )


def result_names(response) -> list[str]:
    return [
        unescape(name)
        for name in re.findall(
            r'class="card__title" href="[^"]+">([^<]+)</a>', response.content.decode()
        )
    ]


def test_search_url_is_researchers():
    assert reverse("works:researcher_search") == "/researchers/"


def test_typo_finds_hattie_zhou_first(client):
    hattie = AuthorFactory.create(display_name="Hattie Zhou")
    AuthorFactory.create(display_name="Harriet Zhao")
    AuthorFactory.create(display_name="Wei Zhou")
    AuthorFactory.create(display_name="Ada Lovelace")

    response = search(client, "hatie zhou")

    assert response.status_code == 200
    names = result_names(response)
    assert names[0] == "Hattie Zhou"
    assert "Ada Lovelace" not in names
    assert reverse("profiles:researcher_detail", args=[hattie.pk]) in response.content.decode()


def test_exact_and_prefix_matches_rank_above_similar_names(client):
    AuthorFactory.create(display_name="Hattie Zhoux")
    AuthorFactory.create(display_name="Hatty Zhou")
    AuthorFactory.create(display_name="Hattie Zhou")

    names = result_names(search(client, "hattie zhou"))

    assert names[0] == "Hattie Zhou"
    assert names.index("Hattie Zhoux") < names.index("Hatty Zhou")


@pytest.mark.parametrize("q", ["H. Zhou", "zhou hattie", "hsiao-tien chou"])
def test_name_variants_are_searched(client, q):
    AuthorFactory.create(
        display_name="Hattie Zhou", name_variants=["H. Zhou", "Zhou Hattie", "Hsiao-Tien Chou"]
    )
    AuthorFactory.create(display_name="Ada Lovelace")

    names = result_names(search(client, q))

    assert names == ["Hattie Zhou"]


def test_a_variant_alone_finds_the_record_even_with_a_typo(client):
    AuthorFactory.create(display_name="Ying Li", name_variants=["Elaine Y. Li"])

    assert result_names(search(client, "elain li")) == ["Ying Li"]


def test_merged_records_are_excluded(client):
    survivor = AuthorFactory.create(display_name="Hattie Zhou")
    AuthorFactory.create(display_name="Hattie Zhou", merged_into=survivor)

    names = result_names(search(client, "hattie zhou"))

    assert names == ["Hattie Zhou"]


def test_generated_records_rank_below_real_ones_on_ties(client):
    AuthorFactory.create(display_name="Hattie Zhou", is_synthetic=True)
    AuthorFactory.create(display_name="Hattie Zhou", is_synthetic=False)

    html = search(client, "hattie zhou").content.decode()

    first, second = html.split('class="card"')[1:3]
    assert "badge--synthetic" not in first
    assert 'badge--synthetic" title="Generated sample data, not a real person">demo' in second


def test_each_result_shows_affiliation_or_says_it_is_missing_and_counts_works(client):
    mila = InstitutionFactory.create(display_name="Mila")
    with_affiliation = AuthorFactory.create(display_name="Hattie Zhou", last_known_institution=mila)
    for _ in range(3):
        AuthorshipFactory.create(author=with_affiliation)
    AuthorshipFactory.create(author=with_affiliation, status=Authorship.Status.DISPUTED)
    AuthorFactory.create(display_name="Hattie Zhoi")

    html = search(client, "hattie").content.decode()

    assert "3 works · " in html
    assert reverse("works:institution_detail", args=[mila.pk]) in html
    assert ">Mila</a>" in html
    assert "0 works · Affiliation not imported" in html


def test_results_are_paginated_twenty_per_page_with_page_links(client):
    for i in range(45):
        AuthorFactory.create(display_name=f"Zhou Person{i:02d}")

    first = search(client, "zhou")
    third = search(client, "zhou", params={"page": 3})

    assert len(result_names(first)) == 20
    assert "45 researchers match “zhou”" in first.content.decode()
    assert "page 1 of 3" in first.content.decode()
    assert 'href="?q=zhou&amp;page=2"' in first.content.decode()
    assert len(result_names(third)) == 5
    all_names = set()
    for page in (1, 2, 3):
        all_names |= set(result_names(search(client, "zhou", params={"page": page})))
    assert len(all_names) == 45


def test_a_page_number_past_the_end_shows_the_last_page_and_says_so(client):
    for i in range(21):
        AuthorFactory.create(display_name=f"Zhou Person{i:02d}")

    response = search(client, "zhou", params={"page": "99"})

    assert response.status_code == 200
    assert len(result_names(response)) == 1
    assert "There is no page 99; showing page 2, the last." in response.content.decode()


@pytest.mark.parametrize("number", ["0", "-1", "abc"])
def test_a_page_number_before_the_first_shows_the_first_page_and_says_so(client, number):
    for i in range(21):
        AuthorFactory.create(display_name=f"Zhou Person{i:02d}")

    response = search(client, "zhou", params={"page": number})

    assert response.status_code == 200
    assert len(result_names(response)) == 20, "the first page, not the last"
    assert "showing page 1, the first." in response.content.decode()


def test_htmx_request_gets_only_the_results_fragment(client):
    AuthorFactory.create(display_name="Hattie Zhou")

    response = search(client, "hatie zhou", **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "site-header" not in html
    assert "Hattie Zhou" in html
    # The status line and the tab title follow the results.
    assert 'id="search-status" hx-swap-oob="innerHTML"' in html
    assert "<title>“hatie zhou”: researchers · BZPEER</title>" in html
    assert "HX-Request" in response["Vary"]


def test_plain_request_gets_the_whole_page_with_a_live_search_box(client):
    AuthorFactory.create(display_name="Hattie Zhou")

    response = search(client, "hatie zhou")

    html = response.content.decode()
    assert html.lstrip().startswith("<!doctype html>")
    assert "Hattie Zhou" in html
    assert 'action="/researchers/" method="get"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert 'hx-target="#search-results"' in html
    assert 'hx-push-url="true"' in html
    assert 'value="hatie zhou"' in html
    assert "hx-swap-oob" not in html
    assert "HX-Request" in response["Vary"]


def test_history_restore_request_gets_the_whole_page(client):
    response = search(
        client, "zhou", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


def test_overlong_query_is_refused_with_a_clear_message(client):
    response = search(client, "x" * 201)

    assert response.status_code == 400
    html = response.content.decode()
    assert "That search is too long: use at most 200 characters (it has 201)." in html
    assert "<html" in html


def test_overlong_query_from_htmx_is_refused_too(client):
    response = search(client, "x" * 201, **HX)

    assert response.status_code == 400
    assert "too long" in response.content.decode()


def test_query_of_exactly_200_characters_is_accepted(client):
    assert search(client, "x" * 200).status_code == 200


def test_empty_query_shows_a_prompt_and_runs_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("works:researcher_search"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Type a name to search." in html
    assert "Small typos are fine." in html
    assert 'class="card"' not in html


def test_one_letter_asks_for_more(client, django_assert_num_queries):
    AuthorFactory.create(display_name="Hattie Zhou")
    with django_assert_num_queries(0):
        html = search(client, "h").content.decode()
    assert "Keep typing: at least 2 characters." in html


def test_no_results_says_so_with_a_hint(client):
    AuthorFactory.create(display_name="Hattie Zhou")

    html = search(client, "qqqxxzz").content.decode()

    assert "No researchers match “qqqxxzz”" in html
    assert "Check the spelling" in html


def test_query_text_is_escaped(client):
    html = search(client, "<script>alert(1)</script>").content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "q",
    [
        "100%",
        "a_b",
        "back\\slash",
        "'; drop table x; --",
        "& | ! :*",
        # Letters that unaccent turns into tsquery syntax: " 1/2", "'", "(1)", ":"
        # (U+02BC, U+02D0 are letters to Python: they stay inside a word).
        "½ o\u02bcbrien ⑴ a\u02d0b",
    ],
)
def test_query_syntax_characters_are_harmless(client, q):
    AuthorFactory.create(display_name="Hattie Zhou")

    assert search(client, q).status_code == 200


def test_search_query_count_does_not_grow_with_results(client, django_assert_num_queries):
    institution = InstitutionFactory.create()
    for i in range(3):
        author = AuthorFactory.create(
            display_name=f"Zhou Small{i}", last_known_institution=institution
        )
        AuthorshipFactory.create(author=author, work=WorkFactory.create())
    # A savepoint in a test (a transaction of its own in production), the
    # statement timeout, one page with its count, affiliations and work counts
    # joined in, then the rollback that ends the timeout and the release.
    with django_assert_num_queries(5):
        search(client, "zhou")
    for i in range(40):
        author = AuthorFactory.create(
            display_name=f"Zhou Large{i}", last_known_institution=InstitutionFactory.create()
        )
        AuthorshipFactory.create(author=author)
        AuthorshipFactory.create(author=author)
    with django_assert_num_queries(5):
        response = search(client, "zhou")
    assert len(result_names(response)) == 20


def test_a_search_without_matches_is_one_statement(client, django_assert_num_queries):
    AuthorFactory.create(display_name="Hattie Zhou")

    with django_assert_num_queries(5):
        response = search(client, "lovelace")

    assert "No researchers match" in response.content.decode()


def test_a_page_past_the_end_counts_first_then_reads_the_last_page(
    client, django_assert_num_queries
):
    for i in range(21):
        AuthorFactory.create(display_name=f"Zhou Person{i:02d}")

    # The page asked for (empty), the count, then the last page.
    with django_assert_num_queries(7):
        response = search(client, "zhou", params={"page": "3"})

    assert result_names(response) == ["Zhou Person20"]
    assert "There is no page 3; showing page 2, the last." in response.content.decode()


# Bounds on what one search costs: words kept, statement timeout, rate limit.


def test_a_long_query_searches_its_first_eight_words_and_says_so(client):
    AuthorFactory.create(display_name="Hattie Zhou")
    query = "hattie zhou " + " ".join(["a"] * 90)

    response = search(client, query)

    html = response.content.decode()
    assert response.status_code == 200
    assert result_names(response) == ["Hattie Zhou"]
    assert "1 researcher matches “hattie zhou a a a a a a”" in html
    assert "Only the first 8 words were searched for; 84 more were left out." in html


def test_a_hundred_one_letter_words_are_bounded_and_answered(client):
    AuthorFactory.create(display_name="A. B. Cohen")
    query = " ".join((string.ascii_lowercase * 4)[:100])

    response = search(client, query, **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "No researchers match “a b c d e f g h”" in html
    assert "92 more were left out." in html


@pytest.mark.parametrize(
    ("name", "q"),
    [
        ("J. R. R. Tolkien", "J. R. R. Tolkien"),
        ("John Ronald Reuel Tolkien", "J. R. R. Tolkien"),
        ("Nguyen Van A", "Nguyen Van A"),
        ("王小明", "王小明"),
        ("李 明", "李 明"),
        ("Jean-Pierre Müller", "jean-pierre muller"),
        ("Jean-Pierre Müller", "Müller"),
        ("Séverine O'Brien-Ødegård", "O'Brien-Ødegård"),
        ("María de los Ángeles García López", "María de los Ángeles García López"),
    ],
)
def test_real_names_are_still_found(client, name, q):
    AuthorFactory.create(display_name=name)
    AuthorFactory.create(display_name="Ada Lovelace")

    assert result_names(search(client, q)) == [name]


def test_an_initial_ranks_the_names_it_starts_first(client):
    for name in ("Nguyen Van B", "Nguyen Van Anh", "Nguyen Van A", "Adam Smith"):
        AuthorFactory.create(display_name=name)

    names = result_names(search(client, "Nguyen Van A"))

    assert names == ["Nguyen Van A", "Nguyen Van Anh", "Nguyen Van B"]


def test_initials_alone_find_the_names_they_start(client):
    for name in ("J. R. Smith", "Jack Reacher", "Ada Lovelace"):
        AuthorFactory.create(display_name=name)

    assert result_names(search(client, "J. R.")) == ["J. R. Smith"]


@pytest.fixture
def authors_table_locked(settings):
    """Another connection holds works_author, so a search waits on it until its timeout."""
    settings.SEARCH_STATEMENT_TIMEOUT_MS = 100
    with connection.cursor() as cursor:  # a search that never times out fails, not hangs
        cursor.execute("SET lock_timeout = '5s'")
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as other:
        other.execute("SET lock_timeout = '5s'")
        other.execute("LOCK TABLE works_author IN ACCESS EXCLUSIVE MODE")
        yield
        other.rollback()


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "fragment"])
def test_a_search_past_its_statement_timeout_gets_a_clear_message(
    client, authors_table_locked, headers
):
    response = search(client, "hattie zhou", **headers)

    html = response.content.decode()
    assert response.status_code == 503
    assert "That search took too long and was stopped" in html
    assert ("<html" in html) is (not headers)


def test_the_statement_timeout_ends_with_the_search(client, settings):
    AuthorFactory.create(display_name="Hattie Zhou")
    settings.SEARCH_STATEMENT_TIMEOUT_MS = 1234

    search(client, "hattie zhou")

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] != "1234ms"
        # Searches run without parallel workers; other statements keep them.
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] != "0"


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "fragment"])
def test_searches_past_the_rate_limit_get_429_with_a_message(client, settings, headers):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": "3/m/ip"}
    AuthorFactory.create(display_name="Hattie Zhou")

    statuses = [search(client, "hattie zhou", **headers).status_code for _ in range(3)]
    refused = search(client, "hattie zhou", **headers)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    html = refused.content.decode()
    assert "Too many searches from your address: wait a minute and try again." in html
    assert "Hattie Zhou" not in result_names(refused)
    assert ("<html" in html) is (not headers)


def test_the_rate_limit_counts_only_searches_that_reach_the_database(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": "1/m/ip"}

    for q in ("", "h", "", "h"):
        assert search(client, q).status_code == 200
    assert search(client, "hattie").status_code == 200
    assert search(client, "hattie").status_code == 429


def test_the_search_page_lets_htmx_show_refusals_in_place(client):
    html = search(client, "").content.decode()

    # htmx reads only the first htmx-config: the page's keys join the site's.
    configs = re.findall(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert len(configs) == 1
    config = json.loads(configs[0])
    assert config["includeIndicatorStyles"] is False
    assert {"code": "^(400|429|503)$", "swap": True, "error": False} in config["responseHandling"]


def test_search_goes_on_and_stays_limited_while_the_cache_is_down(client, settings, own_redis):
    settings.CACHES = {
        "default": {"BACKEND": "bzpeer.cache.RedisCache", "LOCATION": own_redis.url()}
    }
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": "2/m/ip"}
    AuthorFactory.create(display_name="Hattie Zhou")
    own_redis.stop()

    answers = [search(client, "hattie zhou") for _ in range(3)]

    assert [response.status_code for response in answers] == [200, 200, 429]
    assert result_names(answers[0]) == ["Hattie Zhou"]


# Accented names from the real OpenAlex page in ../shared/data (works-page-1.json).
@pytest.mark.parametrize(
    ("name", "q"),
    [
        ("Dijana Pešić", "PESIC"),
        ("Ertuğrul Terzi", "ertugrul"),
        ("Abdulkad\u0131r Kocak", "kadir"),  # a dotless i
        ("Emilia Mańko", "manko"),
        ("Alfonso Ángel-Moreno", "angel"),
        ("Duygu Durna Çorum", "corum"),
        ("Séverine O'Brien-Ødegård", "odegard"),
        ("Marko Kovačević", "kovacevic"),
        # The other way round: an accent typed where the record has none.
        ("Marko Kovacevic", "Kovačević"),
        # A decomposed accent (e + U+0301), as some keyboards send it.
        ("Frédéric Ariey", "Fre\u0301de\u0301ric Ariey"),
    ],
)
def test_accents_and_case_are_ignored(client, name, q):
    AuthorFactory.create(display_name=name)
    AuthorFactory.create(display_name="Ada Lovelace")

    assert result_names(search(client, q)) == [name]


def test_an_unaccented_typo_still_finds_the_accented_name(client):
    AuthorFactory.create(display_name="Dijana Pešić")
    AuthorFactory.create(display_name="Ada Lovelace")

    assert result_names(search(client, "pesik")) == ["Dijana Pešić"]


def test_an_unaccented_name_variant_finds_the_record(client):
    AuthorFactory.create(display_name="M. Horvat", name_variants=["Marija Kovačević"])
    AuthorFactory.create(display_name="Ada Lovelace")

    assert result_names(search(client, "kovacevic")) == ["M. Horvat"]


def test_unaccented_and_accented_spellings_rank_an_exact_name_first(client):
    AuthorFactory.create(display_name="Dijana Pesicova")
    AuthorFactory.create(display_name="Dijana Pešićová")
    AuthorFactory.create(display_name="Dijana Pešić")

    for q in ("dijana pesic", "Dijana Pešić", "DIJANA PEŠIĆ"):
        names = result_names(search(client, q))
        assert names[0] == "Dijana Pešić", q
        assert sorted(names) == ["Dijana Pesicova", "Dijana Pešić", "Dijana Pešićová"], q


def test_as_you_type_prefix_ignores_accents(client):
    AuthorFactory.create(display_name="Łukasz Żółtowski")
    AuthorFactory.create(display_name="Ada Lovelace")

    assert result_names(search(client, "lu", **HX)) == ["Łukasz Żółtowski"]
    assert result_names(search(client, "lukasz zol", **HX)) == ["Łukasz Żółtowski"]


def test_a_renamed_researcher_is_found_by_the_new_names_only(client):
    # The folded names search reads are stored columns the database keeps up to
    # date, also when a queryset update bypasses the model.
    author = AuthorFactory.create(display_name="Dijana Pešić", name_variants=["D. Pešić"])
    AuthorFactory.create(display_name="Ada Lovelace")

    Author.objects.filter(pk=author.pk).update(
        display_name="Marija Kovačević", name_variants=["M. Horvat"]
    )

    assert result_names(search(client, "kovacevic")) == ["Marija Kovačević"]
    assert result_names(search(client, "horvat")) == ["Marija Kovačević"]
    assert result_names(search(client, "pesic")) == []


@pytest.mark.parametrize("url", ["/", "/researchers/", "/researchers/?q=zhou"])
def test_every_search_box_takes_at_most_the_length_the_search_accepts(client, url):
    AuthorFactory.create(display_name="Hattie Zhou")

    html = client.get(url).content.decode()

    boxes = re.findall(r'<input[^>]*\bname="q"[^>]*>', html)
    assert len(boxes) == 2  # the header's and the page's
    for box in boxes:
        assert 'maxlength="200"' in box, box


def test_an_overlong_query_from_the_header_box_gets_the_search_pages_message(client):
    # The header box on any page sends its query to the search page like its own box.
    long_query = "Hattie Zhou " * 420  # 5,040 characters

    response = client.get("/researchers/", {"q": long_query})

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert "That search is too long: use at most 200 characters (it has 5039)." in html
