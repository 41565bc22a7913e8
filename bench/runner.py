"""The run: sections in order, each measured in processes of its own, then the report.

Sections: corpus, import, slices, queries, pages. A section that fails or
whose subject does not exist yet is recorded as such ("not available:
<reason>") and the run goes on, so one broken part never hides the others.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import report
from bench.config import (
    BASE_DIR,
    EVENTS_FOLLOWED_SHARE,
    FEED_EVENTS,
    GRQC_PATH,
    GUNICORN_THREADS,
    RESULTS_DIR,
    SCALES,
    SEED,
    WORKERS,
    Scale,
)
from bench.corpus import Corpus, generated_corpus, grqc_corpus
from bench.infra import (
    PYTHON,
    ChildError,
    Stopwatch,
    broker,
    broker_flush,
    child_env,
    children_of,
    database_drop,
    database_recreate,
    free_port,
    log,
    machine_cpu,
    memory_kib,
    process_cpu,
    run_child,
    run_quiet,
    server_version,
    stop_process,
    wait_for_port,
    wait_until_idle,
)
from bench.load import percentile
from bench.sources import GENERATORS

SLICE_POLL_S = 1.0
# The rate is trusted for an early stop after this long (or a third of the budget).
SLICE_OBSERVE_S = 60.0
# ... when finishing would take this many times the budget: the target has failed anyway.
EARLY_STOP = 1.2


class NotAvailable(Exception):
    """The part a section measures is not there (yet): reported, not faked."""


class Run:
    def __init__(self, scale: Scale, *, base_url: str, workdir: Path, threads: int) -> None:
        self.scale = scale
        self.base_url = base_url
        self.workdir = workdir
        self.threads = threads
        self.clock = Stopwatch()
        self.log_path = workdir / "children.log"
        self.db_url = ""
        self.redis_url = ""
        self.env: dict[str, str] = {}
        self.probe: dict[str, Any] = {}
        self.corpora: dict[str, Corpus] = {}
        self.results: dict[str, Any] = {
            "scale": scale.name,
            "command": f"make bench SCALE={scale.name}",
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    # -- plumbing

    def child(self, *args: str, timeout: float | None = None) -> dict[str, Any]:
        return run_child(list(args), env=self.env, log_path=self.log_path, timeout=timeout)

    def sql(self, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def section(self, name: str, body: Callable[[], dict[str, Any]]) -> None:
        clock = Stopwatch()
        log(f"{name} ... (run at {self.clock.elapsed:.0f}s)")
        try:
            result = body()
        except NotAvailable as reason:
            result = {"not_available": str(reason)}
        except Exception as error:
            traceback.print_exc()
            result = {"error": f"{type(error).__name__}: {error}"}
        result["section_s"] = round(clock.elapsed, 1)
        self.results[name] = result
        log(f"{name} done in {clock.elapsed:.1f}s")

    def need(self, *parts: str) -> None:
        for part in parts:
            state = self.probe.get(part, "not probed")
            if state != "ok":
                raise NotAvailable(f"{part}: {state}")

    # -- setup

    def setup(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.db_url = database_recreate(self.base_url)
        self.env = child_env(
            database=self.db_url, redis=redis_url, static_root=self.workdir / "static"
        )
        manage = [PYTHON, str(BASE_DIR / "manage.py")]
        run_quiet([*manage, "migrate", "--noinput", "-v0"], env=self.env, log_path=self.log_path)
        run_quiet(
            [*manage, "collectstatic", "--noinput", "-v0"], env=self.env, log_path=self.log_path
        )
        self.probe = self.child("probe")
        self.results["environment"] = {
            "python": platform.python_version(),
            "postgresql": server_version(self.db_url),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "commit": _git_commit(),
            "database": self.db_url.rsplit("/", 1)[-1],
            "parts": self.probe,
        }

    # -- sections

    def corpus(self) -> dict[str, Any]:
        scale = self.scale
        generated = generated_corpus(
            n_authors=scale.n_authors,
            n_works=scale.n_works,
            seed=SEED,
            path=self.workdir / "generated.jsonl",
        )
        self.corpora["generated"] = generated
        out: dict[str, Any] = {
            "seed": SEED,
            "generated": {
                **generated.summary(),
                "profile_author_works": generated.large_author_works,
            },
        }
        if GRQC_PATH.exists():
            grqc = grqc_corpus(source=GRQC_PATH, seed=SEED, path=self.workdir / "grqc.jsonl")
            self.corpora["grqc"] = grqc
            out["grqc"] = {**grqc.summary(), "source": str(GRQC_PATH.relative_to(BASE_DIR.parent))}
        else:
            out["grqc"] = {"not_available": f"{GRQC_PATH} is missing"}
        return out

    def imports(self) -> dict[str, Any]:
        self.need("works.management.commands.import_openalex")
        generated = self.corpora["generated"]
        path = str(generated.path)
        self.sql("CHECKPOINT")
        copy = self.child("copy", path)
        copy["works_per_s"] = copy["works"] / copy["seconds"]
        self.sql("CHECKPOINT")
        first = self.child("import", path)
        first["works_per_s"] = generated.works / first["seconds"]
        # Autovacuum would have analysed the tables long before a real re-import.
        self.sql("ANALYZE")
        sizes = self.sql(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'works\\_%'"
            " ORDER BY 2 DESC"
        )
        database_bytes = self.sql("SELECT pg_database_size(current_database())")[0][0]
        self.sql("CHECKPOINT")
        second = self.child("import", path)
        second["works_per_s"] = generated.works / second["seconds"]
        # The bench's import has no followers yet, so it writes no feed events:
        # what they would cost with a tenth of the authors followed.
        events = self.child("events", str(EVENTS_FOLLOWED_SHARE))
        events["share_of_first_import"] = events["seconds"] / first["seconds"]
        events["import_copy_ratio_with_events"] = (
            generated.works / (first["seconds"] + events["seconds"])
        ) / copy["works_per_s"]
        out: dict[str, Any] = {
            "works": generated.works,
            "copy": copy,
            "first": first,
            "second": second,
            "import_copy_ratio": first["works_per_s"] / copy["works_per_s"],
            "reimport_ratio": second["works_per_s"] / first["works_per_s"],
            "events": events,
            # After the first import of the generated corpus alone.
            "database_bytes": database_bytes,
            "table_bytes": dict(sizes),
        }
        if "grqc" in self.corpora:
            grqc = self.child("import", str(self.corpora["grqc"].path))
            grqc["works_per_s"] = self.corpora["grqc"].works / grqc["seconds"]
            out["grqc"] = grqc
        self.sql("ANALYZE")
        out["sources"] = self._source_imports()
        return out

    def _source_imports(self) -> dict[str, Any]:
        """ORCID, Crossref and arXiv files, each imported twice into the database the
        OpenAlex import filled: every work is looked up against its works, and a
        share carry their DOIs (bench.sources.MATCHED_EVERY), so are matched."""
        whole = Stopwatch()
        # As autovacuum would have by the time anyone imports more: the bulk
        # import leaves the author-name trigram index a pending list that
        # Crossref's name lookups would otherwise scan (1.2 s of a 2 s
        # import at the small scale).
        self.sql("VACUUM (ANALYZE) works_author")
        out: dict[str, Any] = {
            "works_each": self.scale.source_works,
            "vacuum_authors_s": round(whole.elapsed, 1),
        }
        # The generated corpus's DOIs, some of which the generated inputs carry.
        stored_dois = [
            doi
            for (doi,) in self.sql(
                "SELECT doi FROM works_work WHERE doi <> '' ORDER BY id LIMIT %s",
                [self.scale.source_works * len(GENERATORS)],
            )
        ]
        for source, generate in GENERATORS.items():
            module = f"works.management.commands.import_{source}"
            if self.probe.get(module) != "ok":
                out[source] = {"not_available": f"{module}: {self.probe.get(module)}"}
                continue
            clock = Stopwatch()
            made = generate(
                self.scale.source_works,
                seed=SEED,
                folder=self.workdir / f"source-{source}",
                stored_dois=stored_dois,
            )
            entry: dict[str, Any] = {**made.summary(), "generate_s": round(clock.elapsed, 2)}
            paths = [str(p) for p in made.paths]
            for run in ("first", "second"):
                result = self.child("import-source", source, *paths)
                result["works_per_s"] = made.works / result["seconds"]
                entry[run] = result
            entry["reimport_changed"] = entry["second"]["created"] + entry["second"]["updated"]
            out[source] = entry
        self.sql("ANALYZE")
        out["seconds"] = round(whole.elapsed, 1)  # what the three add to the run
        return out

    def slices(self) -> dict[str, Any]:
        self.need("graph.services", "graph.tasks")
        self.sql(
            "CREATE TABLE IF NOT EXISTS bench_naive_slice (author_id bigint PRIMARY KEY,"
            " data jsonb NOT NULL, explorer_data jsonb NOT NULL, computed_at timestamptz)"
        )
        # The import's rows, vacuumed and checkpointed as a running server's
        # would be long before a full rebuild: otherwise autovacuum works
        # through 1.5 million new authorships during the build.
        out: dict[str, Any] = {"workers": WORKERS, "quiesce": self._quiesce()}
        runs = [("grqc", self.scale.grqc_slice_budget_s), ("generated", self.scale.slice_budget_s)]
        for corpus, budget in runs:
            if corpus not in self.corpora:
                out[corpus] = {"not_available": "no corpus"}
                continue
            fast = self._slices_fast(corpus, budget)
            naive = self._slices_naive(corpus)
            ratio = fast["slices_per_s"] / naive["slices_per_s"] if naive["slices_per_s"] else 0
            out[corpus] = {"fast": fast, "naive": naive, "speedup": ratio}
        self.sql("DROP TABLE IF EXISTS bench_naive_slice")
        return out

    def _slices_fast(self, corpus: str, budget: float) -> dict[str, Any]:
        """Two Celery worker processes build every slice of a corpus, queued as an import would.

        Stops at the budget, or early once the rate so far says finishing
        would take over twice the budget (a uniform sample: see slices-queue).
        """
        broker_flush(self.redis_url)
        filter_sql = _corpus_filter(corpus)
        self.sql(
            "DELETE FROM graph_graphslice g USING works_author a"
            f" WHERE g.author_id = a.id AND {filter_sql}"
        )
        progress_sql = (
            "SELECT count(*) FILTER (WHERE g.status IN ('queued', 'building')),"
            " count(*) FILTER (WHERE g.status = 'ready')"
            " FROM graph_graphslice g JOIN works_author a ON a.id = g.author_id"
            f" WHERE {filter_sql}"
        )
        worker_log = self.workdir / f"worker-{corpus}.log"
        with _celery_worker(self.env, worker_log) as worker:
            queued = self.child("slices-queue", corpus, "--seed", str(SEED))
            t0, total = queued["t0"], queued["queued"]
            samples: list[dict[str, Any]] = []
            peak: dict[int, int] = {}
            pending, stop = total, "finished"
            with psycopg.connect(self.db_url, autocommit=True) as conn:
                while True:
                    row = conn.execute(progress_sql).fetchone()
                    pending, ready = row if row else (0, 0)
                    vacuums = conn.execute(AUTOVACUUM_SQL).fetchone()
                    elapsed = time.time() - t0
                    rss = {pid: memory_kib(pid) for pid in children_of(worker.pid)}
                    for pid, mem in rss.items():
                        peak[pid] = max(peak.get(pid, 0), mem.get("VmHWM", 0))
                    samples.append(
                        {
                            "t": round(elapsed, 2),
                            "done": round(ready / total, 4) if total else 1.0,
                            "rss_kib": [m.get("VmRSS", 0) for m in rss.values()],
                            "autovacuum": vacuums[0] if vacuums else 0,
                        }
                    )
                    if pending == 0:
                        break
                    if elapsed > budget:
                        stop = "budget"
                        break
                    observed = min(budget / 3, SLICE_OBSERVE_S)
                    if (
                        elapsed > observed
                        and ready
                        and total / (ready / elapsed) > EARLY_STOP * budget
                    ):
                        stop = f"projected over {EARLY_STOP:g}x the budget"
                        break
                    time.sleep(SLICE_POLL_S)
                counts = conn.execute(
                    "SELECT count(*) FILTER (WHERE g.status = 'ready'),"
                    " count(*) FILTER (WHERE g.status = 'failed'),"
                    " extract(epoch FROM max(g.updated_at)),"
                    " percentile_cont(0.5) WITHIN GROUP (ORDER BY g.build_ms),"
                    " percentile_cont(0.99) WITHIN GROUP (ORDER BY g.build_ms)"
                    " FROM graph_graphslice g JOIN works_author a ON a.id = g.author_id"
                    f" WHERE {filter_sql}"
                ).fetchone()
            assert counts is not None
            main_memory = memory_kib(worker.pid)
        ready, failed, t_end, build_p50, build_p99 = counts
        finished = pending == 0
        elapsed = (float(t_end) - t0) if t_end and finished else time.time() - t0
        rate = ready / elapsed if elapsed > 0 else 0.0
        # What stopped early leaves queued rows: out of the next corpus's way.
        self.sql("DELETE FROM graph_graphslice WHERE status IN ('queued', 'building')")
        broker_flush(self.redis_url)
        memory = _memory_summary(samples, peak)
        memory["main_process_peak_mib"] = round(main_memory.get("VmHWM", 0) / 1024, 1)
        busy = sum(1 for sample in samples if sample["autovacuum"])
        return {
            "authors": queued["authors"],
            "queued": total,
            "ready": ready,
            "failed": failed,
            "finished": finished,
            "stopped": stop,
            "budget_s": budget,
            "seconds": elapsed,
            "projected_s": elapsed if finished else (total / rate if rate else None),
            "queue_s": queued["queue_s"],
            "slices_per_s": rate,
            "build_ms_p50": build_p50,
            "build_ms_p99": build_p99,
            "memory": memory,
            # Share of the progress samples during which autovacuum was working.
            "autovacuum_share": round(busy / len(samples), 3) if samples else None,
        }

    def _slices_naive(self, corpus: str) -> dict[str, Any]:
        procs = [
            subprocess.Popen(
                [
                    *(PYTHON, "-m", "bench.child", "naive", corpus),
                    *("--shard", str(shard), "--shards", str(WORKERS)),
                    *("--budget", str(self.scale.naive_budget_s), "--seed", str(SEED)),
                ],
                cwd=BASE_DIR,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=self.log_path.open("ab"),
            )
            for shard in range(WORKERS)
        ]
        shards = []
        for proc in procs:
            stdout, _ = proc.communicate()
            if proc.returncode != 0:
                raise ChildError(f"naive pipeline exited {proc.returncode}; see {self.log_path}")
            shards.append(json.loads(stdout.decode().strip().splitlines()[-1]))
        done = sum(s["done"] for s in shards)
        build_s = max(s["build_s"] for s in shards)
        planned = sum(s["planned"] for s in shards)
        per = {k: sum(s[k] for s in shards) / done * 1000 if done else 0.0 for k in _PHASES}
        return {
            "authors": planned,
            "done": done,
            "sampled": done < planned,
            "load_s": max(s["load_s"] for s in shards),
            "build_s": build_s,
            "slices_per_s": done / build_s if build_s else 0.0,
            "graph_nodes": shards[0]["population"],
            "graph_edges": shards[0]["edges"],
            "ego_nodes_median": max(s["ego_nodes_median"] for s in shards),
            "ego_nodes_max": max(s["ego_nodes_max"] for s in shards),
            "per_slice_ms": {k.removesuffix("_s"): round(v, 3) for k, v in per.items()},
            "worker_peak_mib": round(max(s["maxrss_kib"] for s in shards) / 1024, 1),
            "estimated_full_run_s": (
                max(s["load_s"] for s in shards) + planned / (done / build_s)
                if done and build_s
                else None
            ),
        }

    def pages_and_queries(self, *, pages: bool = True, soak: bool = False) -> None:
        """Query counts in-process (test client), then the same pages under load (gunicorn).

        soak: then a mix of anonymous, signed-in, search and follow requests
        for the scale's soak_seconds, against gunicorn and a Celery worker.
        """
        prepared: dict[str, Any] = {}

        def queries() -> dict[str, Any]:
            generated = self.corpora.get("generated")
            if generated is None or not generated.large_author:
                raise NotAvailable("no generated corpus")
            spec = {
                "large": generated.large_author,
                "small": generated.small_author,
                "followed": generated.followed,
                "feed_events": FEED_EVENTS,
            }
            prepared.update(self.child("pages", json.dumps(spec)))
            counts = prepared["queries"]
            growing = [
                page
                for page, sizes in counts.items()
                if "small" in sizes
                and "large" in sizes
                and sizes["small"]["queries"] != sizes["large"]["queries"]
            ]
            return {
                "authors": prepared["authors"],
                "followed": prepared["followed"],
                "feed_events": prepared.get("feed_events"),
                "slices_built_here": prepared["slices_built_here"],
                "pages": counts,
                "growing": growing,
            }

        self.section("queries", queries)
        if pages:
            self.section("pages", lambda: self._pages(prepared))
        if soak:
            self.section("soak", lambda: self._soak(prepared))

    def _pages(self, prepared: dict[str, Any]) -> dict[str, Any]:
        if not prepared:
            raise NotAvailable("the page preparation (queries section) failed")
        urls = prepared["urls"]
        cookie = f"Cookie: {prepared['cookie']}"
        # A browser sends its CSRF cookie too: the feed it was drawn for is kept for it.
        # Without one, every request is a new CSRF secret and the feed is drawn afresh.
        browser = f"Cookie: {prepared['cookie']}; {prepared['csrf']['cookie']}"
        endpoints: list[tuple[str, str | None, list[str], str]] = [
            ("floor", "/bench/floor/", [], ""),
            ("profile", urls["profile"]["path"], [], "profiles:researcher_detail"),
            (
                "profile-signed-in",
                urls["profile-signed-in"]["path"],
                [browser],
                "profiles:researcher_detail",
            ),
            (
                "profile-signed-in-small",
                urls["profile-signed-in-small"]["path"],
                [browser],
                "profiles:researcher_detail",
            ),
            ("profile-sorted", urls["profile-sorted"]["path"], [], "profiles:researcher_detail"),
            (
                "profile-sorted-signed-in",
                urls["profile-sorted-signed-in"]["path"],
                [browser],
                "profiles:researcher_detail",
            ),
            ("export", urls["export"]["path"], [], "profiles:researcher_export"),
            ("fragment", urls["fragment"]["path"], ["HX-Request: true"], "graph:slice"),
            ("search", urls["search"]["path"], [], "works:researcher_search"),
            ("following", urls["following"]["path"], [browser], "profiles:following"),
            ("feed-drawn", urls["following"]["path"], [cookie], "profiles:following"),
            ("conversation", urls["conversation"]["path"], [cookie], "collaboration:conversation"),
            (
                "poll",
                urls["poll"]["path"],
                [cookie, "HX-Request: true"],
                "collaboration:conversation_messages",
            ),
        ]
        port = free_port()
        scale = self.scale
        out: dict[str, Any] = {
            "server": {
                "gunicorn_workers": WORKERS,
                "worker_class": "gthread",
                "threads": self.threads,
                "concurrency": scale.concurrency,
                "seconds_each": scale.load_seconds,
                "rounds": PAGE_ROUNDS,
                "warmup_s": scale.load_warmup_s,
                "profile_author": prepared["authors"]["large"],
            },
            "quiesce": self._quiesce(),
        }
        runs: dict[str, list[dict[str, Any]]] = {}
        with _gunicorn(self.env, port, self.threads, self.workdir / "gunicorn.log") as server:
            live = []
            for name, path, headers, url_name in endpoints:
                if path is None:
                    out[name] = {"not_available": f"{url_name}: {self.probe.get(url_name)}"}
                    continue
                status = _get_status(port, path, headers)
                if status not in (200, 204):  # a poll with nothing new answers 204
                    out[name] = {"not_available": f"GET {path} answered {status}"}
                    continue
                live.append((name, path, headers))
            # Rounds, each endpoint in turn: a ratio then compares runs made
            # under the same conditions, not the floor at the start against a
            # page measured minutes later.
            for round_index in range(PAGE_ROUNDS):
                for name, path, headers in live:
                    log(f"  load: {name} {path} (round {round_index + 1} of {PAGE_ROUNDS})")
                    runs.setdefault(name, []).append(
                        _measured_load(
                            port,
                            path,
                            headers,
                            server=server,
                            concurrency=scale.concurrency,
                            duration=scale.load_seconds / PAGE_ROUNDS,
                            warmup=scale.load_warmup_s,
                        )
                    )
        for name, parts in runs.items():
            out[name] = _merge_runs(parts)
        floor = out.get("floor", {})
        for name, result in out.items():
            if name in ("server", "quiesce", "floor") or "rps" not in result or "rps" not in floor:
                continue
            result["rps_ratio"] = result["rps"] / floor["rps"]
            result["p50_ratio"] = result["p50_ms"] / floor["p50_ms"]
            result["p99_ratio"] = result["p99_ms"] / floor["p99_ms"]
            result["rps_ratio_by_round"] = [
                run["rps"] / floor_run["rps"]
                for run, floor_run in zip(result["rounds"], floor["rounds"], strict=True)
            ]
        return out

    def _soak(self, prepared: dict[str, Any]) -> dict[str, Any]:
        """Minutes of mixed traffic: every answer as expected, and memory that stays flat.

        Every process of gunicorn and of the Celery worker is sampled every
        SOAK_SAMPLE_S; growth is each one's highest RSS in the second half
        against its highest in the first (as for the slice workers).
        """
        if not prepared:
            raise NotAvailable("the page preparation (queries section) failed")
        urls = prepared["urls"]
        signed_in = f"Cookie: {prepared['cookie']}; {prepared['csrf']['cookie']}"
        token = f"X-CSRFToken: {prepared['csrf']['token']}"
        follow = prepared["follow"]
        # name, method, path, headers, body, the status a person would get
        mix: list[tuple[str, str, str, list[str], str, int]] = [
            ("anonymous profile", "GET", urls["profile"]["path"], [], "", 200),
            ("anonymous fragment", "GET", urls["fragment"]["path"], ["HX-Request: true"], "", 200),
            ("anonymous follow", "GET", follow, [], "", 302),
            ("search", "GET", urls["search"]["path"], [], "", 200),
            ("signed-in profile", "GET", urls["profile"]["path"], [signed_in], "", 200),
            ("signed-in feed", "GET", urls["following"]["path"], [signed_in], "", 200),
            *(
                (
                    f"signed-in {action}",
                    "POST",
                    follow,
                    [signed_in, token, "HX-Request: true"],
                    f"action={action}",
                    200,
                )
                for action in ("follow", "unfollow")
            ),
        ]
        expected = {name: status for name, *_, status in mix}
        mix_path = self.workdir / "soak-mix.json"
        mix_path.write_text(
            json.dumps(
                [
                    {"name": n, "method": m, "path": p, "headers": h, "body": b}
                    for n, m, p, h, b, _ in mix
                ]
            )
        )
        seconds = self.scale.soak_seconds
        sessions_before = self.sql("SELECT count(*) FROM django_session")[0][0]
        port = free_port()
        samples: list[dict[str, Any]] = []
        with (
            _celery_worker(self.env, self.workdir / "soak-worker.log") as worker,
            _gunicorn(self.env, port, self.threads, self.workdir / "gunicorn.log") as server,
        ):
            for name, method, path, headers, _, status in mix:
                if method == "GET" and (got := _get_status(port, path, headers)) != status:
                    raise NotAvailable(f"{name}: GET {path} answered {got}, not {status}")
            pids = sorted(children_of(server.pid) + children_of(worker.pid))
            args = [PYTHON, "-m", "bench.load", "--port", str(port), "--mix", str(mix_path)]
            args += ["--concurrency", str(self.scale.concurrency), "--duration", str(seconds)]
            args += ["--warmup", str(self.scale.load_warmup_s)]
            log(f"  soak: {len(mix)} kinds of request for {seconds:.0f}s")
            load = subprocess.Popen(args, cwd=BASE_DIR, stdout=subprocess.PIPE)
            started = time.monotonic()
            while load.poll() is None:
                samples.append(
                    {
                        "t": time.monotonic() - started,
                        "rss_kib": [memory_kib(pid).get("VmRSS", 0) for pid in pids],
                    }
                )
                time.sleep(SOAK_SAMPLE_S)
            assert load.stdout is not None
            result: dict[str, Any] = json.loads(load.stdout.read().decode().splitlines()[-1])
        unexpected = {
            name: {s: n for s, n in part["statuses"].items() if int(s) != expected[name]}
            for name, part in result["kinds"].items()
        }
        memory = _memory_summary(samples, {})
        return {
            "seconds": seconds,
            "concurrency": self.scale.concurrency,
            "processes": len(pids),
            "all": result["all"],
            "kinds": result["kinds"],
            "unexpected": {name: bad for name, bad in unexpected.items() if bad},
            "failures": result["all"]["errors"]
            + sum(n for bad in unexpected.values() for n in bad.values()),
            "rss_growth": memory["worker_rss_growth"],
            "rss_first_half_mib": memory["worker_peak_first_half_mib"],
            "rss_second_half_mib": memory["worker_peak_second_half_mib"],
            "sessions_written": self.sql("SELECT count(*) FROM django_session")[0][0]
            - sessions_before,
        }

    def _quiesce(self) -> dict[str, Any]:
        """Bring the machine to the steady state of a server that has been up a while.

        After the import and the slice build, autovacuum and the checkpointer
        would otherwise work through the new rows during the load runs and take
        a core from whichever page is being measured just then: one run's
        floor came out at 1,822 req/s, the next one's at 4,304.
        """
        clock = Stopwatch()
        self.sql("VACUUM (ANALYZE)")
        vacuum_s = clock.elapsed
        self.sql("CHECKPOINT")
        waited = wait_until_idle(busy_below=QUIET_BUSY, timeout=QUIET_TIMEOUT_S)
        return {
            "vacuum_s": round(vacuum_s, 1),
            "total_s": round(clock.elapsed, 1),
            "idle_wait_s": round(waited, 1),
        }


AUTOVACUUM_SQL = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
# Pages: each endpoint's load_seconds are split into this many rounds.
PAGE_ROUNDS = 3
# Before the load runs: the machine counts as quiet below this share of busy CPU.
QUIET_BUSY = 0.05
QUIET_TIMEOUT_S = 60.0
SOAK_SAMPLE_S = 5.0


def _measured_load(
    port: int,
    path: str,
    headers: list[str],
    *,
    server: subprocess.Popen[bytes],
    concurrency: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    """One load run, with the CPU the server, the load generator and everything else used."""
    tick = os.sysconf("SC_CLK_TCK")
    server_pids = [server.pid, *children_of(server.pid)]
    busy0, total0 = machine_cpu()
    server0 = process_cpu(server_pids)
    client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = _load(port, path, headers, concurrency=concurrency, duration=duration, warmup=warmup)
    client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, total1 = machine_cpu()
    server_ticks = process_cpu(server_pids) - server0
    client_s = (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime)
    busy_s, cpus_s = (busy1 - busy0) / tick, (total1 - total0) / tick
    result["cpu"] = {
        "server_s": round(server_ticks / tick, 2),
        "client_s": round(client_s, 2),
        # What else ran meanwhile (PostgreSQL and Redis answering the pages
        # included), as a share of all CPUs over the run.
        "other_share": round(max(0.0, busy_s - server_ticks / tick - client_s) / cpus_s, 3)
        if cpus_s
        else None,
    }
    return result


def _merge_runs(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One endpoint's rounds as one result: requests over the summed time, merged latencies."""
    latencies = sorted(latency for part in parts for latency in part.pop("latencies_ms"))
    seconds = sum(part["seconds"] for part in parts)
    requests = sum(part["requests"] for part in parts)
    statuses: Counter[str] = Counter()
    for part in parts:
        statuses.update(part["statuses"])
    return {
        "path": parts[0]["path"],
        "seconds": seconds,
        "requests": requests,
        "rps": requests / seconds,
        "ok": sum(part["ok"] for part in parts),
        "errors": sum(part["errors"] for part in parts),
        "statuses": dict(statuses),
        "mean_bytes": parts[0]["mean_bytes"],
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else 0.0,
        "rounds": [
            {
                "rps": part["rps"],
                "p99_ms": part["p99_ms"],
                "cpu": part["cpu"],
            }
            for part in parts
        ],
    }


