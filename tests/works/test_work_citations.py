"""A work's page: its citations and references, the works in BZPEER that cite it and that
it cites, its open-access link and a retraction."""

import re

import pytest
from django.urls import reverse

from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from works.models import Authorship
from works.selectors import WORK_LINKS_SHOWN

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
# The work and its venue, its authors, the works citing it, the works it cites.
WORK_PAGE_QUERIES = 4


def page(client, work, **headers):
    return client.get(reverse("works:work_detail", args=[work.pk]), **headers)


def text_of(response) -> str:
    html = response.content.decode()
    html = html[html.find("<main") : html.find("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def section(response, title_id: str) -> str:
    html = response.content.decode()
    start = html.index(f'id="{title_id}"')
    return html[start : html.index("</section>", start)]


def listed_titles(html: str) -> list[str]:
    return re.findall(r'<li><a href="/works/\d+/">([^<]+)</a>', html)


def citing(target, n: int, *, first_year: int = 2000):
    """n works that cite `target`, one a year from first_year on."""
    return [
        WorkFactory(
            title=f"Citing work {i}",
            publication_year=first_year + i,
            referenced_works=[target.openalex_id],
        )
        for i in range(n)
    ]


def test_cited_by_lists_the_newest_citing_works_and_counts_the_rest(client):
    target = WorkFactory(cited_by_count=80)
    citing(target, WORK_LINKS_SHOWN + 17)
    WorkFactory(title="Cites another work", referenced_works=["W1"])
    response = page(client, target)
    cited_by = section(response, "cited-by-title")

    titles = listed_titles(cited_by)
    assert len(titles) == WORK_LINKS_SHOWN
    assert titles[0] == f"Citing work {WORK_LINKS_SHOWN + 16}"  # newest first
    assert "Citing work 0" not in titles
    assert "and 17 more" in cited_by
    assert "37 works in BZPEER cite this one, of 80 citations the source counts." in cited_by
    assert "Cites another work" not in cited_by


def test_references_list_those_in_bzpeer_with_the_count_of_all(client):
    older = [WorkFactory(title=f"Older work {i}", publication_year=1990 + i) for i in range(12)]
    work = WorkFactory(
        referenced_works=[w.openalex_id for w in older] + [f"W77{i:08d}" for i in range(28)],
        referenced_works_count=40,
    )
    response = page(client, work)
    references = section(response, "references-title")

    assert "12 of 40 references are in BZPEER." in references
    assert listed_titles(references) == [f"Older work {i}" for i in range(11, -1, -1)]
    assert "more</p>" not in references
    assert "<strong>40</strong> references" in response.content.decode()


def test_a_work_with_no_links_says_so(client):
    work = WorkFactory(cited_by_count=5, referenced_works=["W7700000001"], referenced_works_count=1)
    text = text_of(page(client, work))

    assert (
        "No work in BZPEER cites this one; the 5 citations the source counts come from works "
        "not in BZPEER." in text
    )
    assert "None of its 1 reference is in BZPEER." in text
    older = WorkFactory(title="The only reference")
    text = text_of(page(client, WorkFactory(referenced_works=[older.openalex_id])))
    assert "Its one reference is in BZPEER." in text
    bare = WorkFactory(openalex_id="", cited_by_count=0)
    text = text_of(page(client, bare))
    assert "No work in BZPEER cites this one." in text
    assert "No references imported." in text


def test_a_citing_work_whose_only_author_disputed_it_is_still_listed(client):
    target = WorkFactory()
    (disowned,) = citing(target, 1)
    AuthorshipFactory(work=disowned, status=Authorship.Status.DISPUTED)

    assert listed_titles(section(page(client, target), "cited-by-title")) == ["Citing work 0"]


def test_an_author_who_disputed_the_work_is_not_on_its_page(client):
    work = WorkFactory()
    kept = AuthorshipFactory(work=work, author=AuthorFactory(display_name="Kept Author"))
    AuthorshipFactory(
        work=work,
        author=AuthorFactory(display_name="Disowning Author"),
        position=1,
        status=Authorship.Status.DISPUTED,
    )
    text = text_of(page(client, work))

    assert kept.author.display_name in text
    assert "Disowning Author" not in text


def test_a_retracted_work_says_so_first(client):
    work = WorkFactory(title="A retracted finding", is_retracted=True)
    response = page(client, work)
    text = text_of(response)

    assert text.startswith("Retracted The source (OpenAlex) marks this work as retracted")
    assert "<title>Retracted: A retracted finding · BZPEER</title>" in response.content.decode()
    assert "Retracted" not in text_of(page(client, WorkFactory()))


def test_a_retracted_citing_work_is_marked_in_the_list(client):
    target = WorkFactory()
    WorkFactory(title="Withdrawn", referenced_works=[target.openalex_id], is_retracted=True)

    assert "badge--retracted" in section(page(client, target), "cited-by-title")


def test_open_access_links_to_the_copy_and_the_pdf(client):
    work = WorkFactory(
        is_oa=True,
        oa_status="green",
        oa_url="https://repository.example/paper",
        pdf_url="https://repository.example/paper.pdf",
    )
    html = page(client, work).content.decode()

    assert "Open access: green" in html
    assert '<a href="https://repository.example/paper" rel="noopener">Read it</a>' in html
    assert '<a href="https://repository.example/paper.pdf" rel="noopener">PDF</a>' in html
    assert "Not open access" in text_of(page(client, WorkFactory(oa_status="closed")))
    assert "Open access not known" in text_of(page(client, WorkFactory(oa_status="")))


def test_citations_and_journal_details_are_shown(client):
    work = WorkFactory(
        cited_by_count=1234,
        biblio={"volume": "12", "issue": "3", "first_page": "45", "last_page": "67"},
    )
    text = text_of(page(client, work))

    assert "1,234 citations" in text
    assert "Vol. 12, no. 3, pp. 45\u201367" in text  # an en dash


@pytest.mark.parametrize("n_links", [1, 60])
def test_work_page_query_count_is_fixed(client, django_assert_num_queries, n_links):
    older = [WorkFactory(publication_year=1990) for _ in range(n_links)]
    target = WorkFactory(referenced_works=[w.openalex_id for w in older])
    for i in range(n_links):
        AuthorshipFactory(work=target, position=i)
    citing(target, n_links)

    with django_assert_num_queries(WORK_PAGE_QUERIES):
        response = page(client, target)
    assert response.status_code == 200


def test_htmx_request_gets_the_same_page(client):
    target = WorkFactory(is_retracted=True)
    citing(target, 2)
    response = page(client, target, **HX)

    assert response.status_code == 200
    assert "Retracted" in text_of(response)
    assert len(listed_titles(section(response, "cited-by-title"))) == 2


def test_an_unknown_work_is_a_404(client):
    assert client.get(reverse("works:work_detail", args=[987654])).status_code == 404
