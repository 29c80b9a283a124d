"""`tg export` throughput: LeRobot and robomimic exports vs decoding the same frames (the floor).

Records synthetic episodes of launch/sim_pick_place.yaml (head 320x240, two wrist cameras
160x120, 15 Hz aligned, sim_humanoid's 28 joints), then in the same run:

* baseline: read and decode every exported camera frame, nothing written (what any exporter pays);
* ``episodes.export_lerobot`` (AV1 video through PyAV) and ``episodes.export_robomimic``.

Prints one JSON document: seconds, aligned frames per second, output size next to the source
size, and the load average (2 cores are shared, so contention shows).

    .venv/bin/python benchmarks/bench_export.py [--episodes 3] [--seconds 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import episodes  # noqa: E402
from sim_envs import record_synthetic_episode  # noqa: E402
from tg_config import load_session  # noqa: E402


def size_of(path: Path) -> int:
    return (
        path.stat().st_size
        if path.is_file()
        else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    )


UNCHECKED = episodes.ExportOptions(filter=episodes.EpisodeFilter(qa="any"))
"""The generated episodes are never validated: export them all, as before QA gated exports."""


def decode_all(dataset: Path) -> tuple[int, int]:
    """Every aligned camera frame of every episode, decoded: (ticks, frames)."""
    selection = episodes.select_episodes(dataset, UNCHECKED.filter)
    layout = episodes.sample_layout(selection.episodes[0])
    ticks = frames = 0
    for entry in selection.episodes:
        with episodes.open(entry.path) as reader:
            aligned = episodes.load_aligned(entry, layout, reader=reader)
            ticks += len(aligned)
            start, stop = int(aligned.time_ns[0]), int(aligned.time_ns[-1]) + 1
            for frame in reader.iter_aligned(start, stop, streams=list(layout.camera_names), block=64):
                for image in frame.images.values():
                    image.decode()
                    frames += 1
    return ticks, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dataset = work / "dataset"
        run = (
            load_session(REPO / "launch/sim_pick_place.yaml")
            .model_copy(update={"out": str(dataset)})
            .resolve()
        )
        for seed in range(args.episodes):
            record_synthetic_episode(run, duration_s=args.seconds, seed=seed, success=True)
        source_bytes = size_of(dataset)
        results: dict[str, dict[str, float]] = {}
        # Best of --repeat runs each, after one untimed pass that warms the page cache and imports.
        decode_all(dataset)
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            ticks, decoded = decode_all(dataset)
            best = min(best, time.perf_counter() - t)
        results["baseline_decode_only"] = {"seconds": best, "ticks_per_s": ticks / best}
        for name, exporter, suffix in (
            ("lerobot", episodes.export_lerobot, ""),
            ("robomimic", episodes.export_robomimic, ".hdf5"),
        ):
            best = float("inf")
            for k in range(args.repeat):
                out = work / f"{name}{k}{suffix}"
                t = time.perf_counter()
                result = exporter(dataset, out, UNCHECKED)
                best = min(best, time.perf_counter() - t)
            results[name] = {
                "seconds": best,
                "ticks_per_s": result.frames / best,
                "baseline_seconds_over_this": results["baseline_decode_only"]["seconds"] / best,
                "output_mb": size_of(out) / 1e6,
            }
            if "codec" in result.details:
                results[name]["codec"] = result.details["codec"]
    print(
        json.dumps(
            {
                "benchmark": "export",
                "episodes": args.episodes,
                "seconds_per_episode": args.seconds,
                "aligned_ticks": ticks,
                "camera_frames": decoded,
                "source_mb": source_bytes / 1e6,
                "results": results,
                "loadavg": os.getloadavg(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