_PHASES = ("ego_s", "rank_s", "layout_s", "store_s")


def _corpus_filter(corpus: str) -> str:
    from bench.child import CORPUS_FILTER

    return CORPUS_FILTER[corpus]


def _memory_summary(samples: list[dict[str, Any]], peak: dict[int, int]) -> dict[str, Any]:
    """Each worker process's resident memory: its peak, and whether it grows over the build.

    Growth is each process's highest RSS in the second half of the build
    against its highest in the first half. A process's heap grows to fit the
    largest chunk it has met and stays there, so when that chunk arrives
    early or late says nothing; a leak would keep growing through the second
    half. Measured from the first tenth (the older figure, also given), one
    process that met its largest chunk after the first tenth and the other
    before it read +21% and -4% in one run with the same peak as always.
    """
    span = samples[-1]["t"] if samples else 0.0
    with_rss = [s for s in samples if s["rss_kib"]]
    first = _peaks([s["rss_kib"] for s in with_rss if s["t"] <= span / 2])
    second = _peaks([s["rss_kib"] for s in with_rss if s["t"] > span / 2])
    settled: list[int] = next((s["rss_kib"] for s in with_rss if s["t"] >= span / 10), [])
    last: list[int] = with_rss[-1]["rss_kib"] if with_rss else []
    return {
        "worker_peak_mib": round(max(peak.values(), default=0) / 1024, 1),
        "worker_peak_first_half_mib": _mib(first),
        "worker_peak_second_half_mib": _mib(second),
        "worker_rss_growth": _growth(first, second),
        "worker_rss_settled_mib": _mib(settled),
        "worker_rss_at_end_mib": _mib(last),
        "worker_rss_growth_from_first_tenth": _growth(settled, last),
        "samples": len(samples),
    }


