import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from profiles.models import Follow
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from works.models import Authorship, WorkTopic

pytestmark = pytest.mark.django_db

# Author, work counts, works, their co-authors, work types and venues (the filter's
# choices), topics, close collaborators, followers, live claims.
PROFILE_PAGE_QUERIES = 9


def page_url(author) -> str:
    return reverse("profiles:researcher_detail", args=[author.pk])


def text_of(response) -> str:
    """The visible text of the page's <main>, tags removed and whitespace folded."""
    html = response.content.decode()
    html = html[html.find("<main") : html.find("</main>")]
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def author_with_works(n_works: int, *, team: int = 3, **author_fields):
    author = AuthorFactory(**author_fields)
    coauthors = [AuthorFactory() for _ in range(team - 1)]
    topic = TopicFactory(display_name="Training dynamics")
    for i in range(n_works):
        work = WorkFactory(publication_year=2000 + i % 25, doi=f"10.1000/w{author.pk}-{i}")
        AuthorshipFactory(work=work, author=author, position=0)
        for position, coauthor in enumerate(coauthors, start=1):
            AuthorshipFactory(work=work, author=coauthor, position=position)
        WorkTopic.objects.create(work=work, topic=topic, score=0.9)
    return author, coauthors


def test_page_shows_every_section_of_the_seed_in_order(client):
    author, _ = author_with_works(2)
    text = text_of(client.get(page_url(author)))
    sections = [
        "Researcher profile",
        author.display_name,
        "Trust snapshot",
        "Quick read",
        "Actions",
        "Decide how to stay connected",
        "Follow researcher",
        "Identity and collaboration",
        "How to connect with this researcher",
        "Log in to claim",
        "Direct collaboration",
        "Claim this author entity first to unlock direct invitations.",
        "Research graph",
        "See the researcher in context",
        "Open full explorer",
        "Building this graph slice",
        "BZPEER is loading the nearby papers, people, topics and institutions for this page.",
        "Published work",
        "2 published item(s)",
    ]
    positions = [text.find(s) for s in sections]
    assert -1 not in positions, [s for s, p in zip(sections, positions, strict=True) if p == -1]
    assert positions == sorted(positions)


def test_counts_trust_and_claim_state_read_as_on_the_seed(client):
    author, _ = author_with_works(3, openalex_id="")
    text = text_of(client.get(page_url(author)))
    for expected in (
        "Trust 15 - Unverified",
        "Verification L1",
        "Unclaimed author",
        "3 works",
        "0 followers",
    ):
        assert expected in text


def test_why_this_score_lists_each_signal_with_its_points(client):
    author, _ = author_with_works(3, openalex_id="", orcid="0000-0002-1825-0097")
    text = text_of(client.get(page_url(author)))
    assert "Why this score" in text
    assert re.search(r"ORCID iD on record The record carries an ORCID iD[^+]*\+10", text)
    assert re.search(r"Current affiliation on record No affiliation[^.]*\. 0 of 10", text)
    assert "Trust 25 - Unverified" in text


def test_affiliation_and_open_to_collaborate_in_the_header(client):
    author = AuthorFactory(
        last_known_institution=InstitutionFactory(display_name="Mila"), open_to_collaborate=True
    )
    text = text_of(client.get(page_url(author)))
    assert "Mila" in text and "Open to collaborate" in text
    assert "Affiliation not imported" not in text


def test_summary_is_made_from_topics_until_the_researcher_writes_one(client):
    author, _ = author_with_works(2)
    assert "Works on training dynamics." in text_of(client.get(page_url(author)))
    author.summary = "I study how networks forget."
    author.save()
    assert "I study how networks forget." in text_of(client.get(page_url(author)))


def test_close_collaborators_are_ranked_and_counted_above_the_threshold(client):
    author, coauthors = author_with_works(2, team=3)  # each shared paper: 1/2
    loose = AuthorFactory(display_name="Loose Tie")
    big = WorkFactory()
    AuthorshipFactory(work=big, author=author, position=0)
    for position in range(1, 10):
        AuthorshipFactory(
            work=big, author=loose if position == 1 else AuthorFactory(), position=position
        )
    response = client.get(page_url(author))
    assert response.context["collaborator_total"] == 2
    names = [c.display_name for c in response.context["collaborators"]]
    assert names == sorted(c.display_name for c in coauthors)
    assert "Loose Tie" not in names
    assert "2 close collaborators" in text_of(response)


