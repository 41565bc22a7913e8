"""The generated population: deterministic, realistically shaped, clearly artificial ids."""

import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from works.demo import seed
from works.demo.synthetic import (
    CITATIONS_LAST_YEAR,
    DEMO_DOI_PREFIX,
    DEMO_JOURNAL_URL,
    DEMO_REPOSITORY_URL,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_REFERENCES,
    MAX_TEAM_SIZE,
    Population,
    generate_population,
    is_synthetic_openalex_id,
    to_openalex_work,
)
from works.identifiers import orcid_checksum, ror_checksum
from works.importers.openalex_records import parse_entity

N = 300
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(n_authors=N, seed=42)


@pytest.fixture(scope="module")
def large_population() -> Population:
    return generate_population(n_authors=1000, seed=7)


def openalex_dump(population: Population) -> str:
    return json.dumps([to_openalex_work(w) for w in population.works], sort_keys=True)


def test_same_seed_gives_an_identical_population(population):
    again = generate_population(n_authors=N, seed=42)

    assert again == population
    assert openalex_dump(again) == openalex_dump(population)


def test_different_seed_gives_a_different_population(population):
    other = generate_population(n_authors=N, seed=43)

    assert [a.display_name for a in other.authors] != [a.display_name for a in population.authors]
    assert [w.title for w in other.works] != [w.title for w in population.works]


def test_zero_authors_gives_an_empty_population():
    empty = generate_population(n_authors=0, seed=42)

    assert empty.authors == () and empty.works == ()


def test_a_number_of_works_gives_exactly_that_many_and_uses_every_author():
    """The benchmark's corpus: three works per author, so about fifteen authorships each."""
    corpus = generate_population(n_authors=1000, seed=7, n_works=3000)

    assert len(corpus.works) == 3000
    assert len(corpus.authors) == 1000
    assert all(a.works_count >= 1 for a in corpus.authors)
    authorships = sum(len(w.authorships) for w in corpus.works)
    assert 4 * 3000 < authorships < 6 * 3000
    with pytest.raises(ValueError):
        generate_population(n_authors=10, seed=7, n_works=-1)


def test_every_author_has_a_work_and_about_three_on_average(population):
    counts = [a.works_count for a in population.authors]
    authorships: dict[str, int] = defaultdict(int)
    for work in population.works:
        for authorship in work.authorships:
            authorships[authorship.author.openalex_id] += 1

    assert len(population.authors) == N
    assert min(counts) >= 1
    assert 2.5 <= statistics.mean(counts) <= 3.5
    assert counts == [authorships[a.openalex_id] for a in population.authors]


def test_works_per_author_is_heavy_tailed(large_population):
    counts = [a.works_count for a in large_population.authors]

    assert max(counts) >= 20 * statistics.median(counts)


def test_coauthor_degree_is_heavy_tailed(large_population):
    coauthors: dict[str, set[str]] = defaultdict(set)
    for work in large_population.works:
        team = {a.author.openalex_id for a in work.authorships}
        for member in team:
            coauthors[member] |= team - {member}
    degrees = [len(coauthors[a.openalex_id]) for a in large_population.authors]

    assert max(degrees) >= 10 * statistics.median(degrees)


def test_team_sizes_are_mostly_two_to_six_and_at_most_thirty(large_population):
    sizes = [len(w.authorships) for w in large_population.works]

    assert min(sizes) >= 1 and max(sizes) <= MAX_TEAM_SIZE
    assert sum(2 <= s <= 6 for s in sizes) / len(sizes) >= 0.65
    assert max(sizes) > 10  # the long tail exists


def test_authorships_are_in_order_without_repeated_authors(population):
    for work in population.works:
        assert [a.position for a in work.authorships] == list(range(len(work.authorships)))
        authors = [a.author.openalex_id for a in work.authorships]
        assert len(set(authors)) == len(authors)


def test_authors_have_one_to_three_topics_and_works_take_theirs(population):
    assert all(1 <= len(a.topics) <= 3 for a in population.authors)
    for work in population.works:
        team_topics = {t.openalex_id for a in work.authorships for t in a.author.topics}
        assert {wt.topic.openalex_id for wt in work.topics} <= team_topics
        assert [wt.is_primary for wt in work.topics].count(True) == 1


def test_population_has_its_fixed_lists_of_institutions_topics_and_sources(population):
    assert len(population.institutions) == 60
    assert len(population.topics) == 80
    assert len(population.sources) == 30
    assert len({t.field for t in population.topics}) >= 5
    assert len({i.country_code for i in population.institutions}) >= 30


