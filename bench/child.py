"""One measurement per process: `python -m bench.child TASK ARGS`, a JSON line on stdout.

Run by bench.runner with the run's environment (bench.settings, the bench
database, DEBUG off). Tasks:

    import PATH             import_openalex on a file, timed
    import-source SOURCE PATH...  import_orcid, import_crossref or import_arxiv on files, timed
    copy PATH               the physical floor: the same rows by COPY into scratch tables
    events SHARE            the import's feed events had SHARE of the authors followers
    slices-queue CORPUS     queue every slice of a corpus for the Celery workers
    naive CORPUS ...        the naive pipeline (networkx ego graphs), one process's share
    pages ...               the page authors' slices, the feed's users, query counts
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import django

from bench.config import GRQC_INDEX_OFFSET
from works.demo.synthetic import synthetic_openalex_id

GRQC_FIRST_ID = synthetic_openalex_id("A", GRQC_INDEX_OFFSET)
# Which authors belong to which corpus, as a condition on works_author (alias a).
# (The bench database holds nothing else.)
CORPUS_FILTER = {
    "generated": f"a.openalex_id < '{GRQC_FIRST_ID}'",
    "grqc": f"a.openalex_id >= '{GRQC_FIRST_ID}'",
}


def _emit(result: dict[str, Any], *, memory: bool = True) -> None:
    if memory:
        result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)


def _corpus_author_ids(corpus: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.id FROM works_author a WHERE {CORPUS_FILTER[corpus]} ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


# ---------------------------------------------------------------- import


def task_import(
    path: str, *, source: str = "openalex", paths: list[str] | None = None
) -> dict[str, Any]:
    """import_SOURCE on path (or paths), timed; then the changed authors' metrics."""
    import importlib

    from django.core.management import call_command

    module = importlib.import_module(f"works.management.commands.import_{source}")
    command = module.Command(stdout=io.StringIO(), stderr=io.StringIO())
    arguments = [path] if paths is None else paths
    if source == "openalex":
        arguments.append("--no-progress")
    started = time.perf_counter()
    call_command(command, *arguments)
    seconds = time.perf_counter() - started
    stats = command.stats
    assert stats is not None
    # What the workers do after an import (it only queues them): every changed
    # author's metrics recounted, here, in one process.
    from works import metrics

    started = time.perf_counter()
    metrics.author_metrics_refresh(author_ids=stats.changed_author_ids)
    metrics_seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "metrics_seconds": metrics_seconds,
        "created": stats.created,
        "updated": stats.updated,
        "unchanged": stats.unchanged,
        "skipped": stats.skipped,
        "records": stats.records,
        "changed_authors": len(stats.changed_author_ids),
        "problems": len(stats.problems) + stats.problems_not_listed,
        "first_problems": [str(p) for p in stats.problems[:3]],
    }


def task_events(share: float, batch: int = 500) -> dict[str, Any]:
    """What the feed's events would add to the first import if SHARE of the authors had
    followers: the import's own statement (profiles.services.events_record_new_works)
    on every work, in the import's batches, one transaction each; then all undone.

    The import itself writes none in the bench: nobody follows anyone yet.
    """
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from profiles.models import AuthorEvent, CoauthorKnown, Follow
    from profiles.services import coauthors_remember, events_record_new_works

    author_ids = _corpus_author_ids("generated")
    followed = random.Random(7).sample(author_ids, int(len(author_ids) * share))
    user = get_user_model().objects.create_user(
        username="bench-events", email="bench-events@bench.example"
    )
    since = timezone.now() - timedelta(days=1)
    Follow.objects.bulk_create([Follow(user=user, author_id=pk) for pk in followed])
    Follow.objects.filter(user=user).update(created_at=since)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_follow")
        cursor.execute("SELECT id FROM works_work ORDER BY id")
        work_ids = [row[0] for row in cursor.fetchall()]
    started = time.perf_counter()
    for start in range(0, len(work_ids), batch):
        with transaction.atomic():
            events_record_new_works(work_ids=work_ids[start : start + batch])
    seconds = time.perf_counter() - started
    # Followed before their works came, every pair was new: the most events.
    rows = dict(AuthorEvent.objects.values_list("kind").annotate(n=Count("id")).order_by())
    # What their first follows would cost now that the works are there.
    started = time.perf_counter()
    coauthors_remember(author_ids=followed)
    remember_s = time.perf_counter() - started
    known = CoauthorKnown.objects.count()
    AuthorEvent.objects.filter(kind__in=rows).delete()
    CoauthorKnown.objects.all().delete()
    user.delete()
    return {
        "share": share,
        "followed_authors": len(followed),
        "remember_s": remember_s,
        "coauthors_known": known,
        "works": len(work_ids),
        "batch": batch,
        "seconds": seconds,
        "rows": rows,
    }


