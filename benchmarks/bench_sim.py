"""Benchmark: simulated episodes per hour, and where the time goes.

Records episodes of the default demo session (``launch/sim_pick_place.yaml``:
joint state at 200 Hz, a 320x240 head camera and two 160x120 wrist cameras at
15 Hz, the CPU renderer unless a GPU is present) with ``tg collect --no-ros``'s
loop, and splits each episode's wall time into setup, inverse kinematics,
physics, control, state sampling, rendering and writing (appending plus
finalising the file). The baseline, measured in the same run on the same
seeds, is the physics-only episode: the same simulation with nothing rendered
or written, i.e. what recording adds.

One JSON document goes to stdout (and to ``--out``); progress goes to stderr.

    python benchmarks/bench_sim.py [--episodes 3] [--config launch/sim_pick_place.yaml] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim_envs import (  # noqa: E402
    SimEpisode,
    SimSetup,
    collect_sim,
)
from tg_config import load_session  # noqa: E402

PARTS = ("setup", "ik", "physics", "control", "state", "render", "write")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _recorded(config: Path, episodes: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tg-bench-sim-") as tmp:
        session = load_session(config).model_copy(update={"out": tmp, "dataset": None})
        run = session.resolve()
        cpu0, wall0 = _cpu_s(), time.perf_counter()
        walls: list[float] = []
        last = [wall0]

        def done(record: Any) -> None:
            now = time.perf_counter()
            walls.append(now - last[0])
            last[0] = now
            print(f"  recorded seed {record.outcome.seed}: {walls[-1]:.1f} s", file=sys.stderr)

        records = collect_sim(run, episodes=episodes, seed=seed, on_episode=done)
        wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
        size = sum(r.path.stat().st_size for r in records)
    split = {p: sum(getattr(r.outcome.timings, p) for r in records) for p in PARTS}
    split["write"] += sum(r.close_s for r in records)
    split["other"] = max(0.0, wall - sum(split.values()))
    sim_s = sum(r.outcome.duration_ns for r in records) / 1e9
    streams = {
        s.name: {"rate_hz": s.rate_hz, **({"size": f"{s.width}x{s.height}"} if hasattr(s, "width") else {})}
        for s in run.streams
    }
    return {
        "episodes": len(records),
        "renderer": records[0].renderer if records else "",
        "streams": streams,
        "physics_hz": SimSetup.from_session(run).physics_hz,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_cores_used": round(cpu / wall, 2),
        "simulated_s": round(sim_s, 2),
        "episode_wall_s": [round(w, 2) for w in walls],
        "episodes_per_hour": round(3600 * len(records) / wall, 1),
        "simulated_minutes_per_hour": round(60 * sim_s / wall, 1),
        "realtime_factor": round(sim_s / wall, 3),
        "split_s": {k: round(v, 2) for k, v in split.items()},
        "split_share": {k: round(v / wall, 3) for k, v in split.items()},
        "file_mb_per_episode": round(size / 1e6 / max(1, len(records)), 2),
        "successes": sum(r.outcome.success for r in records),
    }


def _physics_only(config: Path, episodes: int, seed: int) -> dict[str, Any]:
    setup = SimSetup.from_session(load_session(config).resolve())
    wall0 = time.perf_counter()
    sim_ns = 0
    split = dict.fromkeys(PARTS, 0.0)
    for i in range(episodes):
        with SimEpisode(setup, seed + i) as episode:
            outcome = episode.run()
        sim_ns += outcome.duration_ns
        for p in PARTS:
            split[p] += getattr(outcome.timings, p)
    wall = time.perf_counter() - wall0
    return {
        "episodes": episodes,
        "wall_s": round(wall, 2),
        "simulated_s": round(sim_ns / 1e9, 2),
        "episodes_per_hour": round(3600 * episodes / wall, 1),
        "realtime_factor": round(sim_ns / 1e9 / wall, 2),
        "split_s": {k: round(v, 2) for k, v in split.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "launch" / "sim_pick_place.yaml")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(f"physics-only baseline: {args.episodes} episode(s)", file=sys.stderr)
    baseline = _physics_only(args.config, args.episodes, args.seed)
    print(f"recording {args.episodes} episode(s) of {args.config}", file=sys.stderr)
    recorded = _recorded(args.config, args.episodes, args.seed)
    result = {
        "benchmark": "bench_sim",
        "config": str(args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        },
        "recorded": recorded,
        "baseline_physics_only": baseline,
        "recording_cost_factor": round(recorded["wall_s"] / max(baseline["wall_s"], 1e-9), 1),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
