"""The pure slice functions on hand-made rows, and the four-query read behind them."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

from graph import selectors, services
from graph.selectors import AuthorshipRow, CentreRow, SliceInput, TieRow, TopicRow, WorkRow
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from works.models import Authorship, WorkTopic

BASE_DIR = Path(__file__).resolve().parents[2]
MIT = (900, "Institute of Examples")


def small_input() -> SliceInput:
    """Ada (1) wrote three papers.

    w10 with Bo (2) and Cy (3); w11 with Bo alone; w12, a 60-author paper, with
    Di (4) among the first fifty. Bo and Cy also wrote w99 together, without Ada.
    """
    works = (
        WorkRow(id=10, title="Paper with Bo and Cy", year=2021, team_size=3),
        WorkRow(id=11, title="Paper with Bo", year=2020, team_size=2),
        WorkRow(id=12, title="Big collaboration", year=2019, team_size=60),
    )
    authorships = (
        AuthorshipRow(10, 1, "Ada", 0, (MIT,)),
        AuthorshipRow(10, 2, "Bo", 1, (MIT,)),
        AuthorshipRow(10, 3, "Cy", 2, ((901, "Other College"),)),
        AuthorshipRow(11, 1, "Ada", 0, ()),
        AuthorshipRow(11, 2, "Bo", 1, ()),
        AuthorshipRow(12, 4, "Di", 0, ()),
        AuthorshipRow(12, 1, "Ada", 5, ()),
    )
    topics = (
        TopicRow(10, 70, "Graphs", 0.9),
        TopicRow(11, 70, "Graphs", 0.8),
        TopicRow(12, 71, "Physics", 0.9),
    )
    ties = (
        TieRow(
            a=2,
            b=3,
            shared=2,
            strength=1.5,
            works=((99, "Bo and Cy alone", 2022), (10, "Paper with Bo and Cy", 2021)),
            dated=((2022, 2), (2021, 3)),
        ),
    )
    return SliceInput(
        centre=CentreRow(id=1, name="Ada", institution_id=900, institution_name=MIT[1]),
        works=works,
        authorships=authorships,
        topics=topics,
        ties=ties,
        works_total=3,
    )


def big_input(coauthors: int = 40, works: int = 30, topics: int = 20) -> SliceInput:
    """Ada with many co-authors, works and topics: enough to hit every cap."""
    work_rows = tuple(
        WorkRow(id=100 + w, title=f"Work {w}", year=2000 + w % 20, team_size=4)
        for w in range(works)
    )
    rows = []
    for w in range(works):
        rows.append(AuthorshipRow(100 + w, 1, "Ada", 0, ((900 + w % 9, f"Inst {w % 9}"),)))
        for k in range(3):
            person = 2 + (w * 3 + k) % coauthors
            rows.append(
                AuthorshipRow(
                    100 + w,
                    person,
                    f"Person {person}",
                    k + 1,
                    ((950 + person % 7, f"Lab {person % 7}"),),
                )
            )
    topic_rows = tuple(
        TopicRow(100 + w, 300 + (w * 7 + j) % topics, f"Topic {(w * 7 + j) % topics}", 0.5 + j / 10)
        for w in range(works)
        for j in range(3)
    )
    return SliceInput(
        centre=CentreRow(id=1, name="Ada", institution_id=None, institution_name=""),
        works=work_rows,
        authorships=tuple(rows),
        topics=tuple(sorted(set(topic_rows), key=lambda t: (t.work_id, t.topic_id))),
        ties=(),
        works_total=works,
    )


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def test_slice_of_a_known_graph_has_the_expected_nodes_and_ranks():
    data, explorer_data = services.slice_compute(small_input())

    nodes = {n["id"]: n for n in data["nodes"]}
    assert set(nodes) == {
        "a:1", "a:2", "a:3", "a:4",
        "w:10", "w:11", "w:12",
        "t:70", "t:71",
        "i:900", "i:901",
    }  # fmt: skip
    assert nodes["a:1"]["centre"] is True
    assert (nodes["a:1"]["x"], nodes["a:1"]["y"]) == (0.0, 0.0)
    # Bo shares two small papers with Ada, Cy one, Di one paper of sixty authors.
    people = sorted(
        (n for n in data["nodes"] if n["type"] == "person" and n["rank"]), key=lambda n: n["rank"]
    )
    assert [n["label"] for n in people] == ["Bo", "Cy", "Di"]
    assert nodes["a:2"]["score"] > nodes["a:3"]["score"] > nodes["a:4"]["score"]
    # Works: the big collaboration's weight is thinned by its sixty authors.
    assert nodes["w:12"]["rank"] == 3
    assert nodes["w:12"]["year"] == 2019
    assert nodes["t:70"]["rank"] == 1
    assert nodes["a:2"]["url"] == "/researchers/2/"
    assert nodes["w:10"]["url"] == "/works/10/"
    assert nodes["t:70"]["url"] == "/topics/70/"
    assert nodes["i:900"]["url"] == "/institutions/900/"

    edges = {(e["source"], e["target"], e["kind"]): e for e in data["edges"]}
    bo = edges[("a:1", "a:2", "coauthor")]
    assert bo["shared"] == 2
    assert bo["weight"] == pytest.approx(1.5)  # 1/(3-1) + 1/(2-1), after Newman
    assert edges[("a:1", "a:4", "coauthor")]["weight"] == pytest.approx(1 / 59, abs=1e-4)
    # The explorer lists the works behind a tie, theirs alone included; the
    # page's slice, which never shows them, does not store them.
    assert "works" not in bo
    explorer_edges = {(e["source"], e["target"]): e for e in explorer_data["edges"]}
    assert [w["id"] for w in explorer_edges[("a:1", "a:2")]["works"]] == [10, 11]
    peers = explorer_edges[("a:2", "a:3")]
    assert [w["id"] for w in peers["works"]] == [99, 10]
    # Per year, newest first: [year, works, strength], so that a year range recounts a tie.
    assert explorer_edges[("a:1", "a:2")]["by_year"] == [[2021, 1, 0.5], [2020, 1, 1.0]]
    assert peers["by_year"] == [[2022, 1, 1.0], [2021, 1, 0.5]]
    assert peers["works"][0]["url"] == "/works/99/"
    assert ("a:1", "w:10", "authored") in edges
    assert ("w:10", "t:70", "about") in edges
    assert ("a:1", "i:900", "affiliated") in edges
    assert edges[("a:1", "i:900", "affiliated")]["weight"] == 2.0  # on w10, and last known
    assert data["meta"] == {
        "algorithm_version": services.ALGORITHM_VERSION,
        "counts": {"person": 4, "work": 3, "topic": 2, "institution": 2},
        "totals": {"person": 4, "work": 3, "topic": 2, "institution": 2},
    }
    assert explorer_data["meta"]["counts"] == data["meta"]["counts"]


def test_caps_keep_a_fixed_number_per_type():
    data, explorer_data = services.slice_compute(big_input())

    assert data["meta"]["counts"] == services.SLICE_CAPS
    assert explorer_data["meta"]["counts"] == services.EXPLORER_CAPS
    assert data["meta"]["totals"] == {"person": 41, "work": 30, "topic": 20, "institution": 16}
    kept = {n["id"] for n in data["nodes"]}
    # Every edge joins two kept nodes, and every kept topic and institution is attached.
    assert all(e["source"] in kept and e["target"] in kept for e in data["edges"])
    attached = {e["source"] for e in data["edges"]} | {e["target"] for e in data["edges"]}
    assert kept <= attached
    # The kept people are the best-ranked ones.
    scores = sorted(
        (n["score"] for n in explorer_data["nodes"] if n["type"] == "person"), reverse=True
    )
    kept_scores = sorted((n["score"] for n in data["nodes"] if n["type"] == "person"), reverse=True)
    assert kept_scores == scores[: services.SLICE_CAPS["person"]]


def test_layout_puts_types_on_their_rings_inside_the_unit_circle():
    data, _ = services.slice_compute(big_input())
    for node in data["nodes"]:
        radius = (node["x"] ** 2 + node["y"] ** 2) ** 0.5
        expected = 0.0 if node.get("centre") else services.SLICE_RINGS[node["type"]]
        assert radius == pytest.approx(expected, abs=1e-3), node
    positions = [(n["x"], n["y"]) for n in data["nodes"]]
    assert len(set(positions)) == len(positions), "two nodes on one spot"


def test_personalized_pagerank_matches_networkx_reference():
    graph = services.slice_graph(small_input())
    mine = services.personalized_pagerank(graph, source="a:1", tolerance=1e-12)
    reference = _pagerank_python(graph, personalization={"a:1": 1.0}, tol=1e-12, max_iter=1000)
    assert sum(mine.values()) == pytest.approx(1.0)
    for node, value in reference.items():
        assert mine[node] == pytest.approx(value, abs=1e-9), node


def test_same_input_gives_byte_identical_output():
    first = canonical(services.slice_compute(big_input()))
    second = canonical(services.slice_compute(big_input()))
    assert first == second


def test_same_input_gives_byte_identical_output_in_another_process():
    """Another process has another string hash seed: no set or dict order may leak out."""
    script = (
        "import django, json; django.setup(); "
        "from graph import services; from tests.graph.test_services import big_input; "
        "print(json.dumps(services.slice_compute(big_input()), sort_keys=True, ensure_ascii=False))"
    )
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "bzpeer.settings"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == canonical(services.slice_compute(big_input()))


def test_input_hash_changes_with_one_authorship():
    base = small_input()
    changed = dataclasses.replace(base, authorships=base.authorships[:-1])
    renamed = dataclasses.replace(base, centre=dataclasses.replace(base.centre, name="Ada L."))
    assert services.input_hash(base) == services.input_hash(small_input())
    assert len({services.input_hash(x) for x in (base, changed, renamed)}) == 3


def test_input_hash_covers_every_field_of_every_row():
    base = small_input()
    variants = [
        dataclasses.replace(base, works_total=4),
        dataclasses.replace(
            base, topics=(dataclasses.replace(base.topics[0], score=0.5), *base.topics[1:])
        ),
        dataclasses.replace(base, ties=(dataclasses.replace(base.ties[0], strength=1.25),)),
        dataclasses.replace(
            base,
            authorships=(
                dataclasses.replace(base.authorships[0], institutions=()),
                *base.authorships[1:],
            ),
        ),
        dataclasses.replace(base, centre=dataclasses.replace(base.centre, institution_id=None)),
    ]
    hashes = {services.input_hash(x) for x in (base, *variants)}
    assert len(hashes) == len(variants) + 1


def test_an_author_without_works_is_a_lone_centre():
    lone = SliceInput(
        centre=CentreRow(id=5, name="Eve", institution_id=None, institution_name=""),
        works=(), authorships=(), topics=(), ties=(), works_total=0,
    )  # fmt: skip
    data, _ = services.slice_compute(lone)
    assert [n["id"] for n in data["nodes"]] == ["a:5"]
    assert data["edges"] == []


# --- the database read ---------------------------------------------------------------


def network(size: int = 3):
    """An author with `size` works, each with two co-authors, topics and institutions."""
    centre = AuthorFactory(display_name="Centre Person")
    institution = InstitutionFactory()
    topic = TopicFactory()
    others = [AuthorFactory() for _ in range(size + 1)]
    for i in range(size):
        work = WorkFactory(publication_year=2000 + i)
        mine = AuthorshipFactory(work=work, author=centre, position=0)
        mine.institutions.add(institution)
        AuthorshipFactory(work=work, author=others[i], position=1)
        AuthorshipFactory(work=work, author=others[i + 1], position=2)
        WorkTopic.objects.create(work=work, topic=topic, score=0.7)
    return centre, others


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 40])
def test_slice_inputs_reads_in_seven_queries_whatever_the_size(size, django_assert_num_queries):
    centre, others = network(size)
    # A tie outside the centre's works (between two of the strongest
    # co-authors): its title and team are read too.
    elsewhere = WorkFactory(title="Without the centre")
    AuthorshipFactory(work=elsewhere, author=others[1], position=0)
    AuthorshipFactory(work=elsewhere, author=others[2], position=1)
    with django_assert_num_queries(7):
        inputs = selectors.slice_inputs(author_id=centre.pk)
    assert inputs is not None
    assert len(inputs.works) == size
    assert len(inputs.authorships) == 3 * size
    assert len(inputs.topics) == size


@pytest.mark.django_db
def test_a_chunk_reads_in_seven_queries_and_gives_each_author_what_a_read_alone_gives(
    django_assert_max_num_queries,
):
    centres = []
    for size in (1, 3, 12):
        centre, others = network(size)
        centres.append(centre.pk)
        centres.extend(o.pk for o in others)
    elsewhere = WorkFactory(title="Without the centre")
    AuthorshipFactory(work=elsewhere, author_id=centres[-1], position=0)
    AuthorshipFactory(work=elsewhere, author_id=centres[-2], position=1)
    lonely = AuthorFactory()
    ids = [*centres, lonely.pk, 987654]

    with django_assert_max_num_queries(7):
        chunk = selectors.slices_inputs(author_ids=ids)

    assert sorted(chunk) == sorted([*centres, lonely.pk])
    for pk in chunk:
        alone = selectors.slice_inputs(author_id=pk)
        assert chunk[pk] == alone
        assert services.input_hash(chunk[pk]) == services.input_hash(alone)
    assert chunk[lonely.pk].works == ()


@pytest.mark.django_db
def test_slice_inputs_of_an_unknown_author_is_none():
    assert selectors.slice_inputs(author_id=987654) is None


@pytest.mark.django_db
def test_disputed_authorships_are_left_out():
    centre, others = network(2)
    disputed_work = WorkFactory(title="Not mine")
    AuthorshipFactory(work=disputed_work, author=centre, status=Authorship.Status.DISPUTED)
    stranger = AuthorFactory()
    AuthorshipFactory(work=disputed_work, author=stranger, position=1)
    # A co-author who disputes being on a shared work is not a co-author through it.
    shared = Authorship.objects.get(author=others[0]).work
    Authorship.objects.filter(work=shared, author=others[0]).update(
        status=Authorship.Status.DISPUTED
    )

    inputs = selectors.slice_inputs(author_id=centre.pk)
    data, _ = services.slice_compute(inputs)
    ids = {n["id"] for n in data["nodes"]}
    assert f"w:{disputed_work.pk}" not in ids
    assert f"a:{stranger.pk}" not in ids
    assert f"a:{others[0].pk}" not in ids
    assert {w.id: w.team_size for w in inputs.works}[shared.pk] == 2


@pytest.mark.django_db
def test_a_huge_team_brings_fifty_people_but_counts_them_all():
    centre = AuthorFactory()
    work = WorkFactory()
    for position in range(80):
        AuthorshipFactory(work=work, author=AuthorFactory(), position=position)
    AuthorshipFactory(work=work, author=centre, position=80)

    inputs = selectors.slice_inputs(author_id=centre.pk)
    assert inputs.works[0].team_size == 81
    assert len(inputs.authorships) == selectors.MAX_AUTHORS_PER_WORK + 1
    assert centre.pk in {row.author_id for row in inputs.authorships}


@pytest.mark.django_db
def test_input_hash_from_the_database_changes_with_one_authorship():
    centre, _ = network(2)
    before = services.input_hash(selectors.slice_inputs(author_id=centre.pk))
    assert before == services.input_hash(selectors.slice_inputs(author_id=centre.pk))
    work = Authorship.objects.filter(author=centre).first().work
    AuthorshipFactory(work=work, author=AuthorFactory(), position=5)
    assert services.input_hash(selectors.slice_inputs(author_id=centre.pk)) != before


@pytest.mark.django_db
def test_ties_between_coauthors_include_works_without_the_centre():
    centre, others = network(2)
    elsewhere = WorkFactory(title="Without the centre", publication_year=2030)
    AuthorshipFactory(work=elsewhere, author=others[0], position=0)
    AuthorshipFactory(work=elsewhere, author=others[2], position=1)

    inputs = selectors.slice_inputs(author_id=centre.pk)
    ties = {(t.a, t.b): t for t in inputs.ties}
    tie = ties[tuple(sorted((others[0].pk, others[2].pk)))]
    assert tie.shared == 1
    assert tie.works[0][1] == "Without the centre"
    assert nx.is_connected(services.slice_graph(inputs))
