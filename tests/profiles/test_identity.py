"""Identifiers and affiliation history on the researcher page, and the owner's edits."""

import io
import json
import re
from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from profiles import selectors, services
from profiles.models import Claim
from tests.factories import AuthorFactory, InstitutionFactory
from tests.profiles.conftest import make_user, owned_record
from tests.profiles.test_researcher_page import PROFILE_PAGE_QUERIES, author_with_works, text_of
from works.importers import import_entities
from works.models import Author, AuthorAffiliation

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
THIS_YEAR = date.today().year


def page_text(client, author) -> str:
    """The page's visible text, with no space before the commas that follow a link."""
    return text_of(client.get(page_url(author))).replace(" , ", ", ")


def page_url(author) -> str:
    return reverse("profiles:researcher_detail", args=[author.pk])


def edit_url(author) -> str:
    return reverse("profiles:profile_edit", args=[author.pk])


def add_url(author) -> str:
    return reverse("profiles:affiliation_add", args=[author.pk])


def json_ld(html: str) -> dict:
    payload = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert payload
    return json.loads(payload.group(1))


def identifier_rows(html: str) -> dict[str, tuple[str, str]]:
    """{label: (href or "", shown id)} of the page's identifiers."""
    rows = re.findall(
        r"<dt>(.*?)</dt>\s*<dd>\s*(?:<a class=\"identifier__value\" href=\"([^\"]*)\"[^>]*>|"
        r"<span class=\"identifier__value\">)(.*?)</",
        html,
        re.S,
    )
    return {label: (href, value) for label, href, value in rows}


# Identifiers


def test_orcid_openalex_and_other_ids_are_linked_with_labels_and_copy_buttons(client):
    author = AuthorFactory(
        orcid="0000-0002-1825-0097",
        external_ids={
            "scopus": "http://www.scopus.com/inward/authorDetails.url?authorID=36455008000&x=1",
            "dblp": "https://dblp.org/pid/12/3456",
            "wikipedia": "https://en.wikipedia.org/wiki/Ada_Lovelace",
            "twitter": "https://twitter.com/ada",
            "mag": "2208157607",
            "some_registry": "R-42",
        },
    )
    html = client.get(page_url(author)).content.decode()
    rows = identifier_rows(html)
    assert rows == {
        "ORCID": ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
        "OpenAlex": (f"https://openalex.org/{author.openalex_id}", author.openalex_id),
        "Scopus": (
            "http://www.scopus.com/inward/authorDetails.url?authorID=36455008000&amp;x=1",
            "36455008000",
        ),
        "DBLP": ("https://dblp.org/pid/12/3456", "3456"),
        "Wikipedia": ("https://en.wikipedia.org/wiki/Ada_Lovelace", "Ada_Lovelace"),
        "Twitter / X": ("https://twitter.com/ada", "ada"),
        "Microsoft Academic": ("", "2208157607"),
        "Some registry": ("", "R-42"),
    }
    # Every one has a copy button, hidden until the script shows it, copying the bare id.
    for value in ("0000-0002-1825-0097", "36455008000", "2208157607", "R-42"):
        assert re.search(rf'<button type="button" class="copy-button" data-copy="{value}"', html)
    assert html.count('class="copy-button"') == len(rows)
    assert "js/copy.js" in html
    assert json_ld(html)["sameAs"] == [
        "https://orcid.org/0000-0002-1825-0097",
        f"https://openalex.org/{author.openalex_id}",
        "http://www.scopus.com/inward/authorDetails.url?authorID=36455008000&x=1",
        "https://dblp.org/pid/12/3456",
        "https://en.wikipedia.org/wiki/Ada_Lovelace",
        "https://twitter.com/ada",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "https://",
        "ftp://files.example/id",
    ],
)
def test_an_id_that_is_no_http_url_is_never_a_link(client, value):
    author = AuthorFactory(external_ids={"scopus": value})
    html = client.get(page_url(author)).content.decode()
    label, shown = identifier_rows(html)["Scopus"]
    assert label == ""
    assert "<script>alert" not in html
    assert 'href="javascript' not in html.lower() and 'href="data:' not in html
    assert value.strip() not in json_ld(html).get("sameAs", [])
    assert shown  # shown as text, escaped