def test_years_dates_and_types_are_plausible(population):
    today = date.today()
    for work in population.works:
        assert FIRST_YEAR <= work.publication_year <= LAST_YEAR
        assert work.publication_date.year == work.publication_year
        assert work.publication_date <= today
        assert work.type in {"article", "preprint", "review"}
        assert (work.type == "preprint") == (work.source.type == "repository")
        assert work.title and work.abstract


def test_generated_ids_are_in_the_reserved_ranges(population):
    records = [
        *population.institutions,
        *population.topics,
        *population.sources,
        *population.authors,
        *population.works,
    ]
    assert all(re.fullmatch(r"[AISTW]990\d{7}", r.openalex_id) for r in records)
    assert all(is_synthetic_openalex_id(r.openalex_id) for r in records)
    assert len({r.openalex_id for r in records}) == len(records)

    for institution in population.institutions:
        ror = institution.ror
        assert re.fullmatch(r"0zz[0-9a-hjkmnp-tv-z]{4}\d{2}", ror)
        value = 0
        for char in ror[1:7]:
            value = value * 32 + CROCKFORD.index(char)
        assert ror[7:] == ror_checksum(value)
        assert all(d.endswith(".example") for d in institution.email_domains)

    orcids = [a.orcid for a in population.authors if a.orcid]
    assert orcids, "some generated authors carry an ORCID iD"
    for orcid in orcids:
        assert re.fullmatch(r"0009-0099-\d{4}-\d{3}[\dX]", orcid)
        digits = orcid.replace("-", "")
        assert digits[15] == orcid_checksum(digits[:15])
    assert len(set(orcids)) == len(orcids)

    dois = [w.doi for w in population.works if w.doi]
    assert dois and all(d.startswith(DEMO_DOI_PREFIX) for d in dois)
    assert len(set(dois)) == len(dois)


def test_real_openalex_ids_are_outside_the_reserved_range(shared_data):
    page = json.loads((shared_data / "openalex" / "works-page-1.json").read_text())
    ids = {w["id"] for w in page["results"]}
    ids |= {a["author"]["id"] for w in page["results"] for a in w["authorships"]}

    assert "https://openalex.org/A9999999999" in ids  # OpenAlex's "NULL AUTHOR_ID"
    assert not any(is_synthetic_openalex_id(i) for i in ids)


def test_generated_names_never_match_the_seed_researchers(large_population):
    seed_names = {a.display_name for w in seed.WORKS for a in w.authors}

    assert not seed_names & {a.display_name for a in large_population.authors}


def test_to_openalex_work_has_the_openalex_work_shape(population):
    record = max(population.works, key=lambda w: len(w.authorships))
    work = to_openalex_work(record)

    json.dumps(work)  # plain JSON types only
    assert re.fullmatch(r"https://openalex\.org/W990\d{7}", work["id"])
    assert work["display_name"] == work["title"] == record.title
    assert work["publication_year"] == record.publication_year
    assert work["publication_date"] == record.publication_date.isoformat()
    assert work["type"] == record.type
    source = work["primary_location"]["source"]
    assert re.fullmatch(r"https://openalex\.org/S990\d{7}", source["id"])
    assert source["display_name"] == record.source.display_name
    assert source["type"] == record.source.type

    authorships = work["authorships"]
    assert [a["author"]["display_name"] for a in authorships] == [
        a.author.display_name for a in record.authorships
    ]
    assert authorships[0]["author_position"] == "first"
    assert authorships[-1]["author_position"] == "last"
    assert {a["author_position"] for a in authorships[1:-1]} <= {"middle"}
    for authorship in authorships:
        author = authorship["author"]
        assert set(author) == {"id", "display_name", "orcid"}
        assert re.fullmatch(r"https://openalex\.org/A990\d{7}", author["id"])
        assert author["orcid"] is None or author["orcid"].startswith("https://orcid.org/0009-0099-")
        for institution in authorship["institutions"]:
            assert re.fullmatch(r"https://ror\.org/0zz\w{6}", institution["ror"])
            assert institution["country_code"] and institution["display_name"]

    assert work["primary_topic"] == work["topics"][0]
    for topic in work["topics"]:
        assert re.fullmatch(r"https://openalex\.org/T990\d{7}", topic["id"])
        assert {"subfield", "field", "domain"} <= set(topic)

    words = sorted(
        (position, word)
        for word, positions in work["abstract_inverted_index"].items()
        for position in positions
    )
    assert " ".join(word for _p, word in words) == record.abstract


