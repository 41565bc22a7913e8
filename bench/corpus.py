"""The two corpora, written as OpenAlex JSON lines so that they go through the real importer.

- generated: works.demo.synthetic's seeded population (power-law co-authorship,
  realistic team sizes, topics and institutions), one `to_openalex_work` per line.
- ca-GrQc: the SNAP co-authorship network of arXiv's General Relativity
  section (read from ../shared/data, never copied). It lists who wrote with
  whom, not papers; a paper's authors form a clique of that graph, so each
  maximal clique becomes one paper (a preprint of 1993-2003, the network's
  years) and an author with no co-author gets a paper of their own. Its
  authors keep their anonymous SNAP numbers in their names.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
import orjson

from bench.config import FOLLOWED_AUTHORS, GRQC_INDEX_OFFSET, PROFILE_AUTHOR_WORKS
from works.demo.synthetic import (
    AuthorRecord,
    AuthorshipRecord,
    Population,
    WorkRecord,
    WorkTopicRecord,
    generate_population,
    synthetic_openalex_id,
    to_openalex_work,
)

GRQC_FIRST_YEAR, GRQC_LAST_YEAR = 1993, 2003
_PHYSICS_FIELD = 31


@dataclass
class Corpus:
    name: str
    path: Path
    authors: int = 0
    works: int = 0
    authorships: int = 0
    bytes: int = 0
    generate_s: float = 0.0
    write_s: float = 0.0
    max_author_works: int = 0
    # OpenAlex ids of the authors the pages are measured with.
    large_author: str = ""
    large_author_works: int = 0
    small_author: str = ""
    followed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "authors": self.authors,
            "works": self.works,
            "authorships": self.authorships,
            "bytes": self.bytes,
            "generate_s": round(self.generate_s, 2),
            "write_s": round(self.write_s, 2),
            "max_author_works": self.max_author_works,
        }


def _write_lines(path: Path, works: Iterable[WorkRecord]) -> tuple[int, int]:
    """Write one OpenAlex work per line; (works, authorships)."""
    count = authorships = 0
    with path.open("wb") as out:
        for work in works:
            out.write(orjson.dumps(to_openalex_work(work), option=orjson.OPT_APPEND_NEWLINE))
            count += 1
            authorships += len(work.authorships)
    return count, authorships


def generated_corpus(*, n_authors: int, n_works: int, seed: int, path: Path) -> Corpus:
    corpus = Corpus(name="generated", path=path)
    started = time.perf_counter()
    population = generate_population(n_authors=n_authors, seed=seed, n_works=n_works)
    corpus.generate_s = time.perf_counter() - started
    started = time.perf_counter()
    corpus.works, corpus.authorships = _write_lines(path, population.works)
    corpus.write_s = time.perf_counter() - started
    corpus.bytes = path.stat().st_size
    corpus.authors = len(population.authors)
    _pick_page_authors(corpus, population, seed=seed)
    return corpus


def _pick_page_authors(corpus: Corpus, population: Population, *, seed: int) -> None:
    authors = population.authors
    corpus.max_author_works = max((a.works_count for a in authors), default=0)
    if not authors:
        return
    large = min(authors, key=lambda a: (abs(a.works_count - PROFILE_AUTHOR_WORKS), a.openalex_id))
    small = next((a for a in authors if a.works_count == 1), authors[-1])
    corpus.large_author, corpus.large_author_works = large.openalex_id, large.works_count
    corpus.small_author = small.openalex_id
    others = sorted(a.openalex_id for a in authors if a is not large and a.works_count >= 3)
    rng = random.Random(seed)
    followed = rng.sample(others, min(FOLLOWED_AUTHORS - 1, len(others)))
    corpus.followed = [large.openalex_id, *sorted(followed)]


def grqc_edges(path: Path) -> nx.Graph:
    """The network: line 1 counts nodes and lines, then one tab-separated edge per line."""
    graph = nx.Graph()
    with path.open() as lines:
        next(lines, None)
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            a, b = (int(x) for x in line.split())
            if a == b:  # a self-loop: the author is there, with no co-author
                graph.add_node(a)
            else:
                graph.add_edge(a, b)
    return graph


def grqc_corpus(*, source: Path, seed: int, path: Path) -> Corpus:
    corpus = Corpus(name="ca-GrQc", path=path)
    started = time.perf_counter()
    graph = grqc_edges(source)
    teams = sorted(sorted(clique) for clique in nx.find_cliques(graph) if len(clique) > 1)
    teams += [[node] for node in sorted(graph) if graph.degree(node) == 0]
    rng = random.Random(seed)
    base = generate_population(n_authors=0, seed=seed)  # institutions, topics, sources
    topics = [t for t in base.topics if t.field_id == _PHYSICS_FIELD]
    archive = next(s for s in base.sources if s.type == "repository")
    people = {
        node: AuthorRecord(
            openalex_id=synthetic_openalex_id("A", GRQC_INDEX_OFFSET + node),
            display_name=f"GrQc Author {node}",
            name_variants=(),
            orcid="",
            institution=rng.choice(base.institutions),
            topics=(rng.choice(topics),),
        )
        for node in sorted(graph)
    }
    works = []
    for index, team in enumerate(teams):
        year = rng.randint(GRQC_FIRST_YEAR, GRQC_LAST_YEAR)
        topic = people[team[0]].topics[0]
        works.append(
            WorkRecord(
                openalex_id=synthetic_openalex_id("W", GRQC_INDEX_OFFSET + index),
                doi="",
                title=f"ca-GrQc collaboration {index}: {topic.display_name.lower()}",
                abstract="",
                type="preprint",
                publication_year=year,
                publication_date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
                source=archive,
                language="en",
                cited_by_count=rng.randint(0, 40),
                topics=(WorkTopicRecord(topic, 1.0, True),),
                authorships=tuple(
                    AuthorshipRecord(
                        author=people[node],
                        position=position,
                        raw_author_name=people[node].display_name,
                        institutions=(people[node].institution,),
                        is_corresponding=position == 0,
                    )
                    for position, node in enumerate(team)
                ),
            )
        )
    corpus.generate_s = time.perf_counter() - started
    started = time.perf_counter()
    corpus.works, corpus.authorships = _write_lines(path, works)
    corpus.write_s = time.perf_counter() - started
    corpus.bytes = path.stat().st_size
    corpus.authors = len(people)
    counts = {node: 0 for node in people}
    for team in teams:
        for node in team:
            counts[node] += 1
    corpus.max_author_works = max(counts.values(), default=0)
    return corpus