def test_a_demo_record_has_no_openalex_link(client):
    author = AuthorFactory(is_synthetic=True, orcid="0009-0099-0000-0011")
    html = client.get(page_url(author)).content.decode()
    rows = identifier_rows(html)
    assert "OpenAlex" not in rows
    assert "openalex.org" not in html
    assert json_ld(html)["sameAs"] == ["https://orcid.org/0009-0099-0000-0011"]


def test_a_record_without_ids_has_no_identifier_block(client):
    author = AuthorFactory(openalex_id="")
    html = client.get(page_url(author)).content.decode()
    assert "Identifiers" not in page_text(client, author)
    assert "copy-button" not in html and "sameAs" not in html


def test_the_imported_scopus_id_of_a_real_record_is_shown_bare_and_linked(client, shared_data):
    entity = json.loads((shared_data / "openalex" / "entities" / "A5023888391.json").read_text())
    import_entities([entity], source_name="author")
    author = Author.objects.get(openalex_id="A5023888391")
    rows = identifier_rows(client.get(page_url(author)).content.decode())
    scopus = entity["ids"]["scopus"]
    assert rows["Scopus"] == (scopus.replace("&", "&amp;"), "36455008000")
    assert rows["ORCID"][1] == entity["ids"]["orcid"].rsplit("/", 1)[1]


# Affiliation history on the page


@pytest.mark.parametrize(
    ("years", "until_present", "expected"),
    [
        ([2019, 2020, 2021, 2023], False, "2019\u20132021, 2023"),
        ([2023, 2019, 2021, 2020], False, "2019\u20132021, 2023"),
        ([2008], False, "2008"),
        ([2010, 2012, 2014], False, "2010, 2012, 2014"),
        ([2010, 2010, 2011], False, "2010\u20132011"),
        ([], False, ""),
        ([2019, 2020], True, "2019\u2013present"),
        ([2015, 2019, 2020], True, "2015, 2019\u2013present"),
        ([THIS_YEAR], True, f"{THIS_YEAR}\u2013present"),
    ],
)
def test_years_collapse_into_ranges(years, until_present, expected):
    assert selectors.year_ranges(years, until_present=until_present) == expected


def test_the_real_records_history_is_shown_newest_first_with_ranges(client, shared_data):
    entity = json.loads((shared_data / "openalex" / "entities" / "A5023888391.json").read_text())
    import_entities([entity], source_name="author")
    author = Author.objects.get(openalex_id="A5023888391")
    text = page_text(client, author)
    newest_first = sorted(entity["affiliations"], key=lambda a: -max(a["years"]))
    expected = [
        f"{a['institution']['display_name']}, {selectors.year_ranges(a['years'])}"
        for a in newest_first
    ]
    positions = [text.find(line) for line in expected]
    assert -1 not in positions, (expected, text)
    assert positions == sorted(positions)
    # [2023, 2022, 2021, 2019] as OpenAlex gives them
    assert "OurResearch, 2019, 2021\u20132023" in text


def test_history_links_institutions_and_hides_hidden_lines(client):
    author = AuthorFactory()
    place = InstitutionFactory(display_name="Institute of Places")
    AuthorAffiliation.objects.create(author=author, institution=place, years=[2019, 2020])
    AuthorAffiliation.objects.create(
        author=author, institution=InstitutionFactory(display_name="Gone Away U"), hidden=True
    )
    AuthorAffiliation.objects.create(
        author=author,
        institution_name="Own Lab",
        years=[2021],
        until_present=True,
        origin=AuthorAffiliation.Origin.OWNER,
    )
    html = client.get(page_url(author)).content.decode()
    text = page_text(client, author)
    assert (
        f'<a href="{reverse("works:institution_detail", args=[place.pk])}">Institute of Places</a>'
        in html
    )
    assert "Own Lab, 2021\u2013present (as stated by the researcher)" in text
    assert text.find("Own Lab") < text.find("Institute of Places, 2019\u20132020")
    assert "Gone Away U" not in text


