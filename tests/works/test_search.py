import re

import pytest
from django.urls import reverse

from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from works.models import Authorship

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def search(client, q, **extra):
    return client.get(
        reverse("works:researcher_search"), {"q": q, **extra.pop("params", {})}, **extra
    )


def result_names(response) -> list[str]:
    return re.findall(r'class="card__title" href="[^"]+">([^<]+)</a>', response.content.decode())


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


def test_a_page_number_past_the_end_shows_the_last_page(client):
    for i in range(21):
        AuthorFactory.create(display_name=f"Zhou Person{i:02d}")

    response = search(client, "zhou", params={"page": "99"})

    assert response.status_code == 200
    assert len(result_names(response)) == 1


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


@pytest.mark.parametrize("q", ["100%", "a_b", "back\\slash", "'; drop table x; --", "& | ! :*"])
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
    # Count, then one page with affiliations and work counts joined in.
    with django_assert_num_queries(2):
        search(client, "zhou")
    for i in range(40):
        author = AuthorFactory.create(
            display_name=f"Zhou Large{i}", last_known_institution=InstitutionFactory.create()
        )
        AuthorshipFactory.create(author=author)
        AuthorshipFactory.create(author=author)
    with django_assert_num_queries(2):
        response = search(client, "zhou")
    assert len(result_names(response)) == 20
