"""Writes the demo data: the seed researcher and a generated population.

Both writes are idempotent. The seed researcher is upserted on the works' arXiv
ids and only rows that are missing or differ from the fixture are written. The
generated population is recognised by its content (the rows it would write), so
a second run with the same size and seed reads a few queries' worth and writes
nothing; a different size or seed replaces the previous population.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

from works import metrics
from works.demo import seed
from works.demo.synthetic import Population
from works.importers import upsert
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

BATCH_SIZE = 2000
# pg_advisory_xact_lock key: two load_demo runs at once (two `make run`s) queue up.
_LOCK_KEY = 0x627A_7065_6572  # "bzpeer"


@dataclass(frozen=True)
class SeedLoadResult:
    author: Author
    created: int
    updated: int


@dataclass(frozen=True)
class SyntheticLoadResult:
    loaded: bool  # False: the same population was already there
    replaced: bool  # a population of another size or seed was deleted first
    authors: int
    works: int
    authorships: int


@dataclass(frozen=True)
class DemoLoadResult:
    seed: SeedLoadResult
    synthetic: SyntheticLoadResult | None


def demo_load(*, population: Population | None) -> DemoLoadResult:
    """The seed researcher, then the generated population if one is given; one transaction."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        seed_result = seed_researcher_load()
        synthetic = synthetic_population_load(population=population) if population else None
        if synthetic is not None and synthetic.loaded:
            # Statistics for the rows just written: until autovacuum gets to
            # them, the planner takes a 100,000-author table for an empty one
            # and a researcher search read 100 times as long (1.5 s).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(upsert.TABLES)}, works_authormetrics")
    return DemoLoadResult(seed=seed_result, synthetic=synthetic)


# ---------------------------------------------------------------- the seed researcher


class _Tally:
    def __init__(self) -> None:
        self.created = 0
        self.updated = 0

    def update_if_changed(self, obj: models.Model, values: dict[str, Any]) -> None:
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            return
        for name in changed:
            setattr(obj, name, values[name])
        if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            changed.append("updated_at")
        obj.save(update_fields=changed)
        self.updated += 1


@transaction.atomic(savepoint=False)
def seed_researcher_load() -> SeedLoadResult:
    """Hattie Zhou, her three works exactly as the seed page shows them, and her co-authors.

    Only what the fixture states is enforced on rows that already exist (the works'
    bibliographic fields, the order of publisher-asserted authorships); a person's
    later choices on the author records (e.g. open to collaborate) are left alone.
    """
    tally = _Tally()
    source = _seed_source(tally)
    topics = _seed_topics(tally)
    works = _seed_works(source, tally)
    authors = _seed_authors(works, tally)
    _seed_authorships(works, authors, tally)
    _seed_topic_links(works, authors, topics, tally)
    if tally.created or tally.updated:
        metrics.author_metrics_refresh(author_ids=[a.pk for a in authors.values()])
    return SeedLoadResult(
        author=authors[seed.SEED_RESEARCHER], created=tally.created, updated=tally.updated
    )


def _seed_source(tally: _Tally) -> Source:
    fixture = seed.ARXIV
    source = (
        Source.objects.filter(display_name=fixture.display_name, is_synthetic=False)
        .order_by("id")
        .first()
    )
    if source is None:
        source = Source.objects.create(
            display_name=fixture.display_name,
            type=fixture.type,
            host_organization_name=fixture.host_organization_name,
        )
        tally.created += 1
    return source


def _seed_topics(tally: _Tally) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    for topic in Topic.objects.filter(
        display_name__in=[t.display_name for t in seed.TOPICS], is_synthetic=False
    ).order_by("id"):
        topics.setdefault(topic.display_name, topic)
    for fixture in seed.TOPICS:
        if fixture.display_name not in topics:
            topics[fixture.display_name] = Topic.objects.create(
                display_name=fixture.display_name,
                description=fixture.description,
                subfield=fixture.subfield,
                field=fixture.field,
                domain=fixture.domain,
            )
            tally.created += 1
    return topics


