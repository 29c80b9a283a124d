"""Benchmark: the same `validate` + `annotate` job on local processes and on Ray, and Ray's costs.

A dataset of full-load episodes (``bench_qa``'s: three 640x480 JPEG cameras at
30 Hz, 28 joints at 500 Hz, ...; 10 episodes of 30 s are about 2.2 GB) is
generated (not timed). Then, in this one run:

* ``overhead``: ``validate_episodes`` then ``annotate_episodes`` (every file
  written) over ``tg_exec.LocalExecutor(2)`` and over a private single-machine
  Ray with 2 CPUs (``RayExecutor(workers=2)``), alternating, ``--repeat``
  rounds, warm (files in the page cache) and cold (evicted with
  ``posix_fadvise(DONTNEED)`` before each pass); Ray's start is timed apart.
* ``split``: on a three-node ``ray.cluster_utils.Cluster`` (one CPU each), what
  one episode costs under Ray: reading its bytes, computing (validate and
  annotate without writing), writing the annotations, scheduling (no-op task
  round trips), and moving a result through the object store (its pickled size
  and the time of a ``ray.get`` of it). On 2 cores three nodes measure overhead,
  not speed-up.

Ray binds to the host's network address: as root, the run re-executes itself in
a loopback-only network namespace (``unshare -n``), as the tests do; ``--here``
runs it where it is. One JSON document goes to stdout (and ``--out``); progress to stderr.

    python benchmarks/bench_executor.py [--episodes 10] [--seconds 30] [--repeat 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import ray  # noqa: E402
from bench_ingest import generate  # noqa: E402
from bench_qa import evict, make_dataset, read_all, strip_annotations  # noqa: E402
from bench_writer import _goal, _load_average, _machine  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

import episodes  # noqa: E402
from collectors import ingest_bag  # noqa: E402
from tg_config import load_profile, qa_config  # noqa: E402
from tg_exec import Executor, LocalExecutor, RayExecutor, default_workers  # noqa: E402

GOAL_RAY_OVER_LOCAL = 1.15
_NOOP_TASKS = 300


def _log(msg: str) -> None:
    print(f"[bench_executor] {msg}", file=sys.stderr, flush=True)


def _noop(item: int) -> int:
    return item


def job(executor: Executor, paths: list[Path], qa: episodes.QaConfig) -> dict[str, float]:
    """The measured job: validate every episode, then annotate every one (each file written)."""
    started = time.perf_counter()
    reports = episodes.validate_episodes(paths, qa, executor=executor)
    validated = time.perf_counter()
    results = episodes.annotate_episodes(paths, qa, executor=executor)
    done = time.perf_counter()
    failed = [r.path for r in reports if not r.passed] + [r.path for r in results if r.error]
    if failed or not all(r.changed for r in results):
        raise SystemExit(f"the job did not do its work: failed {failed}")
    return {
        "validate_s": round(validated - started, 3),
        "annotate_s": round(done - validated, 3),
        "total_s": round(done - started, 3),
    }


def overhead(paths: list[Path], qa: episodes.QaConfig, repeat: int) -> dict[str, Any]:
    """Local processes vs Ray on the same cores, alternating, warm and cold."""
    # Each executor's start (Ray's processes; the local pool's spawned workers importing numpy,
    # h5py and OpenCV) is timed apart, then the job runs on started executors, as in a service.
    started = time.perf_counter()
    ray = RayExecutor(workers=2)
    ray.map(_noop, [0, 1], on_failure=lambda i, why: -1)
    ray_start_s = time.perf_counter() - started
    started = time.perf_counter()
    local = LocalExecutor(2)
    local.map(_noop, [0, 1], on_failure=lambda i, why: -1)
    local_start_s = time.perf_counter() - started
    runs: dict[str, list[dict[str, float]]] = {}
    try:
        for round_ in range(repeat):
            for cache in ("warm", "cold"):
                for name, executor in (("local", local), ("ray", ray)):
                    strip_annotations(paths)
                    if cache == "cold":
                        evict(paths)
                    else:
                        for path in paths:
                            read_all(path)
                    figures = job(executor, paths, qa)
                    figures["load_1min_after"] = round(os.getloadavg()[0], 2)
                    runs.setdefault(f"{cache}_{name}", []).append(figures)
                    _log(f"round {round_ + 1}, {cache}, {name}: {figures}")
    finally:
        ray.close()
        local.close()
    best = {key: min(tries, key=lambda x: x["total_s"]) for key, tries in runs.items()}
    ratios = {
        cache: round(best[f"{cache}_ray"]["total_s"] / best[f"{cache}_local"]["total_s"], 3)
        for cache in ("warm", "cold")
    }
    return {
        "start_s": {"ray": round(ray_start_s, 2), "local": round(local_start_s, 2)},
        "runs": runs,
        "best": best,
        "ray_over_local": ratios,
    }


def _in_worker(work: Callable[[Path], Any], path: Path) -> tuple[float, float]:
    """(wall s, CPU s of its process) of ``work(path)`` in the worker: no scheduling, no transfer."""
    started, cpu = time.perf_counter(), time.process_time()
    work(path)
    return time.perf_counter() - started, time.process_time() - cpu


def _per_item(executor: Executor, work: Callable[[Path], Any], paths: list[Path]) -> dict[str, float]:
    """Median wall and CPU seconds of ``work`` per item, measured in the workers."""
    nan = (float("nan"), float("nan"))
    times = executor.map(functools.partial(_in_worker, work), paths, on_failure=lambda p, why: nan)
    return {
        "wall_s": round(statistics.median(t[0] for t in times), 3),
        "cpu_s": round(statistics.median(t[1] for t in times), 3),
    }


def _ingest_one(out: Path, bag: Path) -> Any:
    return ingest_bag(bag, load_profile("kuavo4pro"), out / bag.stem)


def split(paths: list[Path], qa: episodes.QaConfig, bag_seconds: float) -> dict[str, Any]:
    """Per-episode cost split on a three-node local cluster (one CPU each)."""
    node = {"num_cpus": 1, "object_store_memory": 200 * 1024**2}
    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    start_s = time.perf_counter() - started
    try:
        with RayExecutor(cluster.address) as executor:
            figures = _split_on(executor, paths, qa, start_s)
            figures["ingest_per_bag"] = ingest_split(executor, paths[0].parent / "ingest", bag_seconds, 3)
            figures["export_lerobot"] = export_split(executor, paths[:3])
            return figures
    finally:
        cluster.shutdown()


def _split_on(
    executor: RayExecutor, paths: list[Path], qa: episodes.QaConfig, start_s: float
) -> dict[str, Any]:
    strip_annotations(paths)
    costs = {
        "read_bytes_h5py": _per_item(executor, read_all, paths),
        "validate": _per_item(executor, functools.partial(episodes.validate_episode, config=qa), paths),
        "annotate_compute_only": _per_item(
            executor, functools.partial(episodes.annotate_episode, config=qa, write=False), paths
        ),
        "annotate_with_write": _per_item(
            executor, functools.partial(episodes.annotate_episode, config=qa), paths
        ),
    }
    costs["write_annotations"] = {
        key: round(max(0.0, costs["annotate_with_write"][key] - costs["annotate_compute_only"][key]), 3)
        for key in ("wall_s", "cpu_s")
    }
    started = time.perf_counter()
    executor.map(_noop, list(range(_NOOP_TASKS)), on_failure=lambda i, why: -1)
    noop_ms = (time.perf_counter() - started) / _NOOP_TASKS * 1000
    report = episodes.validate_episode(paths[0], qa)
    annotated = episodes.annotate_episode(paths[0], qa, write=False)
    result_bytes = {"validate": len(pickle.dumps(report)), "annotate": len(pickle.dumps(annotated))}
    ref = ray.put(annotated)
    started = time.perf_counter()
    for _ in range(100):
        ray.get(ref)
    get_ms = (time.perf_counter() - started) / 100 * 1000
    return {
        "cluster_start_s": round(start_s, 2),
        "nodes": 3,
        "episode_mb": round(statistics.median(p.stat().st_size for p in paths) / 1e6, 1),
        "median_per_episode": costs,
        "scheduling_ms_per_task": round(noop_ms, 2),
        "result_bytes": result_bytes,
        "object_get_ms": round(get_ms, 3),
    }


def export_split(executor: RayExecutor, paths: list[Path]) -> dict[str, Any]:
    """`tg export --format lerobot` of ``paths`` (at their recorded size) on the cluster: CPU seconds
    per episode, taken as wall time x the cores the cluster really has / episodes (an upper bound:
    the merge and the jobs' uneven ends count too; three one-CPU nodes on a 2-core machine share
    its 2 cores)."""
    source = paths[0].parent / "export_source"
    source.mkdir(exist_ok=True)
    for path in paths:
        os.link(path, source / path.name)
    out = paths[0].parent / "export_out"
    started = time.perf_counter()
    result = episodes.export_lerobot(
        source, out, episodes.ExportOptions(filter=episodes.EpisodeFilter(qa="any")), executor=executor
    )
    wall = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out)
    shutil.rmtree(source)
    return {
        "episodes": result.episodes,
        "frames": result.frames,
        "codec": result.details.get("codec"),
        "wall_s": round(wall, 2),
        "cpu_s_per_episode_at_most": round(wall * min(executor.cpus, default_workers()) / len(paths), 2),
        "output_mb": round(size / 1e6, 1),
    }


def ingest_split(executor: RayExecutor, root: Path, seconds: float, bags: int) -> dict[str, Any]:
    """Per-bag cost of `tg ingest` under Ray: one Kuavo 4 Pro bag of ``seconds`` (three 640x480
    cameras at 30 Hz), copied ``bags`` times, each ingested by a task into its own folder."""
    source = root / "bags" / "kuavo.bag"
    source.parent.mkdir(parents=True, exist_ok=True)
    generate(source, seconds)  # bench_ingest's bag
    copies = [source.with_name(f"kuavo{i}.bag") for i in range(bags)]
    for copy in copies:
        shutil.copyfile(source, copy)
    out = root / "ingested"
    costs = _per_item(executor, functools.partial(_ingest_one, out), copies)
    return {"bag_mb": round(source.stat().st_size / 1e6, 1), "bag_seconds": seconds, **costs}


def _in_namespace(argv: list[str]) -> int | None:
    """Run this benchmark again in a loopback-only network namespace (as root); its exit code."""
    if os.environ.get("TG_BENCH_NETNS") or "--here" in argv or shutil.which("unshare") is None:
        return None
    if subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode != 0:
        return None
    script = 'ip link set lo up && exec "$0" "$@"'
    env = {**os.environ, "TG_BENCH_NETNS": "1"}
    command = ["unshare", "-n", "sh", "-c", script, sys.executable, __file__, *argv]
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    again = _in_namespace(argv)
    if again is not None:
        return again
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10, help="episodes (default 10: about 2.2 GB)")
    parser.add_argument("--unique", type=int, default=2, help="distinct recordings; the rest are copies")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per episode (default 30)")
    parser.add_argument("--bag-seconds", type=float, default=30.0, help="seconds of each ingested bag")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; each case keeps its fastest")
    parser.add_argument("--here", action="store_true", help="no network namespace")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--out", type=Path, help="also write the JSON document to this file")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="tg-bench-executor-"))
    root.mkdir(parents=True, exist_ok=True)
    load_before = _load_average()
    try:
        existing = sorted(root.glob("*.h5"))
        if len(existing) >= args.episodes:
            paths, run = existing[: args.episodes], None
        else:
            paths, run = make_dataset(root, args.episodes, min(args.unique, args.episodes), args.seconds)
        with episodes.open(paths[0]) as first:
            robot = first.metadata.robot.profile
        qa = qa_config(load_profile(robot), run)
        size = sum(p.stat().st_size for p in paths)
        _log(f"{len(paths)} episodes, {size / 1e9:.2f} GB")
        result = {
            "benchmark": "executor",
            "machine": _machine(),
            "load_before": load_before,
            "dataset": {"episodes": len(paths), "gb": round(size / 1e9, 2), "seconds_each": args.seconds},
            "overhead": overhead(paths, qa, args.repeat),
            "split": split(paths, qa, args.bag_seconds),
            "load_after": _load_average(),
        }
        ratios = result["overhead"]["ray_over_local"]
        result["goals"] = {
            f"ray_within_15pct_{cache}": _goal(
                f"<= {GOAL_RAY_OVER_LOCAL}", ratio, ratio <= GOAL_RAY_OVER_LOCAL
            )
            for cache, ratio in ratios.items()
        }
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
