"""Benchmark: `tg replay` speed (physics only) and the tracking error it finds on clean episodes.

Records ``--episodes`` physics-only episodes of the pick-and-place session (the
demo session with its cameras off: joint state at 200 Hz, physics at 200 Hz),
then replays each with ``sim_envs.replay_episode``: the wall time, the real-time
factor (goal: 5x or more on 2 cores) and the RMS/max joint error (goal: 0.01 rad
or less for these --no-ros episodes). The baseline, measured in the same run on
the same seeds, is the original physics-only simulation of each episode
(operator, IK and physics, nothing recorded): what the replay costs against
simulating the episode in the first place.

One JSON document goes to stdout (and to ``--out``); progress goes to stderr.

    python benchmarks/bench_replay.py [--episodes 3] [--seed 0] [--out FILE]
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

from sim_envs import SimEpisode, SimSetup, collect_sim, replay_episode  # noqa: E402
from tg_config import ResolvedSession, load_session  # noqa: E402


def _session(tmp: Path) -> ResolvedSession:
    """The demo session, cameras off, failures off, recorded into ``tmp``."""
    data = yaml.safe_load((REPO / "launch/sim_pick_place.yaml").read_text(encoding="utf-8"))
    data.update(
        out=str(tmp / "out"),
        cameras={name: {"enabled": False} for name in data["cameras"]},
        master_stream="joint_position",
        sim={**data["sim"], "renderer": "none", "failure_rate": 0.0},
    )
    data.pop("dataset", None)
    path = tmp / "session.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_session(path).resolve()


def _baseline(run: ResolvedSession, episodes: int, seed: int) -> dict[str, Any]:
    setup = SimSetup.from_session(run)
    wall0, sim_ns = time.perf_counter(), 0
    for i in range(episodes):
        with SimEpisode(setup, seed + i) as episode:
            sim_ns += episode.run().duration_ns
    wall = time.perf_counter() - wall0
    return {
        "wall_s": round(wall, 3),
        "simulated_s": round(sim_ns / 1e9, 2),
        "realtime_factor": round(sim_ns / 1e9 / wall, 1),
    }


def _replays(paths: list[Path]) -> dict[str, Any]:
    rows = []
    for path in paths:
        report = replay_episode(path)
        tracking = report.tracking
        rows.append(
            {
                "episode_id": report.episode_id,
                "duration_s": round(report.duration_s, 2),
                "wall_s": round(report.wall_s, 3),
                "realtime_factor": round(report.real_time_factor, 1),
                "rms_rad": tracking.rms,
                "max_rad": tracking.max,
                "lag_s": tracking.lag_s,
            }
        )
        print(
            f"  replayed {report.episode_id}: {rows[-1]['realtime_factor']}x, RMS {tracking.rms:.2g} rad",
            file=sys.stderr,
        )
    wall = sum(r["wall_s"] for r in rows)
    simulated = sum(r["duration_s"] for r in rows)
    return {
        "episodes": rows,
        "wall_s": round(wall, 3),
        "simulated_s": round(simulated, 2),
        "realtime_factor": round(simulated / wall, 1),
        "worst_rms_rad": max(r["rms_rad"] for r in rows),
        "worst_max_rad": max(r["max_rad"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tg-bench-replay-") as tmp:
        run = _session(Path(tmp))
        print(f"recording {args.episodes} physics-only episode(s)", file=sys.stderr)
        records = collect_sim(run, episodes=args.episodes, seed=args.seed)
        print("baseline: the original simulation of the same seeds", file=sys.stderr)
        baseline = _baseline(run, args.episodes, args.seed)
        print("replaying", file=sys.stderr)
        replay = _replays([r.path for r in records])
    result = {
        "benchmark": "bench_replay",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        },
        "physics_hz": SimSetup.from_session(run).physics_hz,
        "replay": replay,
        "baseline_original_simulation": baseline,
        "replay_cost_factor": round(replay["wall_s"] / max(baseline["wall_s"], 1e-9), 2),
        "goals": {"realtime_factor_min": 5.0, "rms_rad_max": 0.01},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