def _seed_works(source: Source, tally: _Tally) -> list[Work]:
    """The seed works in fixture order, upserted on their arXiv ids."""
    existing = {
        w.arxiv_id: w for w in Work.objects.filter(arxiv_id__in=[f.arxiv_id for f in seed.WORKS])
    }
    works = []
    for fixture in seed.WORKS:
        values = {
            "title": fixture.title,
            "abstract": fixture.abstract,
            "type": fixture.type,
            "publication_year": fixture.publication_year,
            "source_id": source.pk,
            "language": fixture.language,
            "is_synthetic": False,
        }
        work = existing.get(fixture.arxiv_id)
        if work is None:
            work = Work.objects.create(arxiv_id=fixture.arxiv_id, **values)
            tally.created += 1
        else:
            tally.update_if_changed(work, values)
        works.append(work)
    return works


def _seed_authors(works: list[Work], tally: _Tally) -> dict[str, Author]:
    """The author records by name: those already on the seed works, else ours, else new."""
    names = {a.display_name for w in seed.WORKS for a in w.authors}
    authors: dict[str, Author] = {}
    on_works = (
        Authorship.objects.filter(work__in=works, author__is_synthetic=False)
        .select_related("author")
        .order_by("author_id")
    )
    for authorship in on_works:
        if authorship.author.display_name in names:
            authors.setdefault(authorship.author.display_name, authorship.author)
    missing = names - authors.keys()
    # Records this command made earlier carry no external id; an imported namesake
    # (with an OpenAlex id or ORCID iD) is a record of its own.
    for author in Author.objects.filter(
        display_name__in=missing, is_synthetic=False, openalex_id="", orcid=""
    ).order_by("id"):
        authors.setdefault(author.display_name, author)
    works_per_author = Counter(a.display_name for w in seed.WORKS for a in w.authors)
    # The seed researcher first, then co-authors in order of appearance: stable ids.
    ordered = dict.fromkeys(
        [seed.SEED_RESEARCHER, *(a.display_name for w in seed.WORKS for a in w.authors)]
    )
    for name in [n for n in ordered if n not in authors]:
        authors[name] = Author.objects.create(
            display_name=name,
            open_to_collaborate=name == seed.SEED_RESEARCHER,
            works_count=works_per_author[name],
        )
        tally.created += 1
    return authors


def _seed_authorships(works: list[Work], authors: dict[str, Author], tally: _Tally) -> None:
    existing = {(a.work_id, a.author_id): a for a in Authorship.objects.filter(work__in=works)}
    for work, fixture in zip(works, seed.WORKS, strict=True):
        for position, seed_author in enumerate(fixture.authors):
            author = authors[seed_author.display_name]
            authorship = existing.get((work.pk, author.pk))
            if authorship is None:
                Authorship.objects.create(
                    work=work,
                    author=author,
                    position=position,
                    raw_author_name=seed_author.raw_name,
                    origin=Authorship.Origin.PUBLISHER,
                )
                tally.created += 1
            elif authorship.origin == Authorship.Origin.PUBLISHER:
                tally.update_if_changed(
                    authorship, {"position": position, "raw_author_name": seed_author.raw_name}
                )