# ---------------------------------------------------------------- the COPY floor

_FLOOR_TABLES = {
    "bench_floor_work": (
        "openalex_id text, doi text, title text, abstract text, type text, "
        "publication_year int, publication_date date, source text, language text, "
        "cited_by_count int, "
        # The research record's columns (works 0008), which the importer writes too.
        "counts_by_year jsonb, referenced_works text[], referenced_works_count int, "
        "is_retracted boolean, is_oa boolean, oa_status text, oa_url text, pdf_url text, "
        "biblio jsonb, other_ids jsonb"
    ),
    "bench_floor_authorship": (
        "work text, author text, position int, raw_author_name text, "
        "is_corresponding boolean, institutions text[]"
    ),
    "bench_floor_author": "openalex_id text, display_name text, orcid text",
    "bench_floor_worktopic": "work text, topic text, score float8, is_primary boolean",
    "bench_floor_institution": "openalex_id text, ror text, display_name text, country_code text",
    "bench_floor_topic": "openalex_id text, display_name text, subfield text, field text",
    "bench_floor_source": "openalex_id text, display_name text, type text",
}


def _short(url: str | None) -> str:
    return url.rsplit("/", 1)[-1] if url else ""


def _research_record(work: dict[str, Any]) -> tuple[Any, ...]:
    """The research record's values of a work, as the floor COPYs them (no checks)."""
    open_access = work.get("open_access") or {}
    best = work.get("best_oa_location") or {}
    ids = {k: str(v) for k, v in (work.get("ids") or {}).items() if k not in ("openalex", "doi")}
    return (
        json.dumps(
            {str(c["year"]): c.get("cited_by_count") or 0 for c in work.get("counts_by_year") or []}
        ),
        [_short(r) for r in work.get("referenced_works") or []],
        work.get("referenced_works_count") or 0,
        bool(work.get("is_retracted")),
        bool(open_access.get("is_oa")),
        open_access.get("oa_status") or "",
        open_access.get("oa_url") or "",
        best.get("pdf_url") or "",
        json.dumps({k: v for k, v in (work.get("biblio") or {}).items() if v}),
        json.dumps(ids),
    )


def _abstract(index: dict[str, list[int]] | None) -> str:
    if not index:
        return ""
    words: dict[int, str] = {}
    for word, positions in index.items():
        for position in positions:
            words[position] = word
    return " ".join(words[i] for i in sorted(words))