def test_identity_adds_no_query_to_the_page(client, django_assert_num_queries):
    author, _ = author_with_works(3, orcid="0000-0002-1825-0097")
    author.external_ids = {"scopus": "https://www.scopus.com/x?authorID=1"}
    author.save()
    for i in range(5):
        AuthorAffiliation.objects.create(
            author=author, institution=InstitutionFactory(), years=[2000 + i]
        )
    with django_assert_num_queries(PROFILE_PAGE_QUERIES):
        text = page_text(client, author)
    assert "Identifiers" in text and "Affiliations" in text


def test_the_page_links_to_every_coauthor(client):
    author, _ = author_with_works(2, team=4)
    html = client.get(page_url(author)).content.decode()
    assert (
        f'<a href="{reverse("profiles:coauthors", args=[author.pk])}">All 3 co-authors</a>' in html
    )


# The owner's edits


@pytest.fixture
def owner_client():
    owner, author = owned_record()
    client = Client()
    client.force_login(owner)
    return client, author


def test_owner_adds_a_line_and_sees_it_on_the_page_at_once(owner_client):
    client, author = owner_client
    anonymous = Client()
    assert "Bell Labs" not in page_text(anonymous, author)  # now cached

    response = client.post(
        add_url(author), {"institution_name": " Bell Labs ", "from_year": "2019", "to_year": "2021"}
    )
    assert response.status_code == 302
    assert response["Location"] == edit_url(author) + "#affiliations"
    line = AuthorAffiliation.objects.get(author=author)
    assert (line.institution_name, line.years, line.origin, line.until_present) == (
        "Bell Labs",
        [2019, 2020, 2021],
        "owner",
        False,
    )
    assert "Bell Labs, 2019\u20132021" in page_text(anonymous, author)
    assert "Added Bell Labs to your history." in client.get(edit_url(author)).content.decode()