def _seed_topic_links(
    works: list[Work], authors: dict[str, Author], topics: dict[str, Topic], tally: _Tally
) -> None:
    work_topics = set(WorkTopic.objects.filter(work__in=works).values_list("work_id", "topic_id"))
    new_work_topics = []
    author_topic_counts: Counter[tuple[int, int]] = Counter()
    for work, fixture in zip(works, seed.WORKS, strict=True):
        for rank, name in enumerate(fixture.topics):
            topic = topics[name]
            if (work.pk, topic.pk) not in work_topics:
                # Editorial assignments: certain, hence a score of 1.
                new_work_topics.append(
                    WorkTopic(work=work, topic=topic, score=1.0, is_primary=rank == 0)
                )
            for seed_author in fixture.authors:
                author_topic_counts[authors[seed_author.display_name].pk, topic.pk] += 1
    WorkTopic.objects.bulk_create(new_work_topics)
    author_topics = set(
        AuthorTopic.objects.filter(
            author__in=list(authors.values()), topic__in=list(topics.values())
        ).values_list("author_id", "topic_id")
    )
    new_author_topics = [
        AuthorTopic(author_id=author_id, topic_id=topic_id, count=count)
        for (author_id, topic_id), count in sorted(author_topic_counts.items())
        if (author_id, topic_id) not in author_topics
    ]
    AuthorTopic.objects.bulk_create(new_author_topics)
    tally.created += len(new_work_topics) + len(new_author_topics)


# ---------------------------------------------------------------- the generated population


def synthetic_population_load(*, population: Population) -> SyntheticLoadResult:
    """Write `population` unless it is already there; replace any other generated one."""
    n_authorships = sum(len(w.authorships) for w in population.works)
    with transaction.atomic(savepoint=False):
        if synthetic_population_is_loaded(population=population):
            return SyntheticLoadResult(
                loaded=False,
                replaced=False,
                authors=len(population.authors),
                works=len(population.works),
                authorships=n_authorships,
            )
        replaced = _synthetic_delete()
        _synthetic_insert(population)
        metrics.author_metrics_refresh(
            author_ids=Author.objects.filter(is_synthetic=True).values_list("id", flat=True)
        )
    return SyntheticLoadResult(
        loaded=True,
        replaced=replaced,
        authors=len(population.authors),
        works=len(population.works),
        authorships=n_authorships,
    )


def synthetic_population_is_loaded(*, population: Population) -> bool:
    """Whether the generated rows in the database are this population's (by count and ids)."""
    expected_counts: list[tuple[models.QuerySet[Any], int]] = [
        (Institution.objects.filter(is_synthetic=True), len(population.institutions)),
        (Topic.objects.filter(is_synthetic=True), len(population.topics)),
        (Source.objects.filter(is_synthetic=True), len(population.sources)),
        (
            Authorship.objects.filter(origin=Authorship.Origin.SYNTHETIC),
            sum(len(w.authorships) for w in population.works),
        ),
    ]
    if any(queryset.count() != count for queryset, count in expected_counts):
        return False
    # Names and titles differ from one seed to the next, ids from one size to the next.
    authors = list(
        Author.objects.filter(is_synthetic=True)
        .order_by("openalex_id")
        .values_list("openalex_id", "display_name")
    )
    if authors != sorted((a.openalex_id, a.display_name) for a in population.authors):
        return False
    # The references tell a population written before works had a research
    # record (citations per year, references, open access) from this one.
    works = list(
        Work.objects.filter(is_synthetic=True)
        .order_by("openalex_id")
        .values_list("openalex_id", "title", "referenced_works_count")
    )
    return works == sorted(
        (w.openalex_id, w.title, len(w.referenced_works)) for w in population.works
    )


def _synthetic_delete() -> bool:
    """Delete every generated record; whether there was any."""
    deleted = 0
    for model in (Work, Author, Topic, Source, Institution):
        count, _per_model = model.objects.filter(is_synthetic=True).delete()
        deleted += count
    return deleted > 0