def task_copy(path: str, batch: int = 5000) -> dict[str, Any]:
    """Read and parse the file, pull out the rows the importer writes, COPY them in.

    The floor any importer of this file has to pay: the same JSON parsing,
    the same rows (works, authorships with their institutions, distinct
    authors, institutions, topics and sources, work topics), written by
    psycopg's COPY into plain logged tables without indexes, one transaction.
    """
    import psycopg

    tables: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _FLOOR_TABLES}
    seen: dict[str, set[str]] = {
        "bench_floor_author": set(),
        "bench_floor_institution": set(),
        "bench_floor_topic": set(),
        "bench_floor_source": set(),
    }
    parse_s = copy_s = 0.0
    works = 0
    started = time.perf_counter()
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        with conn.cursor() as cursor:
            for name, columns in _FLOOR_TABLES.items():
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
                cursor.execute(f"CREATE TABLE {name} ({columns})")
        conn.commit()

        def flush() -> float:
            clock = time.perf_counter()
            with conn.cursor() as cursor:
                for name, rows in tables.items():
                    if rows:
                        with cursor.copy(f"COPY {name} FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
                        rows.clear()
            return time.perf_counter() - clock

        def once(kind: str, key: str) -> bool:
            if key in seen[kind]:
                return False
            seen[kind].add(key)
            return True

        clock = time.perf_counter()
        with open(path, "rb") as lines:
            for line in lines:
                work = json.loads(line)
                wid = _short(work["id"])
                location = work.get("primary_location") or {}
                source = location.get("source") or {}
                sid = _short(source.get("id"))
                tables["bench_floor_work"].append(
                    (
                        wid,
                        (work.get("doi") or "").removeprefix("https://doi.org/").lower(),
                        work.get("title") or "",
                        _abstract(work.get("abstract_inverted_index")),
                        work.get("type") or "",
                        work.get("publication_year"),
                        work.get("publication_date"),
                        sid,
                        work.get("language") or "",
                        work.get("cited_by_count") or 0,
                        *_research_record(work),
                    )
                )
                if sid and once("bench_floor_source", sid):
                    tables["bench_floor_source"].append(
                        (sid, source.get("display_name") or "", source.get("type") or "")
                    )
                for position, authorship in enumerate(work.get("authorships") or []):
                    author = authorship.get("author") or {}
                    aid = _short(author.get("id"))
                    institutions = []
                    for institution in authorship.get("institutions") or []:
                        iid = _short(institution.get("id"))
                        institutions.append(iid)
                        if once("bench_floor_institution", iid):
                            tables["bench_floor_institution"].append(
                                (
                                    iid,
                                    _short(institution.get("ror")),
                                    institution.get("display_name") or "",
                                    institution.get("country_code") or "",
                                )
                            )
                    tables["bench_floor_authorship"].append(
                        (
                            wid,
                            aid,
                            position,
                            authorship.get("raw_author_name") or "",
                            bool(authorship.get("is_corresponding")),
                            institutions,
                        )
                    )
                    if once("bench_floor_author", aid):
                        tables["bench_floor_author"].append(
                            (aid, author.get("display_name") or "", _short(author.get("orcid")))
                        )
                for topic in work.get("topics") or []:
                    tid = _short(topic.get("id"))
                    tables["bench_floor_worktopic"].append(
                        (wid, tid, topic.get("score") or 0.0, False)
                    )
                    if once("bench_floor_topic", tid):
                        tables["bench_floor_topic"].append(
                            (
                                tid,
                                topic.get("display_name") or "",
                                (topic.get("subfield") or {}).get("display_name") or "",
                                (topic.get("field") or {}).get("display_name") or "",
                            )
                        )
                works += 1
                if works % batch == 0:
                    parse_s += time.perf_counter() - clock
                    copy_s += flush()
                    clock = time.perf_counter()
        parse_s += time.perf_counter() - clock
        copy_s += flush()
        clock = time.perf_counter()
        conn.commit()
        copy_s += time.perf_counter() - clock
        seconds = time.perf_counter() - started
        with conn.cursor() as cursor:
            rows = {}
            for name in _FLOOR_TABLES:
                cursor.execute(f"SELECT count(*) FROM {name}")
                row = cursor.fetchone()
                rows[name.removeprefix("bench_floor_")] = row[0] if row else 0
                cursor.execute(f"DROP TABLE {name}")
        conn.commit()
    return {"seconds": seconds, "parse_s": parse_s, "copy_s": copy_s, "works": works, "rows": rows}


# ---------------------------------------------------------------- slices


QUEUE_CALL = 2000


def task_slices_queue(corpus: str, *, seed: int) -> dict[str, Any]:
    """Queue every slice of a corpus as imports do: slices_queue calls of many authors.

    The chunks are a seeded shuffle of the corpus: the queue is worked in
    order, and authors by id run from the oldest, most prolific ones to the
    newest, so a run stopped early is still a fair sample.
    """
    from graph import services

    ids = _corpus_author_ids(corpus)
    random.Random(seed).shuffle(ids)
    # An import announces its changed authors once, at its end; in calls of a
    # few thousand the workers start on the first tasks while the rest queue.
    chunk = QUEUE_CALL
    t0 = time.time()
    started = time.perf_counter()
    queued = 0
    for start in range(0, len(ids), chunk):
        queued += services.slices_queue(author_ids=ids[start : start + chunk])
    return {
        "t0": t0,
        "authors": len(ids),
        "queued": queued,
        "queue_s": time.perf_counter() - started,
    }


_PAIRS_SQL = """
WITH corpus AS (SELECT a.id FROM works_author a WHERE {corpus}),
team AS (
    SELECT work_id, count(*) AS size FROM works_authorship
    WHERE status <> 'disputed' GROUP BY work_id
)
SELECT x.author_id, y.author_id, count(*), sum(1.0 / greatest(team.size - 1, 1))::float8
FROM works_authorship x
JOIN works_authorship y ON y.work_id = x.work_id AND x.author_id < y.author_id
JOIN team ON team.work_id = x.work_id
WHERE x.author_id IN (SELECT id FROM corpus)
  AND x.status <> 'disputed' AND y.status <> 'disputed'
GROUP BY 1, 2
"""

_NAIVE_STORE_SQL = """
INSERT INTO bench_naive_slice (author_id, data, explorer_data, computed_at)
VALUES (%s, %s::jsonb, %s::jsonb, now())
ON CONFLICT (author_id) DO UPDATE
SET data = EXCLUDED.data, explorer_data = EXCLUDED.explorer_data,
    computed_at = EXCLUDED.computed_at
"""


def task_naive(
    corpus: str, *, shard: int, shards: int, budget: float, sample: int, seed: int
) -> dict[str, Any]:
    """The naive pipeline: the whole co-author graph in networkx once, then per author
    nx.ego_graph(radius=2), the same personalized PageRank, the same cut and layout
    (graph.services.slice_serialise) and a row per author, as the real store writes.

    The authors are a seeded shuffle of the corpus, split between the processes;
    with a time budget each process stops after it, so what was done is a
    uniform random sample.
    """
    import networkx as nx
    from django.db import connection

    from graph.services import (
        EXPLORER_CAPS,
        SLICE_CAPS,
        node_id,
        personalized_pagerank,
        slice_serialise,
    )

    started = time.perf_counter()
    graph = nx.Graph()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.display_name FROM works_author a WHERE {CORPUS_FILTER[corpus]}"
        )
        for pk, name in cursor.fetchall():
            graph.add_node(node_id("person", pk), type="person", label=name, pk=pk)
        cursor.execute(_PAIRS_SQL.format(corpus=CORPUS_FILTER[corpus]))
        for a, b, shared, strength in cursor.fetchall():
            graph.add_edge(
                node_id("person", a),
                node_id("person", b),
                kind="coauthor",
                weight=strength,
                shared=shared,
                works=[],
                dated=[],
            )
    load_s = time.perf_counter() - started

    authors = sorted(graph.nodes, key=lambda n: int(n.split(":")[1]))
    random.Random(seed).shuffle(authors)
    if sample:
        authors = authors[:sample]
    mine = authors[shard::shards]
    phases = {"ego_s": 0.0, "rank_s": 0.0, "layout_s": 0.0, "store_s": 0.0}
    ego_nodes: list[int] = []
    done = 0
    begun = time.perf_counter()
    with connection.cursor() as cursor:
        for centre in mine:
            clock = time.perf_counter()
            ego = nx.ego_graph(graph, centre, radius=2)
            now = time.perf_counter()
            phases["ego_s"] += now - clock
            scores = personalized_pagerank(ego, source=centre)
            clock, now = now, time.perf_counter()
            phases["rank_s"] += now - clock
            totals = {"person": ego.number_of_nodes(), "work": 0, "topic": 0, "institution": 0}
            data = slice_serialise(
                ego, scores, centre=centre, caps=SLICE_CAPS, totals=totals, edge_works=False
            )
            explorer = slice_serialise(
                ego, scores, centre=centre, caps=EXPLORER_CAPS, totals=totals
            )
            clock, now = now, time.perf_counter()
            phases["layout_s"] += now - clock
            cursor.execute(
                _NAIVE_STORE_SQL,
                [graph.nodes[centre]["pk"], json.dumps(data), json.dumps(explorer)],
            )
            phases["store_s"] += time.perf_counter() - now
            ego_nodes.append(ego.number_of_nodes())
            done += 1
            if budget and time.perf_counter() - begun > budget:
                break
    return {
        "load_s": load_s,
        "build_s": time.perf_counter() - begun,
        "done": done,
        "planned": len(mine),
        "population": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "ego_nodes_median": statistics.median(ego_nodes) if ego_nodes else 0,
        "ego_nodes_max": max(ego_nodes, default=0),
        **phases,
    }


