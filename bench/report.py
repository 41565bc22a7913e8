"""The targets, checked against a run's results, and the table printed at the end."""

from __future__ import annotations

import math
from typing import Any

from bench.config import TARGETS, Scale, Target


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _lowest(results: dict[str, Any], section: str, *pages: str) -> float | None:
    """The lowest rps ratio of these pages; None unless every one was measured."""
    ratios = [_get(results, section, page, "rps_ratio") for page in pages]
    return None if any(r is None for r in ratios) else min(ratios)


def _why_missing(results: dict[str, Any], section: str) -> str:
    part = results.get(section)
    if not isinstance(part, dict):
        return f"section {section} did not run"
    return str(part.get("not_available") or part.get("error") or "not measured")


def _values(results: dict[str, Any], scale: Scale) -> dict[str, tuple[Any, str]]:
    """Each target's measured value, or None and why not."""
    pages, slices = "pages", "slices"
    fast = _get(results, slices, "generated", "fast") or {}
    values: dict[str, tuple[Any, str]] = {
        "profile_rps_ratio": (_get(results, pages, "profile", "rps_ratio"), pages),
        "profile_p99_ratio": (_get(results, pages, "profile", "p99_ratio"), pages),
        "fragment_rps_ratio": (_get(results, pages, "fragment", "rps_ratio"), pages),
        "signed_in_profile_rps_ratio": (
            _lowest(results, pages, "profile-signed-in", "profile-signed-in-small"),
            pages,
        ),
        "sorted_profile_rps_ratio": (
            _lowest(results, pages, "profile-sorted", "profile-sorted-signed-in"),
            pages,
        ),
        "feed_p99_ms": (_get(results, pages, "following", "p99_ms"), pages),
        "import_copy_ratio": (_get(results, "import", "import_copy_ratio"), "import"),
        "reimport_ratio": (_get(results, "import", "reimport_ratio"), "import"),
        "queries_constant": (
            len(growing) if (growing := _get(results, "queries", "growing")) is not None else None,
            "queries",
        ),
        "slices_per_s": (fast.get("slices_per_s"), slices),
        "slices_all_s": (fast.get("projected_s") if fast else None, slices),
        "slices_naive_ratio": (_get(results, slices, "generated", "speedup"), slices),
        "worker_rss_growth": (_get(fast, "memory", "worker_rss_growth"), slices),
        "soak_failures": (_get(results, "soak", "failures"), "soak"),
        "soak_rss_growth": (_get(results, "soak", "rss_growth"), "soak"),
        "run_seconds": (results.get("run_seconds"), "run"),
    }
    return values


def _passes(target: Target, value: float, threshold: float) -> tuple[bool, str]:
    if target.op == "==":
        return value == threshold, ""
    if target.op == ">=":
        ok = value >= threshold
        margin = (value / threshold - 1) * 100 if threshold else math.inf
    else:
        ok = value <= threshold
        margin = (threshold / value - 1) * 100 if value else math.inf
    if math.isinf(margin):
        return ok, ""
    return ok, f"{margin:+.0f}%"