def test_works_newest_first_twenty_at_a_time_with_show_more(client):
    author, _ = author_with_works(25)
    response = client.get(page_url(author))
    years = [w.publication_year for w in response.context["works"]]
    assert len(years) == 20 and years == sorted(years, reverse=True)
    assert "?page=2" in response.content.decode()

    more = client.get(page_url(author) + "?page=2", headers={"HX-Request": "true"})
    assert more.status_code == 200
    html = more.content.decode()
    assert "<html" not in html and html.count('class="work"') == 5
    assert "Show more" not in html


def test_page_two_without_javascript_is_a_full_page(client):
    author, _ = author_with_works(25)
    response = client.get(page_url(author) + "?page=2")
    assert "<html" in response.content.decode()
    assert len(response.context["works"]) == 5


@pytest.mark.parametrize(
    ("asked", "shown", "note"),
    [
        ("999", 2, "There is no page 999; showing page 2, the last."),
        ("3", 2, "There is no page 3; showing page 2, the last."),
        ("0", 1, "There is no page 0; showing page 1, the first."),
        ("-1", 1, "There is no page -1; showing page 1, the first."),
        ("abc", 1, "There is no page “abc”; showing page 1, the first."),
    ],
)
def test_a_page_of_works_that_does_not_exist_shows_the_nearest_with_a_note(
    client, asked, shown, note
):
    author, _ = author_with_works(25)
    response = client.get(page_url(author) + f"?page={asked}")
    assert response.status_code == 200
    assert response.context["page"] == shown
    assert len(response.context["works"]) == (5 if shown == 2 else 20)
    text = text_of(response)
    assert note in text
    assert author.display_name in text


def test_a_record_without_works_shows_its_only_page_for_any_page_number(client):
    author = AuthorFactory()
    response = client.get(page_url(author) + "?page=4")
    assert response.status_code == 200
    assert "There is no page 4; showing page 1, the last." in text_of(response)
    assert "No works imported for this record." in text_of(response)


def test_a_page_that_exists_has_no_note(client):
    author, _ = author_with_works(25)
    assert 'id="page-note"' not in client.get(page_url(author) + "?page=2").content.decode()


def test_disputed_authorship_is_not_on_the_page(client):
    author, _ = author_with_works(2)
    disputed = Authorship.objects.filter(author=author).first()
    disputed.status = Authorship.Status.DISPUTED
    disputed.save()
    text = text_of(client.get(page_url(author)))
    assert "1 published item(s)" in text
    assert disputed.work.title not in text


def test_long_abstracts_collapse_in_details(client):
    author = AuthorFactory()
    AuthorshipFactory(author=author, work=WorkFactory(abstract="word " * 300))
    AuthorshipFactory(author=author, work=WorkFactory(abstract="A short one."))
    html = client.get(page_url(author)).content.decode()
    assert html.count('<details class="abstract-toggle">') == 1
    assert "A short one." in html


def test_meta_tags_canonical_and_json_ld(client):
    author = AuthorFactory(display_name="Ada </script> Lovelace", orcid="0000-0002-1825-0097")
    html = client.get(page_url(author)).content.decode()
    assert f'<link rel="canonical" href="http://testserver{page_url(author)}">' in html
    assert 'property="og:title"' in html
    payload = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(payload)
    assert data["@type"] == "Person"
    assert data["name"] == "Ada </script> Lovelace"
    assert data["sameAs"] == [
        "https://orcid.org/0000-0002-1825-0097",
        f"https://openalex.org/{author.openalex_id}",
    ]


def test_unknown_researcher_answers_a_friendly_404(client):
    response = client.get("/researchers/987654321/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_signed_in_visitor_sees_the_claim_link(client):
    user = get_user_model().objects.create_user("ada", "ada@example.org", "pw-long-enough-1")
    client.force_login(user)
    author = AuthorFactory()
    html = client.get(page_url(author)).content.decode()
    assert "Claim this author record" in html
    assert "Log in to claim" not in html
    claim = client.get(reverse("profiles:claim_start", args=[author.pk]))
    assert claim.status_code == 200
    assert "Submit claim" in claim.content.decode()


def test_claim_page_sends_anonymous_visitors_to_log_in(client):
    author = AuthorFactory()
    response = client.get(reverse("profiles:claim_start", args=[author.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_query_count_is_the_same_for_3_and_300_works(client, django_assert_num_queries):
    small, _ = author_with_works(3)
    large, _ = author_with_works(300)
    user = get_user_model().objects.create_user("bo", "bo@example.org", "pw-long-enough-1")
    Follow.objects.create(user=user, author=large)
    with django_assert_num_queries(PROFILE_PAGE_QUERIES):
        client.get(page_url(small))
    with django_assert_num_queries(PROFILE_PAGE_QUERIES):
        client.get(page_url(large))