# ---------------------------------------------------------------- pages and queries


@contextlib.contextmanager
def _captured() -> Iterator[Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        yield captured


def _measure(
    client: Any, url: str, headers: dict[str, str], runs: int, *, new_csrf: bool = False
) -> dict[str, Any]:
    """Query count of one request (after a warm-up one) and the in-process time split.

    `new_csrf`: every request comes with a new CSRF secret, as after a log-in, so a
    page kept per visitor (the following feed) is drawn each time.
    """
    from django.conf import settings

    def fresh() -> None:
        if new_csrf:
            client.cookies.pop(settings.CSRF_COOKIE_NAME, None)

    fresh()
    client.get(url, headers=headers)
    totals, sql = [], []
    count = status = size = 0
    slowest: tuple[float, str] = (0.0, "")
    for _ in range(runs):
        fresh()
        with _captured() as captured:
            clock = time.perf_counter()
            response = client.get(url, headers=headers)
            totals.append(time.perf_counter() - clock)
        queries = captured.captured_queries
        count, status, size = len(queries), response.status_code, len(response.content)
        sql.append(sum(float(q["time"]) for q in queries))
        for q in queries:
            if float(q["time"]) > slowest[0]:
                slowest = (float(q["time"]), " ".join(q["sql"].split())[:300])
    return {
        "status": status,
        "bytes": size,
        "queries": count,
        "total_ms": round(statistics.median(totals) * 1000, 2),
        "sql_ms": round(statistics.median(sql) * 1000, 2),
        "slowest_sql_ms": round(slowest[0] * 1000, 2),
        "slowest_sql": slowest[1],
    }


def task_pages(spec: dict[str, Any]) -> dict[str, Any]:
    """Prepare what the page load needs and count each page's queries, small and large."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse
    from django.utils.crypto import get_random_string

    from profiles.models import Follow
    from works.models import Author

    by_openalex = dict(
        Author.objects.filter(
            openalex_id__in=[spec["large"], spec["small"], *spec["followed"]]
        ).values_list("openalex_id", "id")
    )
    large, small = by_openalex[spec["large"]], by_openalex[spec["small"]]
    large_author = Author.objects.get(pk=large)
    small_author = Author.objects.get(pk=small)

    slices: dict[str, Any] = {}
    try:
        from graph import services
        from graph.models import GraphSlice

        ready = set(
            GraphSlice.objects.filter(
                pk__in=[large, small], status=GraphSlice.Status.READY
            ).values_list("pk", flat=True)
        )
        for pk in sorted({large, small} - ready):
            services.slices_mark_queued(author_ids=[pk])
            slices[str(pk)] = services.slice_build(author_id=pk)
    except ImportError as error:
        slices["error"] = str(error)

    User = get_user_model()
    followed = [by_openalex[key] for key in spec["followed"]]
    users = {}
    for name, follows in (("small", [small]), ("large", followed)):
        user = User.objects.create_user(
            username=f"bench-{name}", email=f"bench-{name}@bench.example"
        )
        Follow.objects.bulk_create([Follow(user=user, author_id=pk) for pk in follows])
        users[name] = user
    feed_events = _feed_events(int(spec.get("feed_events", 0)))
    conversation = _conversation(users["large"], int(spec.get("messages", 200)))
    loader = Client()
    loader.force_login(users["large"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={loader.cookies[settings.SESSION_COOKIE_NAME].value}"
    # A CSRF secret of the load generator's own: the cookie and the header agree.
    csrf = get_random_string(32)

    def url(name: str, *args: int | str, query: str = "") -> str | None:
        try:
            path = reverse(name, args=args)
        except NoReverseMatch:
            return None
        return f"{path}?{urlencode({'q': query})}" if query else path

    feed_kinds = (
        f"{feed}?kind=new_coauthor&kind=claim_verified"
        if (feed := url("profiles:following"))
        else None
    )
    # The works list sorted by citations and filtered to one type (#14).
    sorted_query = "?sort=cited&type=article"
    pages: dict[str, dict[str, Any]] = {
        "profile": {
            "small": url("profiles:researcher_detail", small),
            "large": url("profiles:researcher_detail", large),
        },
        # The same pages for a signed-in visitor: the shared page with their parts.
        "profile-signed-in": {
            "small": url("profiles:researcher_detail", small),
            "large": url("profiles:researcher_detail", large),
        },
        "profile-sorted": {
            "small": f"{url('profiles:researcher_detail', small)}{sorted_query}",
            "large": f"{url('profiles:researcher_detail', large)}{sorted_query}",
        },
        "profile-sorted-signed-in": {
            "small": f"{url('profiles:researcher_detail', small)}{sorted_query}",
            "large": f"{url('profiles:researcher_detail', large)}{sorted_query}",
        },
        # The whole record as BibTeX (the large author has about 500 works).
        "export": {
            "small": url("profiles:researcher_export", small, "bib"),
            "large": url("profiles:researcher_export", large, "bib"),
        },
        "fragment": {
            "small": url("graph:slice", small),
            "large": url("graph:slice", large),
            "headers": {"HX-Request": "true"},
        },
        # A full name, as typed into the search box; and a family name many share.
        "search": {
            "small": url("works:researcher_search", query=small_author.display_name),
            "large": url("works:researcher_search", query=large_author.display_name),
            "broad": url("works:researcher_search", query=large_author.display_name.split()[-1]),
        },
        "following": {"small": url("profiles:following"), "large": url("profiles:following")},
        # The same feed drawn afresh each time (a new log-in's CSRF secret): what a
        # first visit, or one after a new event, costs.
        "feed-drawn": {"small": url("profiles:following"), "large": url("profiles:following")},
        "feed-kinds": {"small": feed_kinds, "large": feed_kinds},
        # A conversation of `messages` messages, and its poll when nothing is new
        # (what an open tab asks every few seconds): 204, one statement.
        "conversation": {"small": conversation["page"], "large": conversation["page"]},
        "poll": {
            "small": conversation["poll"],
            "large": conversation["poll"],
            "headers": {"HX-Request": "true"},
        },
    }
    queries: dict[str, Any] = {}
    runs = int(spec.get("runs", 5))
    for page, variants in pages.items():
        headers = variants.get("headers", {})
        queries[page] = {}
        for size in ("small", "large", "broad"):
            target = variants.get(size)
            if not target:
                continue
            client = Client()
            if page in ("profile-signed-in", "profile-sorted-signed-in"):
                client.force_login(users["large"])
            elif page in ("following", "feed-kinds", "feed-drawn"):
                client.force_login(users["small" if size == "small" else "large"])
            elif page in ("conversation", "poll"):  # one conversation, its member's
                client.force_login(users["large"])
            queries[page][size] = _measure(
                client, target, headers, runs, new_csrf=page == "feed-drawn"
            )
    return {
        "authors": {
            "large": {"id": large, "works": large_author.works.count()},
            "small": {"id": small, "works": small_author.works.count()},
        },
        "followed": len(followed),
        "feed_events": feed_events,
        "slices_built_here": slices,
        "urls": {
            **{
                page: {"path": variants["large"], "headers": variants.get("headers", {})}
                for page, variants in pages.items()
            },
            # Signed-in visitors on the smallest record too: every author size.
            "profile-signed-in-small": {"path": pages["profile-signed-in"]["small"]},
        },
        "cookie": cookie,
        "csrf": {"cookie": f"{settings.CSRF_COOKIE_NAME}={csrf}", "token": csrf},
        "follow": url("profiles:follow", small),
        "queries": queries,
    }


def _feed_events(n: int) -> dict[str, Any]:
    """n events over the generated corpus's authors, every kind, the newest a minute ago
    and one every 2 s before it (23 days for a million); the feed's follows began
    30 days ago, so each followed author's events are all in their feed."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from profiles.models import Follow

    started = time.perf_counter()
    Follow.objects.update(created_at=timezone.now() - timedelta(days=30))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH a AS (
                SELECT array_agg(a.id ORDER BY a.id) AS ids, count(*) AS n
                FROM works_author a WHERE {CORPUS_FILTER["generated"]}
            ),
            w AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM works_work),
            k AS (SELECT ARRAY['new_work', 'new_work', 'new_coauthor', 'affiliation_changed',
                               'claim_verified', 'profile_updated'] AS kinds)
            INSERT INTO profiles_authorevent
                (author_id, kind, work_id, other_author_id, created_at, detail)
            -- Spread so that the unique (author, work) and (author, co-author)
            -- pairs seldom meet: a million rows are about a million events.
            SELECT a.ids[1 + (g + g / w.span) %% a.n], e.kind,
                CASE WHEN e.kind IN ('new_work', 'new_coauthor') THEN w.lo + g %% w.span END,
                CASE WHEN e.kind = 'new_coauthor'
                     THEN a.ids[1 + (g::bigint * 31 + (g / a.n) * 7 + 1) %% a.n] END,
                now() - interval '1 minute' - g * interval '2 seconds',
                CASE e.kind WHEN 'affiliation_changed'
                                THEN '{{"from": "Old College", "to": "New Institute"}}'::jsonb
                            WHEN 'profile_updated' THEN '{{"fields": ["summary"]}}'::jsonb
                            ELSE '{{}}'::jsonb END
            FROM generate_series(1, %s) g, a, w, k,
                LATERAL (SELECT k.kinds[1 + (g / a.n) %% 6] AS kind) e
            ON CONFLICT DO NOTHING
            """,
            [n],
        )
        written = cursor.rowcount
        cursor.execute("VACUUM ANALYZE profiles_authorevent")
        cursor.execute(
            "SELECT count(*) FROM profiles_authorevent e JOIN profiles_follow f"
            " ON f.author_id = e.author_id AND e.created_at >= f.created_at"
            " JOIN auth_user u ON u.id = f.user_id AND u.username = 'bench-large'"
        )
        (in_feed,) = cursor.fetchone()
    return {"written": written, "in_large_feed": in_feed, "seconds": time.perf_counter() - started}


def _conversation(user: Any, messages: int) -> dict[str, str]:
    """An accepted invitation's conversation between `user` and a peer, `messages` long."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django.utils import timezone

    from profiles.collaboration.models import (
        Conversation,
        ConversationMember,
        Invitation,
        Message,
    )
    from works.models import Author

    peer = get_user_model().objects.create_user(
        username="bench-peer", email="bench-peer@bench.example"
    )
    invitation = Invitation.objects.create(
        sender=peer,
        recipient=user,
        author=Author.objects.order_by("id")[0],
        subject="Working together",
        body="Our works meet.",
        state=Invitation.State.ACCEPTED,
        expires_at=timezone.now() + timedelta(days=30),
        decided_at=timezone.now(),
    )
    conversation = Conversation.objects.create(invitation=invitation)
    Message.objects.bulk_create(
        Message(conversation=conversation, sender=(peer, user)[i % 2], body=f"Message {i} " * 8)
        for i in range(messages)
    )
    last = conversation.messages.order_by("-id").first()
    last_id = last.pk if last else 0
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_id=last_id, last_message_at=timezone.now()
    )
    ConversationMember.objects.bulk_create(
        ConversationMember(conversation=conversation, user=member, last_read_message_id=last_id)
        for member in (peer, user)
    )
    page = reverse("collaboration:conversation", args=[conversation.pk])
    poll = reverse("collaboration:conversation_messages", args=[conversation.pk])
    return {"page": page, "poll": f"{poll}?after={last_id}&read={last_id}"}


