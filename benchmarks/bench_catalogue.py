"""Benchmark: the site catalogue at 100,000 episodes, and `tg site reindex`.

Synthetic rows on the real schema (``tg_site.Catalogue`` on SQLite in WAL mode,
migrated by its Alembic revisions): one real episode's record copied under
100,000 ids with varied stations, operators, robots, tasks, datasets, review
states, QA results, durations, sizes, instructions (some Chinese) and start
times over 90 days. Then, in this one run:

* ``insert``: rows per second through ``Catalogue.upsert_many`` (5,000 per transaction);
* ``queries``: filter + sort + one page (100 rows), each query repeated, its
  second page too (keyset cursor): p50 and p95 ms per query and over all; goal p95 < 50 ms;
* ``reindex``: real small episodes (two cameras' worth of frames are not the point:
  opening, metadata, QA and annotation groups, hashing) committed into a store,
  reindexed three ways: every file new to the catalogue (hashed), again with
  nothing changed (hashes reused), again with ``verify_hashes``: episodes per second.

One JSON document goes to stdout (and to ``--out``); progress to stderr.

    python benchmarks/bench_catalogue.py [--rows 100000] [--repeat 30] [--reindex-episodes 200] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_writer import _load_average, _machine  # noqa: E402

import episodes  # noqa: E402
from tests.tg_site.site_episodes import make_episode  # noqa: E402
from tg_site import Catalogue, EpisodeQuery, EpisodeRecord, ReindexOptions, Store, record_from_file, reindex  # noqa: E402

GOAL_P95_MS = 50.0
_DAY_NS = 86_400 * 10**9
_INSTRUCTIONS = (
    "put the red cube in the blue bin",
    "fold the towel",
    "open the drawer and take out the cup",
    "把红色方块放进蓝色箱子",
    "叠毛巾",
    "pour water into the glass",
    "hand the screwdriver to the person",
    "wipe the table",
)


def _log(msg: str) -> None:
    print(f"[bench_catalogue] {msg}", file=sys.stderr, flush=True)


def _rows(base: EpisodeRecord, n: int, seed: int = 1) -> list[EpisodeRecord]:
    rng = random.Random(seed)
    start = 1_790_000_000 * 10**9
    ids = sorted(episodes.new_episode_id() for _ in range(n))
    states = ("pending", "pending", "approved", "approved", "approved", "rejected")
    out = []
    for i, episode_id in enumerate(ids):
        qa = rng.random() > 0.15
        out.append(
            dataclasses.replace(
                base,
                episode_id=episode_id,
                raw_digest=f"{rng.getrandbits(256):064x}",
                file_sha256=f"{rng.getrandbits(256):064x}",
                dataset=f"dataset-{i % 5}",
                robot_profile=("kuavo", "g1", "h1")[i % 3],
                task_id=f"task-{i % 10}",
                task=f"task_{i % 10}",
                instruction=_INSTRUCTIONS[i % len(_INSTRUCTIONS)],
                operator=f"op-{rng.randrange(20)}",
                station=f"st-{rng.randrange(40):02d}",
                recorded_at_ns=start + rng.randrange(90 * _DAY_NS),
                duration_s=rng.uniform(10, 120),
                success=rng.random() > 0.3,
                qa_passed=qa,
                qa_errors={} if qa else {"episode.duration": 1},
                review_state=rng.choice(states),
                size_bytes=rng.randrange(50_000_000, 800_000_000),
            )
        )
    return out


def _queries(start_ns: int) -> dict[str, EpisodeQuery]:
    return {
        "newest_of_one_station": EpisodeQuery(station=("st-07",), sort="recorded_at", descending=True),
        "approved_qa_passed_kuavo_by_duration": EpisodeQuery(
            robot=("kuavo",), review_state=("approved",), qa_passed=True, sort="duration", descending=True
        ),
        "pending_review_oldest_first": EpisodeQuery(review_state=("pending",), sort="recorded_at"),
        "task_in_one_week_successful": EpisodeQuery(
            task_id=("task-3",),
            success=True,
            since_ns=start_ns + 30 * _DAY_NS,
            until_ns=start_ns + 37 * _DAY_NS,
        ),
        "instruction_text_chinese": EpisodeQuery(
            instruction_text="毛巾", sort="recorded_at", descending=True
        ),
        "instruction_text_and_station": EpisodeQuery(instruction_text="drawer", station=("st-01", "st-02")),
        "everything_by_size": EpisodeQuery(sort="size", descending=True),
        "dataset_and_operator_by_station": EpisodeQuery(
            dataset=("dataset-2",), operator=("op-4",), sort="station"
        ),
    }


def _time_queries(catalogue: Catalogue, queries: dict[str, EpisodeQuery], repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    everything: list[float] = []
    for name, query in queries.items():
        first: list[float] = []
        second: list[float] = []
        rows = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            page = catalogue.query(query)
            first.append((time.perf_counter() - t0) * 1000)
            rows = len(page.records)
            if page.next_cursor is not None:
                t0 = time.perf_counter()
                catalogue.query(query.page_after(page.next_cursor))
                second.append((time.perf_counter() - t0) * 1000)
        everything += first + second
        results[name] = {
            "rows_on_page": rows,
            "p50_ms": round(statistics.median(first), 2),
            "p95_ms": round(_p95(first), 2),
            "second_page_p95_ms": round(_p95(second), 2) if second else None,
        }
        _log(f"{name}: p95 {results[name]['p95_ms']} ms")
    return {
        "per_query": results,
        "p95_ms_all": round(_p95(everything), 2),
        "p50_ms_all": round(statistics.median(everything), 2),
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _bench_reindex(work: Path, count: int) -> dict[str, Any]:
    store = Store(work / "reindex-store")
    made = work / "made"
    for k in range(count):
        path = make_episode(made / str(k), seed=k)
        if k % 4 == 0:  # a quarter carry QA and annotation groups, as arrived episodes do
            episodes.validate_episode(path, write=True)
            episodes.annotate_episode(path)
        store.commit(path, path.stem)
    total_bytes = sum(p.stat().st_size for p in store.iter_episodes())
    out: dict[str, Any] = {"episodes": count, "mean_file_bytes": total_bytes // max(1, count)}
    with Catalogue.open(store) as catalogue:
        for label, options in (
            ("first_all_new", ReindexOptions()),
            ("again_unchanged", ReindexOptions()),
            ("again_verify_hashes", ReindexOptions(verify_hashes=True)),
        ):
            report = reindex(store, catalogue, options)
            out[label] = {
                "seconds": round(report.seconds, 3),
                "episodes_per_s": round(report.scanned / report.seconds, 1),
                "uncatalogued": len(report.uncatalogued),
                "changed": len(report.changed),
            }
            _log(f"reindex {label}: {out[label]['episodes_per_s']} episodes/s")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reindex-episodes", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-catalogue-") as tmp:
        work = Path(tmp)
        base = record_from_file(make_episode(work / "base"))
        store = Store(work / "store")
        rows = _rows(base, args.rows)
        load_before = _load_average()
        with Catalogue.open(store) as catalogue:
            t0 = time.perf_counter()
            for at in range(0, len(rows), 5000):
                catalogue.upsert_many(rows[at : at + 5000])
            insert_s = time.perf_counter() - t0
            _log(f"inserted {len(rows)} rows in {insert_s:.1f} s")
            queries = _time_queries(catalogue, _queries(min(r.recorded_at_ns for r in rows)), args.repeat)
        database_bytes = store.catalogue_path.stat().st_size
        reindexed = _bench_reindex(work, args.reindex_episodes)
    doc = {
        "benchmark": "bench_catalogue",
        "machine": _machine(),
        "load_average_before": load_before,
        "load_average_after": _load_average(),
        "rows": args.rows,
        "database_bytes": database_bytes,
        "insert": {"seconds": round(insert_s, 2), "rows_per_s": round(args.rows / insert_s)},
        "queries": queries,
        "reindex": reindexed,
        "goals": {
            "query_p95_ms": {
                "target": f"< {GOAL_P95_MS:g}",
                "value": queries["p95_ms_all"],
                "pass": queries["p95_ms_all"] < GOAL_P95_MS,
            }
        },
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
