"""Benchmark: ingesting a Kuavo-style ROS 1 bag vs a plain rosbags pass over the same bag.

The bag is synthetic and written first (not timed): 60 s of a Kuavo 4 Pro
recording as ``tests/collectors/bagfixtures.py`` builds it for the tests:
three 640x480 compressed cameras at 30 Hz (textured JPEG, quality 90, about
100 KB each; 60 distinct frames per camera, cycled, since ingestion stores them
without decoding), the ``/sensors_data_raw`` state (28 joints x 4 arrays, IMU)
at 500 Hz, the claw state at 500 Hz and the arm command at 100 Hz. It is
written by a child process and synced to disk before anything is timed.

* ``read_only``: ``rosbags.highlevel.AnyReader`` reads and deserialises every
  message of the bag and does nothing else: the floor any ingestion sits on.
* ``ingest``: ``collectors.ingest_bag`` with the shipped ``kuavo4pro`` profile,
  from opening the bag to the episode's final ``<id>.h5`` (fsync included).

``seconds`` are wall times, ``cpu_s`` the process's CPU time (all threads): the
writer's I/O thread runs beside the reading, so on a busy machine the two differ.

Each pass runs ``--repeats`` times, alternating, after one untimed pass of each
(page cache, imports); the best time of each counts. Goal: ingest takes at most
twice the read-only pass. One JSON document goes to stdout, progress to stderr.

    python benchmarks/bench_ingest.py [--duration 60] [--repeats 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rosbags.highlevel import AnyReader  # noqa: E402

from collectors import ingest_bag  # noqa: E402
from tests.collectors.bagfixtures import write_kuavo_bag  # noqa: E402
from tg_config import load_profile  # noqa: E402

GOAL_RATIO = 2.0


def read_only(bag: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, messages) of reading and deserialising every message."""
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    with AnyReader([bag]) as reader:
        for conn, _, raw in reader.messages():
            reader.deserialize(raw, conn.msgtype)
            count += 1
    return time.perf_counter() - start, time.process_time() - cpu, count


def ingest(bag: Path, out: Path) -> tuple[float, float, int, Path]:
    """(wall s, CPU s of all threads, messages, episode) of ingesting the bag."""
    profile = load_profile("kuavo4pro")
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_bag(bag, profile, out)
    return time.perf_counter() - start, time.process_time() - cpu, result.messages, result.episodes[0]


def generate(bag: Path, duration_s: float) -> None:
    write_kuavo_bag(
        bag,
        load_profile("kuavo4pro"),
        duration_s=duration_s,
        sensor_hz=500,
        camera_hz=30,
        arm_hz=100,
        claw_hz=500,
        size=(640, 480),
        distinct_frames=60,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of recording in the bag")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the bag and episodes here and keep them")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # internal: write the bag only
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.duration)
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="tg-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bag = work / "kuavo_bench.bag"
        bag.unlink(missing_ok=True)
        print(f"writing a {args.duration:g} s bag to {bag} ...", file=sys.stderr)
        t0 = time.perf_counter()
        # In a child process: generating holds the whole bag in memory, which the measuring
        # process should not inherit.
        subprocess.run(
            [sys.executable, __file__, "--generate", str(bag), "--duration", str(args.duration)], check=True
        )
        generate_s = time.perf_counter() - t0
        size = bag.stat().st_size
        # Untimed: the new bag's pages reach the disk now, not while a pass is timed; then one
        # pass of each warms the page cache and the process (imports, message type code).
        fd = os.open(bag, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        read_only(bag)
        shutil.rmtree(ingest(bag, work / "warm_up")[3].parent)

        reads: list[float] = []
        ingests: list[float] = []
        read_cpu: list[float] = []
        ingest_cpu: list[float] = []
        episode_mb = 0.0
        messages = ingested = 0
        for k in range(args.repeats):
            print(f"repeat {k + 1}/{args.repeats} ...", file=sys.stderr)
            seconds, cpu, messages = read_only(bag)
            reads.append(seconds)
            read_cpu.append(cpu)
            out = work / f"episodes_{k}"
            seconds, cpu, ingested, episode = ingest(bag, out)
            ingests.append(seconds)
            ingest_cpu.append(cpu)
            episode_mb = episode.stat().st_size / 1e6
            if not args.keep:
                shutil.rmtree(out)
        best_read, best_ingest = min(reads), min(ingests)
        ratio = best_ingest / best_read
        report: dict[str, Any] = {
            "benchmark": "bench_ingest",
            "bag": {
                "duration_s": args.duration,
                "size_mb": round(size / 1e6, 1),
                "messages": messages,
                "generate_s": round(generate_s, 2),
            },
            "read_only": {
                "seconds": [round(s, 3) for s in reads],
                "best_s": round(best_read, 3),
                "cpu_s": [round(s, 3) for s in read_cpu],
                "mb_per_s": round(size / 1e6 / best_read, 1),
                "msgs_per_s": round(messages / best_read),
            },
            "ingest": {
                "seconds": [round(s, 3) for s in ingests],
                "best_s": round(best_ingest, 3),
                "cpu_s": [round(s, 3) for s in ingest_cpu],
                "mb_per_s": round(size / 1e6 / best_ingest, 1),
                "msgs_per_s": round(ingested / best_ingest),
                "messages_ingested": ingested,
                "episode_mb": round(episode_mb, 1),
                "realtime_factor": round(args.duration / best_ingest, 1),
            },
            "ratio_ingest_over_read_only": round(ratio, 2),
            "goal": {
                "target": f"ingest <= {GOAL_RATIO:g} x read_only",
                "value": round(ratio, 2),
                "pass": ratio <= GOAL_RATIO,
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
                "work_dir": str(work),
            },
        }
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