def task_probe() -> dict[str, Any]:
    """Which of the parts being measured exist yet (others build them at the same time)."""
    import importlib

    from django.urls import NoReverseMatch, reverse

    found: dict[str, Any] = {}
    for module, names in (
        ("graph.services", ("slices_queue", "slice_build", "personalized_pagerank")),
        ("graph.tasks", ("graph_slices_build_task",)),
        ("works.importers", ("import_paths",)),
        ("works.management.commands.import_openalex", ("Command",)),
        ("works.management.commands.import_orcid", ("Command",)),
        ("works.management.commands.import_crossref", ("Command",)),
        ("works.management.commands.import_arxiv", ("Command",)),
    ):
        try:
            loaded = importlib.import_module(module)
        except ImportError as error:
            found[module] = f"cannot import: {error}"
            continue
        missing = [name for name in names if not hasattr(loaded, name)]
        found[module] = f"missing {', '.join(missing)}" if missing else "ok"
    for name, args in (
        ("profiles:researcher_detail", [1]),
        ("graph:slice", [1]),
        ("works:researcher_search", []),
        ("profiles:following", []),
    ):
        try:
            reverse(name, args=args)
            found[name] = "ok"
        except NoReverseMatch:
            found[name] = "not in the project's URLs (bzpeer/urls.py)"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    sub = parser.add_subparsers(dest="task", required=True)
    sub.add_parser("probe")
    sub.add_parser("import").add_argument("path")
    source = sub.add_parser("import-source")
    source.add_argument("source", choices=["orcid", "crossref", "arxiv"])
    source.add_argument("paths", nargs="+")
    sub.add_parser("copy").add_argument("path")
    sub.add_parser("events").add_argument("share", type=float)
    queue = sub.add_parser("slices-queue")
    queue.add_argument("corpus", choices=sorted(CORPUS_FILTER))
    queue.add_argument("--seed", type=int, default=0)
    naive = sub.add_parser("naive")
    naive.add_argument("corpus", choices=sorted(CORPUS_FILTER))
    naive.add_argument("--shard", type=int, default=0)
    naive.add_argument("--shards", type=int, default=1)
    naive.add_argument("--budget", type=float, default=0.0)
    naive.add_argument("--sample", type=int, default=0)
    naive.add_argument("--seed", type=int, default=0)
    sub.add_parser("pages").add_argument("spec", help="JSON")
    options = parser.parse_args(argv)

    django.setup()
    if options.task == "probe":
        result = task_probe()
    elif options.task == "import":
        result = task_import(options.path)
    elif options.task == "import-source":
        result = task_import("", source=options.source, paths=options.paths)
    elif options.task == "copy":
        result = task_copy(options.path)
    elif options.task == "events":
        result = task_events(options.share)
    elif options.task == "slices-queue":
        result = task_slices_queue(options.corpus, seed=options.seed)
    elif options.task == "naive":
        result = task_naive(
            options.corpus,
            shard=options.shard,
            shards=options.shards,
            budget=options.budget,
            sample=options.sample,
            seed=options.seed,
        )
    else:
        result = task_pages(json.loads(options.spec))
    _emit(result, memory=options.task != "probe")
    return 0


if __name__ == "__main__":
    sys.exit(main())