def evaluate(results: dict[str, Any], scale: Scale) -> list[dict[str, Any]]:
    values = _values(results, scale)
    out = []
    soak = results.get("soak")
    for target in TARGETS:
        if target.key.startswith("soak_") and soak is None:
            continue  # the soak is optional: no row when it was not asked for
        threshold = target.threshold
        if target.key == "run_seconds":
            threshold = scale.run_budget_s + (scale.soak_seconds if soak is not None else 0)
        value, section = values[target.key]
        row: dict[str, Any] = {
            "key": target.key,
            "label": target.label,
            "target": f"{target.op} {threshold:g}{target.unit}",
            "value": value,
        }
        if value is None:
            row.update(status="n/a", why=_why_missing(results, section))
        else:
            ok, margin = _passes(target, float(value), threshold)
            row.update(status="PASS" if ok else "FAIL", margin=margin)
        notes = []
        if (
            target.key == "slices_all_s"
            and _get(results, "slices", "generated", "fast", "finished") is False
        ):
            notes.append("projected from the rate of an early-stopped build")
        if target.key in ("slices_per_s", "slices_all_s", "slices_naive_ratio") and (
            scale.name != "default"
        ):
            notes.append("the target is set for 100,000 authors")
        if notes:
            row["note"] = "; ".join(notes)
        out.append(row)
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "unfinished"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _source_lines(sources: dict[str, Any] | None) -> list[str]:
    """The ORCID, Crossref and arXiv importers, under OpenAlex's lines."""
    if not sources:
        return []
    lines = [
        "  other sources: generated from the shared data's recorded responses, each"
        " imported twice into the same database (a share carry its works' DOIs);"
        f" {_fmt(sources.get('seconds'))}s in all, after VACUUM works_author"
        f" {_fmt(sources.get('vacuum_authors_s'))}s"
    ]
    for source in ("orcid", "crossref", "arxiv"):
        part = sources.get(source) or {}
        label = f"import_{source}"
        if "second" not in part:
            reason = part.get("not_available") or part.get("error") or "did not run"
            lines.append(f"  {label:<19} {reason}")
            continue
        first, second = part["first"], part["second"]
        lines.append(
            f"  {label:<19} {_fmt(first['works_per_s'], 0):>9} works/s  "
            f"({_fmt(first['seconds'])}s; {_fmt(part['works'])} works"
            f" ({_fmt(part.get('matching_stored_doi'))} with a stored work's DOI)"
            f" in {_fmt(part['files'])} files, {part['bytes'] / 2**20:,.1f} MiB;"
            f" created {_fmt(first['created'])},"
            f" updated {_fmt(first['updated'])}, skipped {_fmt(first['skipped'])},"
            f" problems {_fmt(first['problems'])})"
        )
        lines.append(
            f"    re-import         {_fmt(second['works_per_s'], 0):>9} works/s  "
            f"({_fmt(second['seconds'])}s; changed {_fmt(part['reimport_changed'])}:"
            f" created {_fmt(second['created'])}, updated {_fmt(second['updated'])},"
            f" unchanged {_fmt(second['unchanged'])})"
        )
    return lines


