"""`manage.py load_demo`: the seed researcher exactly as the seed page shows her, a
generated population that is all marked synthetic, and a second run that changes nothing."""

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from works.demo import seed
from works.demo.synthetic import generate_population
from works.models import (
    Author,
    Authorship,
    AuthorTopic,
    Institution,
    Source,
    Topic,
    Work,
    WorkTopic,
)

pytestmark = pytest.mark.django_db

N = 200
ARXIV_IDS = {"1905.01067", "1909.01440", "2202.00155"}


def load_demo(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every works table (through tables included), every column."""
    tables = {}
    for model in apps.get_app_config("works").get_models(include_auto_created=True):
        columns = [f.attname for f in model._meta.concrete_fields]
        tables[model._meta.label] = list(
            model._default_manager.order_by("pk").values_list(*columns)
        )
    return tables


def hattie() -> Author:
    return Author.objects.get(display_name=seed.SEED_RESEARCHER, is_synthetic=False)


def hattie_works() -> list[Work]:
    """Her works in the order the profile page lists them."""
    return list(
        Work.objects.filter(authorships__author=hattie())
        .select_related("source")
        .order_by("-publication_year", "-publication_date", "-id")
    )


def seed_page(shared_data: Path) -> str:
    page = shared_data.parent / "seed" / "researcher-profile-page.txt"
    if not page.is_file():
        pytest.skip(f"SKIPPED: {page} is missing")
    return page.read_text()


def page_works(text: str) -> list[dict[str, Any]]:
    """The "Published work" items of the seed page: type, year and venue run together
    on one line ("preprint2022arXiv"), then the title, then the abstract."""
    section = text[text.index("Published work") :]
    pattern = (
        r"^(?P<type>[a-z-]+)(?P<year>\d{4})(?P<venue>\S+)\n\n(?P<title>.+)\n\n(?P<abstract>.+)$"
    )
    return [{**m.groupdict(), "year": int(m["year"])} for m in re.finditer(pattern, section, re.M)]


def bibtex_authors(text: str) -> dict[str, list[str]]:
    """Title -> author names ("Last, First" turned to "First Last"), in BibTeX order."""
    entries = {}
    for entry in text.split("@")[1:]:
        title = re.search(r"\btitle\s*=\s*\{(.+?)\},?\s*$", entry, re.M)
        authors = re.search(r"\bauthor\s*=\s*\{(.+?)\},?\s*$", entry, re.M)
        assert title and authors, entry
        names = []
        for name in authors[1].split(" and "):
            last, comma, first = name.partition(", ")
            names.append(f"{first} {last}" if comma else name.strip())
        entries[title[1]] = names
    return entries


# ---------------------------------------------------------------- idempotency


def test_load_demo_twice_leaves_every_works_table_identical():
    load_demo("--synthetic", str(N))
    first = snapshot()

    output = load_demo("--synthetic", str(N))

    assert snapshot() == first
    assert "unchanged" in output
    assert "already loaded" in output
    assert len(first["works.Author"]) == N + 7


def test_load_demo_second_run_only_reads(django_assert_max_num_queries):
    load_demo("--synthetic", str(N))

    with django_assert_max_num_queries(16) as context:
        load_demo("--synthetic", str(N))

    writes = [
        q["sql"]
        for q in context.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def real_rows() -> list[list[tuple[Any, ...]]]:
    """Every column of the seed researcher's records (everything not generated)."""
    return [
        list(
            model.objects.filter(is_synthetic=False)
            .order_by("pk")
            .values_list(*[f.attname for f in model._meta.concrete_fields])
        )
        for model in (Author, Work, Topic, Source)
    ] + [list(Authorship.objects.filter(work__is_synthetic=False).order_by("pk").values_list())]


def test_load_demo_with_another_seed_replaces_the_generated_population():
    load_demo("--synthetic", str(N), "--seed", "1")
    before = real_rows()

    output = load_demo("--synthetic", str(N), "--seed", "2")

    expected = generate_population(n_authors=N, seed=2)
    names = Author.objects.filter(is_synthetic=True).order_by("openalex_id")
    assert list(names.values_list("display_name", flat=True)) == [
        a.display_name for a in expected.authors
    ]
    assert Work.objects.filter(is_synthetic=True).count() == len(expected.works)
    assert "replaced" in output
    assert real_rows() == before


def test_load_demo_rewrites_a_seed_work_changed_away_from_the_fixture_in_place():
    load_demo("--synthetic", "0")
    work = Work.objects.get(arxiv_id="1905.01067")
    Work.objects.filter(pk=work.pk).update(title="Edited", publication_year=2019)

    load_demo("--synthetic", "0")

    restored = Work.objects.get(arxiv_id="1905.01067")
    assert restored.pk == work.pk
    assert restored.title == "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask"
    assert restored.publication_year == 2020
    assert Work.objects.filter(is_synthetic=False).count() == 3


def test_load_demo_rejects_a_negative_population():
    with pytest.raises(CommandError):
        load_demo("--synthetic", "-1")


# ---------------------------------------------------------------- the seed researcher


def test_seed_researcher_has_exactly_the_three_fixture_works():
    load_demo("--synthetic", str(N))

    works = {w.arxiv_id: w for w in hattie_works()}

    assert set(works) == ARXIV_IDS
    for fixture in seed.WORKS:
        work = works[fixture.arxiv_id]
        assert work.title == fixture.title
        assert work.abstract == fixture.abstract
        assert work.type == "preprint"
        assert work.publication_year == fixture.publication_year
        assert work.source is not None
        assert (work.source.display_name, work.source.type) == ("arXiv", "repository")
        assert not work.is_synthetic and not work.source.is_synthetic


def test_seed_works_match_the_seed_page_word_for_word(shared_data):
    items = page_works(seed_page(shared_data))
    load_demo("--synthetic", "0")

    works = hattie_works()

    assert len(items) == 3
    assert [
        {
            "type": w.type,
            "year": w.publication_year,
            "venue": w.source.display_name if w.source else None,
            "title": w.title,
            "abstract": w.abstract,
        }
        for w in works
    ] == items


def test_seed_fixture_matches_the_seed_page(shared_data):
    items = {item["title"]: item for item in page_works(seed_page(shared_data))}

    assert set(items) == {w.title for w in seed.WORKS}
    for fixture in seed.WORKS:
        item = items[fixture.title]
        assert (item["type"], item["year"], item["venue"]) == (
            fixture.type,
            fixture.publication_year,
            seed.ARXIV.display_name,
        )
        assert item["abstract"] == fixture.abstract


def test_seed_coauthors_are_in_bibtex_order(shared_data):
    bib = shared_data / "seed-researcher" / "papers.bib"
    expected = bibtex_authors(bib.read_text())
    load_demo("--synthetic", "0")

    for work in hattie_works():
        authorships = list(work.authorships.select_related("author").order_by("position"))
        assert [a.author.display_name for a in authorships] == expected[work.title]
        assert [a.position for a in authorships] == list(range(len(authorships)))
        assert {a.origin for a in authorships} == {Authorship.Origin.PUBLISHER}


def test_seed_coauthors_follow_the_fixture_order():
    load_demo("--synthetic", "0")

    lca = Work.objects.get(arxiv_id="1909.01440")
    names = lca.authorships.order_by("position").values_list("author__display_name", flat=True)

    assert list(names) == ["Janice Lan", "Rosanne Liu", "Hattie Zhou", "Jason Yosinski"]


def test_seed_researcher_is_unclaimed_unaffiliated_and_without_identifiers():
    load_demo("--synthetic", str(N))

    author = hattie()

    assert author.last_known_institution is None
    assert author.orcid == "" and author.openalex_id == ""
    assert not author.is_synthetic
    assert author.open_to_collaborate
    assert author.summary == ""
    assert author.authorships.count() == 3
    assert Author.objects.filter(display_name=seed.SEED_RESEARCHER).count() == 1


def test_seed_researcher_is_connected_to_no_generated_record():
    load_demo("--synthetic", str(N))
    author = hattie()

    works = Work.objects.filter(authorships__author=author)
    coauthors = Author.objects.filter(authorships__work__in=works)
    topics = Topic.objects.filter(worktopic__work__in=works)

    assert not works.filter(is_synthetic=True).exists()
    assert not coauthors.filter(is_synthetic=True).exists()
    assert not topics.filter(is_synthetic=True).exists()
    assert not AuthorTopic.objects.filter(author=author, topic__is_synthetic=True).exists()
    assert not Authorship.objects.filter(work__in=works, institutions__isnull=False).exists()


def test_seed_coauthors_are_real_records_without_fabricated_ids():
    load_demo("--synthetic", "0")

    coauthors = Author.objects.exclude(display_name=seed.SEED_RESEARCHER)

    assert sorted(coauthors.values_list("display_name", flat=True)) == sorted(
        [
            "Janice Lan",
            "Rosanne Liu",
            "Jason Yosinski",
            "Ankit Vani",
            "Hugo Larochelle",
            "Aaron Courville",
        ]
    )
    for author in coauthors:
        assert not author.is_synthetic
        assert author.orcid == "" and author.openalex_id == ""
        assert author.last_known_institution is None
    assert not Institution.objects.exists()


def test_seed_researcher_topics_are_the_four_the_seed_page_counts(shared_data):
    counted = re.search(r"(\d+)topics", seed_page(shared_data))
    load_demo("--synthetic", "0")

    topics = Topic.objects.filter(worktopic__work__authorships__author=hattie()).distinct()

    assert counted is not None
    assert topics.count() == int(counted[1]) == 4
    assert not topics.filter(is_synthetic=True).exists()
    primaries = WorkTopic.objects.filter(work__in=hattie_works(), is_primary=True)
    assert primaries.count() == 3


# ---------------------------------------------------------------- the generated population


def test_generated_records_are_all_marked_synthetic():
    load_demo("--synthetic", str(N))

    assert Author.objects.filter(is_synthetic=True).count() == N
    assert set(
        Author.objects.filter(is_synthetic=False).values_list("display_name", flat=True)
    ) == {a.display_name for w in seed.WORKS for a in w.authors}
    assert (
        set(Work.objects.filter(is_synthetic=False).values_list("arxiv_id", flat=True)) == ARXIV_IDS
    )
    assert list(
        Source.objects.filter(is_synthetic=False).values_list("display_name", flat=True)
    ) == ["arXiv"]
    assert set(Topic.objects.filter(is_synthetic=False).values_list("display_name", flat=True)) == {
        t.display_name for t in seed.TOPICS
    }
    assert not Institution.objects.filter(is_synthetic=False).exists()
    synthetic_work = Authorship.objects.filter(work__is_synthetic=True)
    assert synthetic_work.exists()
    assert not synthetic_work.exclude(origin=Authorship.Origin.SYNTHETIC).exists()
    assert not synthetic_work.filter(author__is_synthetic=False).exists()
    assert not Authorship.objects.filter(
        origin=Authorship.Origin.SYNTHETIC, work__is_synthetic=False
    ).exists()


def test_generated_rows_are_the_generator_s_records():
    load_demo("--synthetic", str(N), "--seed", "5")
    population = generate_population(n_authors=N, seed=5)

    rows = set(
        Authorship.objects.filter(origin=Authorship.Origin.SYNTHETIC).values_list(
            "work__openalex_id", "position", "author__openalex_id", "raw_author_name"
        )
    )
    assert rows == {
        (w.openalex_id, a.position, a.author.openalex_id, a.raw_author_name)
        for w in population.works
        for a in w.authorships
    }
    author = population.authors[0]
    stored = Author.objects.select_related("last_known_institution").get(
        openalex_id=author.openalex_id
    )
    assert stored.orcid == author.orcid
    assert stored.works_count == author.works_count
    assert stored.last_known_institution is not None
    assert stored.last_known_institution.ror == author.institution.ror
    assert stored.last_known_institution.is_synthetic


def test_load_demo_synthetic_zero_creates_no_generated_record():
    output = load_demo("--synthetic", "0")

    for model in (Author, Work, Institution, Topic, Source):
        assert not model.objects.filter(is_synthetic=True).exists(), model
    assert not Authorship.objects.filter(origin=Authorship.Origin.SYNTHETIC).exists()
    assert Work.objects.count() == 3
    assert "skipped" in output


def test_load_demo_synthetic_zero_leaves_a_loaded_population_alone():
    load_demo("--synthetic", str(N))
    before = snapshot()

    load_demo("--synthetic", "0")

    assert snapshot() == before
