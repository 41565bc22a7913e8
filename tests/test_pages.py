from datetime import date

import pytest
from django.urls import reverse

from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory

pytestmark = pytest.mark.django_db


def test_home_lists_researchers_and_works_from_the_database(client):
    author = AuthorFactory(display_name="Ada Realperson")
    work = WorkFactory(title="On the shape of proofs")
    AuthorshipFactory(work=work, author=author)

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Realperson" in html
    assert reverse("profiles:researcher_detail", args=[author.pk]) in html
    assert "On the shape of proofs" in html
    assert reverse("works:work_detail", args=[work.pk]) in html


def test_home_with_an_empty_database_says_how_to_load_data(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "load_demo" in response.content.decode()


def test_home_marks_generated_researchers_as_demo(client):
    AuthorFactory(display_name="Gen Erated", is_synthetic=True)
    html = client.get("/").content.decode()
    assert "Gen Erated" in html
    assert 'badge--synthetic" title="Generated sample data, not a real person">demo' in html


def test_home_query_count_does_not_grow_with_the_data(client, django_assert_num_queries):
    for i in range(3):
        work = WorkFactory()
        for position in range(i + 2):
            AuthorshipFactory(work=work, position=position)
    with django_assert_num_queries(7):
        client.get("/")
    for _ in range(20):
        AuthorshipFactory(work=WorkFactory())
    with django_assert_num_queries(7):
        client.get("/")


def test_work_page_lists_authors_in_published_order_with_links(client):
    work = WorkFactory(title="Ordered", doi="10.1000/xyz", arxiv_id="2201.00001")
    second = AuthorshipFactory(work=work, position=1, author=AuthorFactory(display_name="B Second"))
    first = AuthorshipFactory(work=work, position=0, author=AuthorFactory(display_name="A First"))

    html = client.get(reverse("works:work_detail", args=[work.pk])).content.decode()

    assert html.index("A First") < html.index("B Second")
    assert reverse("profiles:researcher_detail", args=[first.author_id]) in html
    assert reverse("profiles:researcher_detail", args=[second.author_id]) in html
    assert "https://doi.org/10.1000/xyz" in html
    assert "https://arxiv.org/abs/2201.00001" in html


def test_unknown_work_answers_a_friendly_404(client):
    response = client.get("/works/999999/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_researcher_without_affiliation_says_so(client):
    author = AuthorFactory()
    html = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    assert "Affiliation not imported" in html


def test_researcher_shows_affiliation_when_imported(client):
    author = AuthorFactory(last_known_institution=InstitutionFactory(display_name="Mila"))
    html = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    assert "Mila" in html
    assert "Affiliation not imported" not in html


def test_merged_researcher_redirects_permanently_to_the_surviving_record(client):
    survivor = AuthorFactory()
    merged = AuthorFactory(merged_into=survivor)
    response = client.get(reverse("profiles:researcher_detail", args=[merged.pk]))
    assert response.status_code == 301
    assert response["Location"] == reverse("profiles:researcher_detail", args=[survivor.pk])


def test_post_to_a_page_is_refused(client):
    assert client.post("/").status_code == 405


def test_healthz_reports_ok_with_the_database_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
def failing_site(settings, client):
    """Production error pages (DEBUG off) on the site's URLs plus two views that raise."""
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.error_urls"
    client.raise_request_exception = False
    return client


def test_a_bug_is_still_a_server_error_not_an_outage(failing_site):
    response = failing_site.get("/broken/")
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_database_error_answers_the_unavailable_page(failing_site):
    response = failing_site.get("/database-gone/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    assert b"temporarily unavailable" in response.content


def test_home_lists_recent_works_newest_first_and_undated_last(client):
    WorkFactory(title="Undated note", publication_year=None, publication_date=None)
    WorkFactory(
        title="Preprint of 2020",
        type="preprint",
        publication_year=2020,
        publication_date=date(2020, 3, 1),
    )
    WorkFactory(title="Year-only 2024", publication_year=2024, publication_date=None)
    WorkFactory(
        title="Article of May 2025", publication_year=2025, publication_date=date(2025, 5, 2)
    )
    WorkFactory(
        title="Preprint of 2022",
        type="preprint",
        publication_year=2022,
        publication_date=date(2022, 1, 9),
    )
    WorkFactory(
        title="Demo work of 2025",
        publication_year=2025,
        is_synthetic=True,
        publication_date=date(2025, 1, 20),
    )

    html = client.get("/").content.decode()

    titles = [
        "Article of May 2025",
        "Demo work of 2025",
        "Preprint of 2022",
        "Preprint of 2020",
        # Works without a date come after the dated ones, by year, and those
        # with no year at all last.
        "Year-only 2024",
        "Undated note",
    ]
    positions = [html.index(title) for title in titles]
    assert positions == sorted(positions)


def test_favicon_ico_is_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    icon = b"".join(response.streaming_content)
    # An icon file (reserved 0, type 1) holding at least one image.
    assert icon[:4] == b"\x00\x00\x01\x00" and icon[4] > 0