def test_to_openalex_work_uses_only_fields_a_real_openalex_work_has(population, shared_data):
    real = json.loads((shared_data / "openalex" / "works-page-1.json").read_text())["results"]
    real_work = next(w for w in real if w["authorships"] and w["authorships"][0]["institutions"])
    ours = to_openalex_work(population.works[0])

    def keys(value: dict, path: str) -> set[str]:
        return {f"{path}.{k}" for k in value}

    assert keys(ours, "work") <= keys(real_work, "work")
    assert keys(ours["authorships"][0], "authorship") <= keys(
        real_work["authorships"][0], "authorship"
    )
    assert keys(ours["authorships"][0]["author"], "author") <= keys(
        real_work["authorships"][0]["author"], "author"
    )
    assert keys(ours["authorships"][0]["institutions"][0], "institution") <= keys(
        real_work["authorships"][0]["institutions"][0], "institution"
    )
    assert keys(ours["topics"][0], "topic") <= keys(real_work["topics"][0], "topic")
    real_location = real_work["primary_location"]
    assert keys(ours["primary_location"], "location") <= keys(real_location, "location")
    assert keys(ours["primary_location"]["source"], "source") <= keys(
        real_location["source"], "source"
    )


def test_citations_per_year_run_from_publication_to_now_and_sum_to_the_count(population):
    cited = [w for w in population.works if w.cited_by_count]

    assert cited
    for work in population.works:
        years = [year for year, _n in work.counts_by_year]
        assert sum(n for _y, n in work.counts_by_year) == work.cited_by_count
        assert years == sorted(set(years))
        assert all(work.publication_year <= y <= CITATIONS_LAST_YEAR for y in years)
        assert all(n > 0 for _y, n in work.counts_by_year)
    # Spread over the years, not heaped on one.
    many = [w for w in cited if w.cited_by_count >= 50 and w.publication_year <= 2018]
    assert many and all(len(w.counts_by_year) >= 5 for w in many)


def test_works_cite_only_earlier_works_and_never_beyond_their_counts(large_population):
    works = {w.openalex_id: w for w in large_population.works}
    cited_here: dict[str, int] = defaultdict(int)
    for work in large_population.works:
        assert len(work.referenced_works) <= MAX_REFERENCES
        assert len(set(work.referenced_works)) == len(work.referenced_works)
        for reference in work.referenced_works:
            assert works[reference].publication_date <= work.publication_date
            cited_here[reference] += 1
    assert all(n <= works[w].cited_by_count for w, n in cited_here.items())
    counts = [len(w.referenced_works) for w in large_population.works]
    assert statistics.median(counts) >= 5
    assert max(counts) >= 25
    # Far more often within the work's own topic than chance (one in ~90 topics).
    same_topic = sum(
        works[r].topics[0].topic == w.topics[0].topic
        for w in large_population.works
        for r in w.referenced_works
    )
    assert same_topic / sum(counts) > 0.3


def test_a_share_of_works_is_open_access_a_few_are_retracted(large_population):
    works = large_population.works
    open_access = [w for w in works if w.is_oa]

    assert 0.3 < len(open_access) / len(works) < 0.8
    assert 0 < sum(w.is_retracted for w in works) < len(works) / 50
    for work in works:
        if work.source.type == "repository":
            assert work.is_oa and work.oa_status == "green"
        if work.is_oa:
            assert work.oa_status in {"gold", "green", "hybrid", "bronze", "diamond"}
            assert work.oa_url.startswith(
                (DEMO_REPOSITORY_URL, DEMO_JOURNAL_URL, "https://doi.org/" + DEMO_DOI_PREFIX)
            )
        else:
            assert work.oa_status == "closed" and not work.oa_url and not work.pdf_url


def test_journal_works_have_volume_issue_and_pages(population):
    for work in population.works:
        biblio = dict(work.biblio)
        if work.source.type == "journal":
            assert set(biblio) == {"volume", "issue", "first_page", "last_page"}
            assert int(biblio["first_page"]) < int(biblio["last_page"])
        else:
            assert biblio == {}


def test_the_openalex_rendering_imports_with_the_research_record(population):
    record = max(population.works, key=lambda w: (len(w.referenced_works), w.cited_by_count))
    row = parse_entity(to_openalex_work(record), [])

    assert row.counts_by_year == {str(y): n for y, n in record.counts_by_year}
    assert row.referenced_works == list(record.referenced_works)
    assert row.referenced_works_count == len(record.referenced_works)
    assert (row.is_oa, row.oa_status, row.oa_url, row.pdf_url) == (
        record.is_oa,
        record.oa_status,
        record.oa_url,
        record.pdf_url,
    )
    assert row.is_retracted == record.is_retracted
    assert row.biblio == dict(record.biblio)


def test_the_generator_runs_without_django():
    code = (
        "import sys; from works.demo.synthetic import generate_population, to_openalex_work; "
        "p = generate_population(n_authors=20, seed=1); to_openalex_work(p.works[0]); "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True)

    assert result.returncode == 0, result.stderr.decode()
