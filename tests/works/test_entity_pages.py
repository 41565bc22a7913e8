import datetime

import pytest
from django.urls import reverse

from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from tests.works.factories_search import WorkTopicFactory
from works.models import Authorship

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def topic_url(topic, **params):
    url = reverse("works:topic_detail", args=[topic.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def institution_url(institution, **params):
    url = reverse("works:institution_detail", args=[institution.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def work_on(topic, *, authors=(), **work_fields):
    work = WorkFactory.create(**work_fields)
    WorkTopicFactory.create(work=work, topic=topic)
    for position, author in enumerate(authors):
        AuthorshipFactory.create(work=work, author=author, position=position)
    return work


# Topic page


def test_topic_page_shows_the_topic_and_its_place_in_the_taxonomy(client):
    topic = TopicFactory.create(
        display_name="Machine learning theory",
        domain="Physical Sciences",
        field="Computer Science",
        subfield="Artificial Intelligence",
        description="Generalization, optimization and the lottery ticket hypothesis.",
        keywords=["generalization", "pruning"],
    )

    response = client.get(topic_url(topic))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "Machine learning theory</h1>" in html
    for text in ("Physical Sciences", "Computer Science", "Artificial Intelligence"):
        assert text in html
    assert "lottery ticket hypothesis" in html
    assert "pruning" in html
    assert f"https://openalex.org/{topic.openalex_id}" in html


def test_topic_page_ranks_researchers_by_their_works_on_the_topic(client):
    topic = TopicFactory.create()
    other_topic = TopicFactory.create()
    busy = AuthorFactory.create(display_name="Busy Researcher")
    occasional = AuthorFactory.create(display_name="Occasional Researcher")
    for _ in range(3):
        work_on(topic, authors=[busy])
    work_on(topic, authors=[occasional, busy])
    for _ in range(5):
        work_on(other_topic, authors=[occasional])

    html = client.get(topic_url(topic)).content.decode()

    assert html.index("Busy Researcher") < html.index("Occasional Researcher")
    assert "4 works on this topic" in html
    assert "1 work on this topic" in html
    assert reverse("profiles:researcher_detail", args=[busy.pk]) in html
    assert reverse("profiles:researcher_detail", args=[occasional.pk]) in html


def test_topic_page_ignores_disputed_authorships_and_merged_records(client):
    topic = TopicFactory.create()
    survivor = AuthorFactory.create(display_name="Survivor Record")
    merged = AuthorFactory.create(display_name="Merged Record", merged_into=survivor)
    disputer = AuthorFactory.create(display_name="Disputing Person")
    work = work_on(topic, authors=[survivor, merged])
    AuthorshipFactory.create(
        work=work, author=disputer, position=2, status=Authorship.Status.DISPUTED
    )

    html = client.get(topic_url(topic)).content.decode()

    assert "Survivor Record" in html
    assert "Merged Record" not in html.split('id="topic-works"')[0]
    assert "Disputing Person" not in html


def test_topic_page_lists_works_newest_first_with_links(client):
    topic = TopicFactory.create()
    work_on(topic, title="Old paper", publication_year=2015)
    work_on(topic, title="Undated paper", publication_year=None)
    work_on(
        topic,
        title="New paper",
        publication_year=2024,
        publication_date=datetime.date(2024, 5, 1),
    )
    newest = work_on(
        topic,
        title="Newest paper",
        publication_year=2024,
        publication_date=datetime.date(2024, 9, 1),
    )

    html = client.get(topic_url(topic)).content.decode()

    positions = [html.index(t) for t in ("Newest paper", "New paper", "Old paper", "Undated paper")]
    assert positions == sorted(positions)
    assert reverse("works:work_detail", args=[newest.pk]) in html


def test_topic_page_paginates_works_and_counts_everything(client):
    topic = TopicFactory.create()
    for i in range(25):
        work_on(topic, title=f"Paper number {i:02d}", publication_year=2000 + i)

    first = client.get(topic_url(topic)).content.decode()
    second = client.get(topic_url(topic, page=2)).content.decode()

    assert first.count('class="work"') == 20
    assert '<span class="count">25</span>' in first
    assert 'href="?page=2"' in first
    assert second.count('class="work"') == 5
    assert "Paper number 00" in second


def test_topic_page_that_does_not_exist_shows_the_nearest_with_a_note(client):
    topic = TopicFactory.create()
    for i in range(25):
        work_on(topic, title=f"Paper number {i:02d}", publication_year=2000 + i)

    last = client.get(topic_url(topic, page=0)).content.decode()
    assert "There is no page 0; showing page 1, the first." in last
    assert last.count('class="work"') == 20
    # get_page() used to show the last page for 0 or -1: the first is the nearest.
    assert "Paper number 24" in last


def test_topic_page_caps_researchers_and_says_how_many_there_are(client):
    topic = TopicFactory.create()
    for _ in range(23):
        work_on(topic, authors=[AuthorFactory.create()])

    html = client.get(topic_url(topic)).content.decode()

    researchers_section = html.split('id="topic-works"')[0]
    assert researchers_section.count('class="card"') == 20
    assert '<span class="count">23</span>' in researchers_section
    assert "The 20 with the most works on this topic." in researchers_section


def test_empty_topic_says_so(client):
    html = client.get(topic_url(TopicFactory.create())).content.decode()

    assert "No researcher in BZPEER has a work on this topic yet." in html
    assert "No works on this topic yet." in html


def test_topic_htmx_request_gets_only_the_works_page(client, django_assert_num_queries):
    topic = TopicFactory.create()
    for i in range(21):
        work_on(topic, title=f"Paper number {i:02d}", publication_year=2000 + i)

    # Topic, works count, works page, their authors: no researcher ranking.
    with django_assert_num_queries(4):
        response = client.get(topic_url(topic, page=2), **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Researchers on this topic" not in html
    assert html.count('class="work"') == 1
    assert "HX-Request" in response["Vary"]


def test_unknown_topic_is_a_friendly_404(client):
    response = client.get(reverse("works:topic_detail", args=[999_999]))

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


@pytest.mark.parametrize("n_works", [3, 60])
def test_topic_page_query_count_is_fixed(client, django_assert_num_queries, n_works):
    topic = TopicFactory.create()
    institution = InstitutionFactory.create()
    for i in range(n_works):
        authors = [
            AuthorFactory.create(last_known_institution=institution if i % 2 else None)
            for _ in range(3)
        ]
        work_on(topic, authors=authors)
    # Topic, researchers, researcher count, works count, works page, their authors.
    with django_assert_num_queries(6):
        response = client.get(topic_url(topic))
    assert response.status_code == 200


# Institution page


def test_institution_page_shows_identity_and_links_to_ror(client):
    institution = InstitutionFactory.create(
        display_name="Mila - Quebec AI Institute",
        ror="05c22rx21",
        country_code="CA",
        type="facility",
        email_domains=["mila.quebec", "umontreal.ca"],
    )

    response = client.get(institution_url(institution))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Mila - Quebec AI Institute</h1>" in html
    assert "CA" in html
    assert "Facility" in html
    assert 'href="https://ror.org/05c22rx21"' in html
    assert "mila.quebec" in html and "umontreal.ca" in html


def test_institution_without_ror_has_no_ror_link(client):
    institution = InstitutionFactory.create(ror="", email_domains=[])

    html = client.get(institution_url(institution)).content.decode()

    assert "ror.org" not in html
    assert "Email domain" not in html


def test_institution_page_lists_current_researchers_first_then_past_ones(client):
    institution = InstitutionFactory.create()
    elsewhere = InstitutionFactory.create()
    current = AuthorFactory.create(
        display_name="Current Member", last_known_institution=institution
    )
    AuthorshipFactory.create(author=current)
    past = AuthorFactory.create(display_name="Past Member", last_known_institution=elsewhere)
    for _ in range(4):
        authorship = AuthorshipFactory.create(author=past)
        authorship.institutions.add(institution)
    AuthorFactory.create(display_name="Unrelated Person", last_known_institution=elsewhere)
    disputed = AuthorshipFactory.create(
        author=AuthorFactory.create(display_name="Disputed Person"),
        status=Authorship.Status.DISPUTED,
    )
    disputed.institutions.add(institution)
    merged = AuthorFactory.create(
        display_name="Merged Member", last_known_institution=institution, merged_into=current
    )
    assert merged.pk

    html = client.get(institution_url(institution)).content.decode()

    assert html.index("Current Member") < html.index("Past Member")
    assert "1 work · Latest affiliation" in html
    assert "4 works · Published from here" in html
    assert reverse("profiles:researcher_detail", args=[current.pk]) in html
    assert reverse("profiles:researcher_detail", args=[past.pk]) in html
    for absent in ("Unrelated Person", "Disputed Person", "Merged Member"):
        assert absent not in html
    assert '<span class="count">2</span>' in html


def test_institution_page_paginates_researchers(client):
    institution = InstitutionFactory.create()
    for _ in range(25):
        AuthorFactory.create(last_known_institution=institution)

    first = client.get(institution_url(institution)).content.decode()
    second = client.get(institution_url(institution, page=2)).content.decode()

    assert first.count('class="card"') == 20
    assert '<span class="count">25</span>' in first
    assert 'href="?page=2"' in first
    assert second.count('class="card"') == 5


def test_institution_htmx_request_gets_only_the_researchers_page(client):
    institution = InstitutionFactory.create(display_name="Fragment University")
    AuthorFactory.create(display_name="Hattie Zhou", last_known_institution=institution)

    response = client.get(institution_url(institution), **HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Fragment University</h1>" not in html
    assert "Hattie Zhou" in html
    assert "HX-Request" in response["Vary"]


def test_empty_institution_says_so(client):
    html = client.get(institution_url(InstitutionFactory.create())).content.decode()

    assert "No researcher in BZPEER is affiliated with this institution yet." in html


def test_unknown_institution_is_a_friendly_404(client):
    response = client.get(reverse("works:institution_detail", args=[999_999]))

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


@pytest.mark.parametrize("n_researchers", [3, 60])
def test_institution_page_query_count_is_fixed(client, django_assert_num_queries, n_researchers):
    institution = InstitutionFactory.create()
    for i in range(n_researchers):
        author = AuthorFactory.create(last_known_institution=institution if i % 2 else None)
        authorship = AuthorshipFactory.create(author=author)
        authorship.institutions.add(institution)
    # Institution, researcher count, one page of researchers with work counts.
    with django_assert_num_queries(3):
        response = client.get(institution_url(institution))
    assert response.status_code == 200
