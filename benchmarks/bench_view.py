"""Benchmark: `tg view --save` time per episode minute with three cameras, against reading the episode.

Records a synthetic episode of ``--duration`` seconds with the sim_humanoid
profile's own cameras (head 640x480, two wrists 320x240, all 30 Hz JPEG), joint
state at 500 Hz and actions at 100 Hz, then writes it as an .rrd file with
``tg_view.save_episodes`` (goal: 3 s or less per episode minute). The baseline,
measured in the same run on the same file, is a plain read of every stream
(every frame's bytes, every value) through the reader, which the viewer cannot
beat: the difference is what Rerun's logging and the .rrd file cost.

One JSON document goes to stdout (and to ``--out``); progress goes to stderr.

    python benchmarks/bench_view.py [--duration 60] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import episodes  # noqa: E402
import tg_view  # noqa: E402
from sim_envs import record_synthetic_episode  # noqa: E402
from tg_config import load_session  # noqa: E402


def _episode(tmp: Path, duration_s: float) -> Path:
    data = {
        "profile": "sim_humanoid",
        "task": {"name": "pick_place", "instruction": "put the red cube in the blue bin"},
        "out": str(tmp / "out"),
    }
    path = tmp / "session.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return record_synthetic_episode(load_session(path).resolve(), duration_s=duration_s, seed=1)


def _read_all(path: Path) -> float:
    started = time.perf_counter()
    with episodes.open(path) as ep:
        for name in ep.stream_names:
            for block in ep.iter_samples(name, max_rows=1024):
                if isinstance(block, episodes.ImageSamples):
                    sum(len(image.data) for image in block.images)
    return time.perf_counter() - started


def _streams(path: Path) -> dict[str, Any]:
    with episodes.open(path) as ep:
        return {name: {"samples": s.count, "rate_hz": s.spec.rate_hz} for name, s in ep.streams.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="episode seconds (default 60)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tg-bench-view-") as tmp:
        print(f"recording a {args.duration:g} s synthetic episode with three cameras", file=sys.stderr)
        path = _episode(Path(tmp), args.duration)
        read_s = _read_all(path)
        print("saving it as .rrd", file=sys.stderr)
        started = time.perf_counter()
        (view,) = tg_view.save_episodes([path], Path(tmp) / "episode.rrd")
        save_s = time.perf_counter() - started
        result = {
            "benchmark": "bench_view",
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            },
            "episode_s": args.duration,
            "streams": _streams(path),
            "episode_mb": round(path.stat().st_size / 1e6, 1),
            "rrd_mb": round(Path(view.output).stat().st_size / 1e6, 1),
            "save_s": round(save_s, 3),
            "save_s_per_episode_minute": round(save_s * 60 / args.duration, 3),
            "baseline_read_all_s": round(read_s, 3),
            "save_cost_factor": round(save_s / max(read_s, 1e-9), 2),
            "robot_posed_joints": len(view.robot.posed_joints),
            "goal_s_per_episode_minute": 3.0,
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
