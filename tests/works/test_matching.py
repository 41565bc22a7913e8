"""works.matching against real PostgreSQL, with titles and ids of real records
(the shared ORCID record and the shared OpenAlex works page)."""

import secrets

import pytest
from django.db import connection

from tests.factories import WorkFactory
from works.matching import (
    IncomingWork,
    Match,
    MatchedBy,
    title_keys,
    works_match,
)
from works.models import ORCID_PUT_CODE

pytestmark = pytest.mark.django_db

# From ../shared/data/orcid/record-v3-0000-0002-4110-3511.json.
BEST_PRACTICES = "Best Practices for Data Publication in the Astronomical Literature"
BEST_PRACTICES_DOI = "10.3847/1538-4365/ac6268"
BEST_PRACTICES_ARXIV = "2106.01477"
CLOSING_THE_LOOP = "Closing the Loop: Linking Datasets to Publications and Back"
HEURISTIC = (
    "An approach to heuristic exploitation of astronomers' knowledge in automatic "
    "interpretation of optical pictures"
)


def keys(*titles: str) -> list[str]:
    with connection.cursor() as cursor:
        return title_keys(cursor, titles)


def match(*incoming: IncomingWork):
    with connection.cursor() as cursor:
        return works_match(cursor, incoming)


def test_title_keys_fold_case_accents_punctuation_markup_and_spacing() -> None:
    assert keys(
        CLOSING_THE_LOOP,
        "CLOSING THE LOOP \u2014 linking datasets to publications, and back.",
        HEURISTIC.replace("'", "\u2019"),
        # Titles of ../shared/data/openalex/works-page-1.json, markup and all.
        "Artemisinin\u2010Induced Dormancy in<i>Plasmodium falciparum</i>: Duration, "
        "Recovery Rates, and Implications in Treatment Failure",
        "Greffe h\u00e9patique et pi\u00e8ges de l\u2019intoxication volontaire par la forme "
        "\u00ab retard \u00bb du parac\u00e9tamol",
        "   ",
    ) == [
        "closing the loop linking datasets to publications and back",
        "closing the loop linking datasets to publications and back",
        "an approach to heuristic exploitation of astronomers knowledge in automatic "
        "interpretation of optical pictures",
        "artemisinin induced dormancy in plasmodium falciparum duration recovery rates and "
        "implications in treatment failure",
        "greffe hepatique et pieges de l intoxication volontaire par la forme retard du "
        "paracetamol",
        "",
    ]


def test_a_doi_match_wins_over_arxiv_and_title() -> None:
    by_doi = WorkFactory(
        doi=BEST_PRACTICES_DOI, title="Something else entirely", publication_year=2022
    )
    WorkFactory(arxiv_id=BEST_PRACTICES_ARXIV, title="A preprint record", publication_year=2021)
    WorkFactory(title=BEST_PRACTICES, publication_year=2022)

    [found] = match(
        IncomingWork(
            doi=BEST_PRACTICES_DOI,
            arxiv_id=BEST_PRACTICES_ARXIV,
            title=BEST_PRACTICES,
            year=2022,
        )
    ).matches

    assert found == Match(by_doi.pk, MatchedBy.DOI)


def test_a_stored_doi_in_upper_case_still_matches() -> None:
    stored = WorkFactory(doi=BEST_PRACTICES_DOI.upper(), title=BEST_PRACTICES)

    [found] = match(IncomingWork(doi=BEST_PRACTICES_DOI, title="x")).matches

    assert found == Match(stored.pk, MatchedBy.DOI)


def test_arxiv_then_put_code_then_title_in_that_order() -> None:
    preprint = WorkFactory(arxiv_id=BEST_PRACTICES_ARXIV, title="Preprint title", doi="")
    from_orcid = WorkFactory(
        title="Renamed since", doi="", other_ids={ORCID_PUT_CODE: "26708993"}, publication_year=2007
    )
    by_title = WorkFactory(title=CLOSING_THE_LOOP.upper(), doi="", publication_year=2007)

    found = match(
        IncomingWork(
            arxiv_id=BEST_PRACTICES_ARXIV, source_key="26708993", title=CLOSING_THE_LOOP, year=2007
        ),
        IncomingWork(source_key="26708993", title=CLOSING_THE_LOOP, year=2007),
        IncomingWork(source_key="1", title=CLOSING_THE_LOOP, year=2007),
    ).matches

    assert found == [
        Match(preprint.pk, MatchedBy.ARXIV),
        Match(from_orcid.pk, MatchedBy.SOURCE_KEY),
        Match(by_title.pk, MatchedBy.TITLE),
    ]


def test_a_title_match_needs_the_same_year_no_conflicting_id_and_a_long_enough_title() -> None:
    WorkFactory(title=HEURISTIC, doi="10.1007/3-540-51044-3_24", publication_year=1989)
    WorkFactory(title="Editorial", doi="", publication_year=2020)

    found = match(
        IncomingWork(title=HEURISTIC, year=1990),
        IncomingWork(title=HEURISTIC, year=None),
        # An erratum repeating the title has its own DOI.
        IncomingWork(title=HEURISTIC, year=1989, doi="10.1007/3-540-51044-3_99"),
        IncomingWork(title="EDITORIAL", year=2020),
    ).matches

    assert found == [None, None, None, None]


def test_unmatched_records_of_one_batch_that_share_a_key_are_one_work() -> None:
    result = match(
        IncomingWork(doi=BEST_PRACTICES_DOI, title=BEST_PRACTICES, year=2022),
        IncomingWork(title=CLOSING_THE_LOOP, year=2007),
        IncomingWork(arxiv_id=BEST_PRACTICES_ARXIV, doi=BEST_PRACTICES_DOI, title="x", year=2021),
        IncomingWork(title=CLOSING_THE_LOOP.lower(), year=2007),
        # Same title and year as the first, but a DOI of its own: another work.
        IncomingWork(title=BEST_PRACTICES, year=2022, doi="10.1000/other"),
    )

    assert result.matches == [None] * 5
    assert result.first_of == [0, 1, 0, 1, 4]


def test_a_batch_costs_two_statements(django_assert_num_queries) -> None:
    WorkFactory(doi=BEST_PRACTICES_DOI)
    incoming = [IncomingWork(title=f"{CLOSING_THE_LOOP} {n}", year=2007) for n in range(200)]

    with django_assert_num_queries(2):
        match(*incoming)


def test_a_title_far_longer_than_an_index_entry_is_stored_and_matched() -> None:
    # Random words, so no compression brings the key under a B-tree entry's 2,704 bytes.
    title = " ".join(secrets.token_hex(8) for _ in range(1200))  # about 20,000 characters
    stored = WorkFactory(title=title, publication_year=2021)  # a B-tree index refused this row
    [found] = match(IncomingWork(title=title.upper(), year=2021)).matches
    assert found == Match(stored.pk, MatchedBy.TITLE)