def _synthetic_insert(population: Population) -> None:
    # Plain bulk inserts (no ignore_conflicts): the ids they return are needed for
    # the rows that point at them, and conflicts cannot happen, since every
    # generated id is in a reserved range and the previous population is gone.
    institutions = Institution.objects.bulk_create(
        [
            Institution(
                is_synthetic=True,
                openalex_id=r.openalex_id,
                ror=r.ror,
                display_name=r.display_name,
                country_code=r.country_code,
                type=r.type,
                email_domains=list(r.email_domains),
            )
            for r in population.institutions
        ]
    )
    institution_ids = {o.openalex_id: o.pk for o in institutions}
    topics = Topic.objects.bulk_create(
        [
            Topic(
                is_synthetic=True,
                openalex_id=r.openalex_id,
                display_name=r.display_name,
                description=r.description,
                subfield=r.subfield,
                field=r.field,
                domain=r.domain,
                keywords=list(r.keywords),
            )
            for r in population.topics
        ]
    )
    topic_ids = {o.openalex_id: o.pk for o in topics}
    sources = Source.objects.bulk_create(
        [
            Source(
                is_synthetic=True,
                openalex_id=r.openalex_id,
                display_name=r.display_name,
                type=r.type,
                host_organization_name=r.host_organization_name,
            )
            for r in population.sources
        ]
    )
    source_ids = {o.openalex_id: o.pk for o in sources}
    authors = Author.objects.bulk_create(
        [
            Author(
                is_synthetic=True,
                openalex_id=r.openalex_id,
                orcid=r.orcid,
                display_name=r.display_name,
                name_variants=list(r.name_variants),
                last_known_institution_id=institution_ids[r.institution.openalex_id],
                works_count=r.works_count,
                cited_by_count=r.cited_by_count,
            )
            for r in population.authors
        ],
        batch_size=BATCH_SIZE,
    )
    author_ids = {o.openalex_id: o.pk for o in authors}
    AuthorTopic.objects.bulk_create(
        [
            AuthorTopic(
                author_id=author_ids[r.openalex_id],
                topic_id=topic_ids[topic.openalex_id],
                count=count,
            )
            for r in population.authors
            for topic, count in r.topic_counts
        ],
        batch_size=BATCH_SIZE,
    )
    works = Work.objects.bulk_create(
        [
            Work(
                is_synthetic=True,
                openalex_id=r.openalex_id,
                doi=r.doi,
                title=r.title,
                abstract=r.abstract,
                type=r.type,
                publication_year=r.publication_year,
                publication_date=r.publication_date,
                source_id=source_ids[r.source.openalex_id],
                language=r.language,
                cited_by_count=r.cited_by_count,
                counts_by_year={str(year): cited for year, cited in r.counts_by_year},
                referenced_works=list(r.referenced_works),
                referenced_works_count=len(r.referenced_works),
                is_retracted=r.is_retracted,
                is_oa=r.is_oa,
                oa_status=r.oa_status,
                oa_url=r.oa_url,
                pdf_url=r.pdf_url,
                biblio=dict(r.biblio),
            )
            for r in population.works
        ],
        batch_size=BATCH_SIZE,
    )
    WorkTopic.objects.bulk_create(
        [
            WorkTopic(
                work_id=work.pk,
                topic_id=topic_ids[wt.topic.openalex_id],
                score=wt.score,
                is_primary=wt.is_primary,
            )
            for work, r in zip(works, population.works, strict=True)
            for wt in r.topics
        ],
        batch_size=BATCH_SIZE,
    )
    records = [
        (work, a) for work, r in zip(works, population.works, strict=True) for a in r.authorships
    ]
    authorships = Authorship.objects.bulk_create(
        [
            Authorship(
                work_id=work.pk,
                author_id=author_ids[a.author.openalex_id],
                position=a.position,
                raw_author_name=a.raw_author_name,
                is_corresponding=a.is_corresponding,
                origin=Authorship.Origin.SYNTHETIC,
            )
            for work, a in records
        ],
        batch_size=BATCH_SIZE,
    )
    through = Authorship.institutions.through
    through.objects.bulk_create(
        [
            through(authorship_id=authorship.pk, institution_id=institution_ids[i.openalex_id])
            for authorship, (_work, a) in zip(authorships, records, strict=True)
            for i in a.institutions
        ],
        batch_size=BATCH_SIZE,
    )