def test_owner_adds_a_line_to_the_present_with_htmx(owner_client):
    client, author = owner_client
    response = client.post(
        add_url(author),
        {"institution_name": "Mila", "from_year": "2022", "to_year": "Present"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="affiliations"' in html
    assert "Mila" in html and "2022\u2013present" in html
    assert 'hx-swap-oob="innerHTML:#live-status">Added Mila to your history.' in html
    line = AuthorAffiliation.objects.get(author=author)
    assert line.until_present and line.years == list(range(2022, THIS_YEAR + 1))
    assert "Mila, 2022\u2013present" in page_text(Client(), author)


BAD_LINES = [
    ({"institution_name": "", "from_year": "2019", "to_year": "2020"}, "Name the institution."),
    ({"institution_name": "   ", "from_year": "2019", "to_year": "2020"}, "Name the institution."),
    (
        {"institution_name": "x" * 301, "from_year": "2019", "to_year": "2020"},
        "Keep the name under 300 characters (it has 301).",
    ),
    ({"institution_name": "U", "from_year": "", "to_year": "2020"}, "Give the year you started"),
    ({"institution_name": "U", "from_year": "soon", "to_year": "2020"}, "as a number"),
    ({"institution_name": "U", "from_year": "1850", "to_year": "2020"}, "between 1900 and"),
    (
        {"institution_name": "U", "from_year": str(THIS_YEAR + 1), "to_year": "present"},
        f"between 1900 and {THIS_YEAR}",
    ),
    ({"institution_name": "U", "from_year": "2019", "to_year": ""}, "or “present”"),
    ({"institution_name": "U", "from_year": "2019", "to_year": "later"}, "or “present”"),
    ({"institution_name": "U", "from_year": "2019", "to_year": "-2020"}, "or “present”"),
    ({"institution_name": "U", "from_year": "2019", "to_year": "2018"}, "on or after the first"),
    (
        {"institution_name": "U", "from_year": "2019", "to_year": str(THIS_YEAR + 5)},
        f"between 1900 and {THIS_YEAR}",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_LINES)
def test_a_bad_line_is_refused_with_a_clear_message(owner_client, data, message):
    client, author = owner_client
    response = client.post(add_url(author), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Edit your profile" in html  # the whole page, the form kept
    assert not AuthorAffiliation.objects.filter(author=author).exists()

    fragment = client.post(add_url(author), data, headers=HTMX)
    assert fragment.status_code == 400
    assert message in fragment.content.decode() and "<html" not in fragment.content.decode()


def test_the_number_of_own_lines_is_capped(owner_client):
    client, author = owner_client
    AuthorAffiliation.objects.bulk_create(
        AuthorAffiliation(author=author, institution_name=f"Lab {i}", years=[2000], origin="owner")
        for i in range(services.AFFILIATION_OWN_LINES_MAX)
    )
    response = client.post(
        add_url(author), {"institution_name": "One more", "from_year": "2001", "to_year": "2001"}
    )
    assert response.status_code == 400
    assert "remove one first" in response.content.decode()
    assert AuthorAffiliation.objects.filter(author=author).count() == 30


def test_owner_removes_their_own_line_but_not_an_imported_one(owner_client):
    client, author = owner_client
    own = AuthorAffiliation.objects.create(
        author=author, institution_name="Own Lab", years=[2020], origin="owner"
    )
    imported = AuthorAffiliation.objects.create(
        author=author, institution=InstitutionFactory(), years=[2018]
    )
    url = reverse("profiles:affiliation_remove", args=[author.pk, imported.pk])
    assert client.post(url).status_code == 404
    assert AuthorAffiliation.objects.filter(pk=imported.pk).exists()

    Client().get(page_url(author))  # cached with the line
    url = reverse("profiles:affiliation_remove", args=[author.pk, own.pk])
    response = client.post(url, headers=HTMX)
    assert response.status_code == 200
    assert "Own Lab" not in response.content.decode()
    assert not AuthorAffiliation.objects.filter(pk=own.pk).exists()
    assert "Own Lab" not in page_text(Client(), author)
    assert client.post(url).status_code == 404  # gone already


def test_owner_hides_an_imported_line_and_shows_it_again(owner_client):
    client, author = owner_client
    line = AuthorAffiliation.objects.create(
        author=author, institution=InstitutionFactory(display_name="Old Place U"), years=[2010]
    )
    anonymous = Client()
    assert "Old Place U, 2010" in page_text(anonymous, author)
    url = reverse("profiles:affiliation_hidden", args=[author.pk, line.pk])

    response = client.post(url, {"action": "hide"})
    assert response.status_code == 302
    assert "Old Place U" not in page_text(anonymous, author)
    edit = client.get(edit_url(author)).content.decode()
    assert "From OpenAlex, hidden from your page" in edit and "Show on my page" in edit

    response = client.post(url, {"action": "show"}, headers=HTMX)
    assert response.status_code == 200 and "Hide from my page" in response.content.decode()
    assert "Old Place U, 2010" in page_text(anonymous, author)

    assert client.post(url, {"action": "vanish"}).status_code == 400
    own = AuthorAffiliation.objects.create(author=author, institution_name="Mine", origin="owner")
    own_url = reverse("profiles:affiliation_hidden", args=[author.pk, own.pk])
    assert client.post(own_url, {"action": "hide"}).status_code == 404


def test_a_line_hidden_by_the_owner_stays_hidden_when_the_record_is_imported_again(
    client, shared_data
):
    entity = json.loads((shared_data / "openalex" / "entities" / "A5023888391.json").read_text())
    import_entities([entity], source_name="author")
    author = Author.objects.get(openalex_id="A5023888391")
    owner = make_user()
    claim = services.claim_submit(
        user=owner,
        author=author,
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    services.claim_approve(claim=claim, staff=make_user(staff=True))
    line = AuthorAffiliation.objects.get(author=author, institution__display_name="OurResearch")
    services.affiliation_set_hidden(user=owner, author=author, affiliation_id=line.pk, hidden=True)
    # (The chip above still names it: OpenAlex's last known institution.)
    assert "OurResearch, 2019" not in page_text(client, author)

    later = json.loads(json.dumps(entity))
    (ours,) = [
        a for a in later["affiliations"] if a["institution"]["display_name"] == "OurResearch"
    ]
    ours["years"].append(2024)  # the source has news of the line: it is written again
    import_entities([later], source_name="author again")
    line.refresh_from_db()
    assert line.hidden and 2024 in line.years
    assert "OurResearch, 2019" not in page_text(client, author)
    assert "Johns Hopkins University, 2020" in page_text(client, author)


def test_only_the_owner_edits_the_history(owner_client):
    _, author = owner_client
    line = AuthorAffiliation.objects.create(
        author=author, institution_name="Own Lab", years=[2020], origin="owner"
    )
    other = Client()
    other.force_login(make_user())
    urls = [
        (add_url(author), {"institution_name": "Fake", "from_year": "2019", "to_year": "2020"}),
        (reverse("profiles:affiliation_remove", args=[author.pk, line.pk]), {}),
        (reverse("profiles:affiliation_hidden", args=[author.pk, line.pk]), {"action": "hide"}),
    ]
    for url, data in urls:
        assert other.post(url, data).status_code == 404
        assert other.post(url, data, headers=HTMX).status_code == 404
        anonymous = Client().post(url, data)
        assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert list(AuthorAffiliation.objects.filter(author=author).values_list("pk", flat=True)) == [
        line.pk
    ]


def test_an_owner_cannot_touch_another_records_lines(owner_client):
    client, author = owner_client
    elsewhere = AuthorAffiliation.objects.create(
        author=AuthorFactory(), institution_name="Their Lab", origin="owner"
    )
    url = reverse("profiles:affiliation_remove", args=[author.pk, elsewhere.pk])
    assert client.post(url).status_code == 404
    assert AuthorAffiliation.objects.filter(pk=elsewhere.pk).exists()


def test_the_history_editor_needs_csrf(owner_client):
    _, author = owner_client
    owner = Claim.objects.get(author=author).claimant
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    response = strict.post(
        add_url(author), {"institution_name": "U", "from_year": "2019", "to_year": "2020"}
    )
    assert response.status_code == 403
    assert not AuthorAffiliation.objects.exists()


def test_edit_page_shows_the_history_editor(owner_client):
    client, author = owner_client
    AuthorAffiliation.objects.create(author=author, institution=InstitutionFactory(), years=[2010])
    html = client.get(edit_url(author)).content.decode()
    assert 'id="affiliations"' in html and "Add to my history" in html
    assert 'value="present"' in html
    assert "Hide from my page" in html


def test_the_page_links_the_owner_to_the_history_editor(owner_client):
    client, author = owner_client
    html = client.get(page_url(author)).content.decode()
    assert f'href="{edit_url(author)}#affiliations"' in html


def test_owner_hides_a_line_from_orcid_and_an_orcid_reimport_keeps_it_hidden(
    owner_client, tmp_path, shared_data
):
    client, author = owner_client
    record = json.loads((shared_data / "orcid" / "record-v3-0000-0002-4110-3511.json").read_text())
    Author.objects.filter(pk=author.pk).update(orcid="0000-0002-4110-3511")
    record["activities-summary"]["employments"] = {
        "affiliation-group": [
            {
                "summaries": [
                    {
                        "employment-summary": {
                            "put-code": 7,
                            "organization": {"name": "Orcid Listed Lab"},
                            "start-date": {"year": {"value": "2011"}},
                            "end-date": {"year": {"value": "2012"}},
                        }
                    }
                ]
            }
        ]
    }
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    call_command("import_orcid", str(path), stdout=io.StringIO())
    line = AuthorAffiliation.objects.get(author=author, origin="orcid")
    assert "Orcid Listed Lab, 2011" in page_text(Client(), author)

    url = reverse("profiles:affiliation_hidden", args=[author.pk, line.pk])
    assert client.post(url, {"action": "hide"}).status_code == 302
    assert "From ORCID, hidden from your page" in client.get(edit_url(author)).content.decode()
    call_command("import_orcid", str(path), stdout=io.StringIO())

    assert AuthorAffiliation.objects.get(pk=line.pk).hidden
    assert "Orcid Listed Lab" not in page_text(Client(), author)