def table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    add("")
    add(f"BZPEER benchmark - {results.get('command')} - {results.get('started_at')}")
    env = results.get("environment") or {}
    add(
        f"PostgreSQL {env.get('postgresql', '?')}, Python {env.get('python', '?')}, "
        f"{env.get('cpus', '?')} CPUs, load average at start {env.get('load_average_at_start')}"
    )

    corpus = results.get("corpus") or {}
    add("")
    add("Corpus")
    for name in ("generated", "grqc"):
        part = corpus.get(name) or {}
        if "works" in part:
            add(
                f"  {name:<10} {_fmt(part['authors'])} authors, {_fmt(part['works'])} works, "
                f"{_fmt(part['authorships'])} authorships, {part['bytes'] / 2**20:,.0f} MiB; "
                f"generated in {_fmt(part['generate_s'])}s, written in {_fmt(part['write_s'])}s"
            )
        else:
            add(f"  {name:<10} {_why_missing(corpus, name)}")

    imp = results.get("import") or {}
    add("")
    add("Import (generated corpus)")
    if "first" in imp:
        copy = imp["copy"]
        add(
            f"  raw COPY floor      {_fmt(copy['works_per_s'], 0):>9} works/s  "
            f"({_fmt(copy['seconds'])}s: parse {_fmt(copy['parse_s'])}s, "
            f"COPY {_fmt(copy['copy_s'])}s)"
        )
        for key, label in (("first", "import_openalex"), ("second", "re-import")):
            part = imp[key]
            add(
                f"  {label:<19} {_fmt(part['works_per_s'], 0):>9} works/s  "
                f"({_fmt(part['seconds'])}s; created {_fmt(part['created'])}, "
                f"updated {_fmt(part['updated'])}, unchanged {_fmt(part['unchanged'])}, "
                f"skipped {_fmt(part['skipped'])})"
            )
        first = imp["first"]
        if first.get("metrics_seconds") is not None:
            add(
                f"  metrics (workers)   {_fmt(first['metrics_seconds'])}s to recount the"
                f" {_fmt(first.get('changed_authors'))} changed authors in one process"
                " (the import queues it)"
            )
        events = imp.get("events")
        if events:
            rows = ", ".join(f"{_fmt(n)} {kind}" for kind, n in sorted(events["rows"].items()))
            add(
                f"  feed events         {_fmt(events['seconds'])}s with "
                f"{events['share']:.0%} of the authors followed ({rows or 'no rows'}): "
                f"+{events['share_of_first_import']:.0%} on the import, "
                f"{events['import_copy_ratio_with_events']:.2f}x COPY with them"
            )
            add(
                f"  first follows       {_fmt(events['remember_s'])}s to note the"
                f" {_fmt(events['followed_authors'])} researchers'"
                f" {_fmt(events['coauthors_known'])} known co-authors"
            )
        if "grqc" in imp:
            add(
                f"  ca-GrQc import      {_fmt(imp['grqc']['works_per_s'], 0):>9} works/s  "
                f"({_fmt(imp['grqc']['seconds'])}s)"
            )
        lines.extend(_source_lines(imp.get("sources")))
    else:
        add(f"  {_why_missing(results, 'import')}")

    slices = results.get("slices") or {}
    add("")
    add("Graph slices (2 worker processes, end to end)")
    if any(isinstance(slices.get(c), dict) and "fast" in slices[c] for c in ("grqc", "generated")):
        add(f"  {'corpus':<10} {'slices/s':>9} {'time':>8} {'naive/s':>9} {'speedup':>8}  notes")
        for name in ("grqc", "generated"):
            part = slices.get(name) or {}
            if "fast" not in part:
                add(f"  {name:<10} {_why_missing(slices, name)}")
                continue
            fast, naive = part["fast"], part["naive"]
            notes = [f"{_fmt(fast['ready'])}/{_fmt(fast['queued'])} built"]
            if not fast["finished"]:
                projected = fast.get("projected_s")
                notes.append(
                    f"stopped: {fast.get('stopped')}"
                    + (f"; all would take {projected:,.0f}s" if projected else "")
                )
            if fast["failed"]:
                notes.append(f"{fast['failed']} failed")
            notes.append(
                f"naive {'sampled ' if naive['sampled'] else ''}{_fmt(naive['done'])} authors"
            )
            if name == "grqc":
                # The graph issue sets its targets at 100,000 authors: the
                # generated corpus. ca-GrQc is reported beside it.
                notes.append("reported: the targets are set at 100,000 authors")
            add(
                f"  {name:<10} {_fmt(fast['slices_per_s']):>9} {_fmt(fast['seconds']):>7}s "
                f"{_fmt(naive['slices_per_s']):>9} {_fmt(part['speedup']):>7}x  " + "; ".join(notes)
            )
        memory = _get(slices, "generated", "fast", "memory") or {}
        if memory:
            growth = memory.get("worker_rss_growth")
            tenth = memory.get("worker_rss_growth_from_first_tenth")
            add(
                f"  worker memory: peak {_fmt(memory['worker_peak_mib'])} MiB; highest RSS in the"
                f" first half {memory.get('worker_peak_first_half_mib')} -> second half"
                f" {memory.get('worker_peak_second_half_mib')} MiB"
                + (f" ({growth * 100:+.1f}%)" if growth is not None else "")
            )
            add(
                f"  (RSS after the first tenth {memory['worker_rss_settled_mib']} -> at end "
                f"{memory['worker_rss_at_end_mib']} MiB"
                + (f", {tenth * 100:+.1f}%)" if tenth is not None else ")")
            )
        generated_fast = _get(slices, "generated", "fast") or {}
        quiesce = slices.get("quiesce") or {}
        if quiesce or "autovacuum_share" in generated_fast:
            add(
                f"  before: VACUUM (ANALYZE) {_fmt(quiesce.get('vacuum_s'))}s, idle after"
                f" {_fmt(quiesce.get('idle_wait_s'))}s; autovacuum at work in"
                f" {_fmt((generated_fast.get('autovacuum_share') or 0) * 100)}% of the build"
            )
    else:
        add(f"  {_why_missing(results, 'slices')}")

    queries = results.get("queries") or {}
    add("")
    add("Queries per page (small author / large author), in-process time of the large one")
    if "pages" in queries:
        for page, sizes in queries["pages"].items():
            small, large = sizes.get("small") or {}, sizes.get("large") or {}
            add(
                f"  {page:<10} {_fmt(small.get('queries')):>3} / {_fmt(large.get('queries')):<3}"
                f"  {_fmt(large.get('total_ms'))} ms, SQL {_fmt(large.get('sql_ms'))} ms"
                f"  (HTTP {large.get('status')})"
            )
        events = queries.get("feed_events") or {}
        if events:
            add(
                f"  feed: {_fmt(queries.get('followed'))} follows; {_fmt(events['written'])}"
                f" events written in {_fmt(events['seconds'])}s,"
                f" {_fmt(events['in_large_feed'])} of them in that user's feed"
            )
    else:
        add(f"  {_why_missing(results, 'queries')}")

    pages = results.get("pages") or {}
    server = pages.get("server") or {}
    if "pages" in results:  # a soak-only run gets no empty table
        add("")
        add(
            f"Pages under load (gunicorn {server.get('gunicorn_workers')} workers x "
            f"{server.get('threads')} threads, {server.get('concurrency')} connections, "
            f"{server.get('seconds_each')}s each)"
        )
        if server:
            quiesce = pages.get("quiesce") or {}
            if quiesce:
                add(
                    f"  before: VACUUM (ANALYZE) {_fmt(quiesce.get('vacuum_s'))}s, then"
                    f" {_fmt(quiesce.get('idle_wait_s'))}s until the CPUs were idle;"
                    f" {_fmt(server.get('rounds'))} rounds, endpoints in turn"
                )
            columns = ("req/s", "p50 ms", "p99 ms", "rps/floor", "p99/floor", "by round", "other")
            widths = (8, 8, 8, 10, 10, 12, 6)
            add(
                f"  {'page':<24} "
                + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
            )
            for name in (
                "floor",
                "profile",
                "profile-signed-in",
                "profile-signed-in-small",
                "profile-sorted",
                "profile-sorted-signed-in",
                "export",
                "fragment",
                "search",
                "following",
                "feed-drawn",
                "conversation",
                "poll",
            ):
                part = pages.get(name) or {}
                if "rps" not in part:
                    add(f"  {name:<24} {part.get('not_available') or part.get('error') or '-'}")
                    continue
                bad = part["requests"] - part["ok"] + part["errors"]
                by_round = part.get("rps_ratio_by_round") or []
                spread = f"{min(by_round):.2f}-{max(by_round):.2f}" if by_round else "-"
                other = [r["cpu"]["other_share"] for r in part.get("rounds") or [] if r.get("cpu")]
                other_text = f"{max(other):.0%}" if other and None not in other else "-"
                add(
                    f"  {name:<24} {_fmt(part['rps']):>8} {_fmt(part['p50_ms'], 2):>8} "
                    f"{_fmt(part['p99_ms'], 2):>8} {_fmt(part.get('rps_ratio'), 2):>10} "
                    f"{_fmt(part.get('p99_ratio'), 2):>10} {spread:>12} {other_text:>6}"
                    + (f"  {bad} non-2xx or errors" if bad else "")
                )
            add(
                "  by round: rps/floor of each round against that round's floor;"
                " other: the most CPU anything but gunicorn and the load generator used in a round"
            )
        else:
            add(f"  {_why_missing(results, 'pages')}")

    soak = results.get("soak")
    if soak is not None:
        add("")
        if "all" not in soak:
            add(f"Soak: {_why_missing(results, 'soak')}")
        else:
            every = soak["all"]
            add(
                f"Soak ({_fmt(soak['seconds'], 0)}s, {soak['concurrency']} connections, gunicorn"
                f" and a Celery worker: {soak['processes']} processes)"
            )
            add(f"  {'request':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
            for name, part in [*soak["kinds"].items(), ("all", every)]:
                add(
                    f"  {name:<20} {_fmt(part['rps']):>8} {_fmt(part['p50_ms'], 2):>8} "
                    f"{_fmt(part['p99_ms'], 2):>8}  {part['statuses']}"
                    + (f" and {part['errors']} errors" if part["errors"] else "")
                )
            add(
                f"  unexpected answers: {soak['unexpected'] or 'none'};"
                f" RSS per process, peak of each half (MiB): {soak['rss_first_half_mib']}"
                f" -> {soak['rss_second_half_mib']}; session rows written:"
                f" {soak['sessions_written']}"
            )

    add("")
    add("Targets")
    for row in results.get("targets") or []:
        value = row["value"]
        shown = _fmt(value, 2) if isinstance(value, float) else _fmt(value)
        detail = row.get("margin") or row.get("why") or ""
        note = f" ({row['note']})" if row.get("note") else ""
        add(
            f"  {row['status']:<4} {row['label']:<48} {shown:>10} {row['target']:>10}  "
            f"{detail}{note}"
        )
    add("")
    add(f"Run time {_fmt(results.get('run_seconds'))}s")
    return "\n".join(lines)