def _peaks(rows: list[list[int]]) -> list[int]:
    """Each process's highest RSS over these samples; [] if the processes changed between them."""
    if not rows or len({len(row) for row in rows}) != 1:
        return []
    return [max(column) for column in zip(*rows, strict=True)]


def _growth(before: list[int], after: list[int]) -> float | None:
    """The largest relative growth of any process from one reading to the other."""
    if not before or len(before) != len(after):
        return None
    changes = [(b - a) / a for a, b in zip(before, after, strict=True) if a]
    return max(changes) if changes else None


def _mib(kib: list[int]) -> list[float]:
    return [round(k / 1024, 1) for k in kib]


@contextlib.contextmanager
def _celery_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker with two prefork processes; ready once it says so."""
    out = log_path.open("wb")
    worker = subprocess.Popen(
        [
            *(PYTHON, "-m", "celery", "-A", "bzpeer", "worker"),
            *("--concurrency", str(WORKERS), "--pool", "prefork", "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("--hostname", f"bench-{os.getpid()}@%h"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise ChildError(f"the Celery worker did not start; see {log_path}")
            time.sleep(0.1)
        while len(children_of(worker.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        yield worker
    finally:
        stop_process(worker, timeout=30)
        out.close()


@contextlib.contextmanager
def _gunicorn(
    env: dict[str, str], port: int, threads: int, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(
        [
            *(PYTHON, "-m", "gunicorn", "bzpeer.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
            *("--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30"),
            *("--log-level", "warning", "--error-logfile", str(log_path)),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30, proc=server)
        yield server
    finally:
        stop_process(server)


def _get_status(port: int, path: str, headers: list[str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=dict(h.split(": ", 1) for h in headers))
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _load(
    port: int, path: str, headers: list[str], *, concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    args = [PYTHON, "-m", "bench.load", "--port", str(port), "--path", path]
    for header in headers:
        args += ["--header", header]
    args += ["--concurrency", str(concurrency), "--duration", str(duration)]
    args += ["--warmup", str(warmup), "--samples"]
    proc = subprocess.run(args, cwd=BASE_DIR, capture_output=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def _git_commit() -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout.decode().strip()


class _Heartbeat(threading.Thread):
    """A line every half minute, so a long section never looks hung."""

    def __init__(self, run: Run) -> None:
        super().__init__(daemon=True)
        self.run_ = run
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(30):
            log(f"... {self.run_.clock.elapsed:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--threads", type=int, default=GUNICORN_THREADS, help="gunicorn threads")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the bench database and the scratch folder (corpus files, logs)",
    )
    parser.add_argument(
        "--sections",
        default="import,slices,pages",
        help=(
            "comma-separated, of import, slices, pages and soak (the corpus is always made;"
            " soak is minutes of mixed traffic, left out unless named)"
        ),
    )
    options = parser.parse_args(argv)
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        raise SystemExit("DATABASE_URL is unset: run `make bench`, which starts a database.")
    sections = set(options.sections.split(","))
    scale = SCALES[options.scale]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="bzpeer-bench-")
    try:
        run = Run(scale, base_url=base_url, workdir=Path(tmp), threads=options.threads)
        heartbeat = _Heartbeat(run)
        heartbeat.start()
        try:
            with broker() as redis_url:
                log(f"scale {scale.name}: setting up {run.results['command']}")
                run.setup(redis_url)
                run.section("corpus", run.corpus)
                if "import" in sections:
                    run.section("import", run.imports)
                if "slices" in sections:
                    run.section("slices", run.slices)
                if sections & {"pages", "soak"}:
                    run.pages_and_queries(pages="pages" in sections, soak="soak" in sections)
        finally:
            heartbeat.stopped.set()
            if options.keep:
                log(f"kept the database {run.db_url} and {tmp}")
            else:
                with contextlib.suppress(psycopg.Error):
                    database_drop(base_url)
            run.results["run_seconds"] = round(run.clock.elapsed, 1)
            run.results.setdefault("environment", {})["load_average_at_end"] = [
                round(x, 2) for x in os.getloadavg()
            ]
            failed = any(
                isinstance(part, dict) and "error" in part for part in run.results.values()
            )
            if failed and run.log_path.exists():
                tail = run.log_path.read_text(errors="replace").splitlines()[-40:]
                run.results["children_log_tail"] = tail
            run.results["targets"] = report.evaluate(run.results, scale)
            text = json.dumps(run.results, indent=2, default=str) + "\n"
            (RESULTS_DIR / "latest.json").write_text(text)
            (RESULTS_DIR / f"latest-{scale.name}.json").write_text(text)
            print(report.table(run.results))
            log(f"wrote {(RESULTS_DIR / 'latest.json').relative_to(BASE_DIR)}")
    finally:
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
