"""Benchmark: simulated episodes through the ROS 2 graph vs the direct path, on the same seeds.

Records ``--episodes`` episodes of a session twice in one run: through the node
graph (``tg collect``: sim_bridge, scripted_teleop and recorder as processes
over Fast DDS, simulated time capped at ``--real-time-factor``) and directly in
one process (``tg collect --no-ros``, the baseline). For each it reports
episodes per hour of wall time; for the graph also the simulator's real-time
factor, per topic the messages the simulator published against those the
recorder received, the samples stored against what each stream's rate gives
over its span, and whether every episode passes the quality gate with zero
findings. The load average is printed, since other work on the machine slows
both paths.

One JSON document goes to stdout (and to ``--out``); progress goes to stderr.

    python benchmarks/bench_ros_session.py [--episodes 3] [--config launch/sim_pick_place.yaml]
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

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "ros_ws/src/tg_recorder"), str(REPO / "ros_ws/src/tg_sim")]

from tg_sim.session import SessionRunner  # noqa: E402

import episodes  # noqa: E402
from sim_envs import collect_sim  # noqa: E402
from tg_config import EpisodeQaConfigs, load_session  # noqa: E402


def _direct(config: Path, out: Path, episodes_n: int, seed: int) -> dict[str, Any]:
    run = load_session(config).model_copy(update={"out": str(out), "dataset": None}).resolve()
    start = time.perf_counter()
    records = collect_sim(run, episodes=episodes_n, seed=seed)
    wall = time.perf_counter() - start
    sim_s = sum(r.outcome.duration_ns for r in records) / 1e9
    return {
        "wall_s": round(wall, 2),
        "episodes_per_hour": round(episodes_n * 3600 / wall, 1),
        "simulated_s": round(sim_s, 2),
        "real_time_factor": round(sim_s / wall, 3),
        "success": [r.outcome.success for r in records],
        "paths": [str(r.path) for r in records],
    }


def _stored_vs_rate(path: Path) -> dict[str, dict[str, int]]:
    """Per stream: samples stored, and samples its rate gives over the stream's span (a drop shows)."""
    out: dict[str, dict[str, int]] = {}
    with episodes.open(path) as ep:
        for name, info in ep.streams.items():
            rate = info.spec.rate_hz
            if not rate or info.count < 2:
                continue
            span_s = (info.last_stamp_ns - info.first_stamp_ns) / 1e9
            out[name] = {"stored": info.count, "expected": round(span_s * rate) + 1}
    return out


def _graph(config: Path, out: Path, episodes_n: int, seed: int, factor: float, domain: int) -> dict[str, Any]:
    start = time.perf_counter()
    with SessionRunner(config, out=out, domain_id=domain, real_time_factor=factor) as runner:
        results = runner.run(episodes=episodes_n, seed=seed)
    wall = time.perf_counter() - start
    configs = EpisodeQaConfigs(session=str(config))
    findings = {r.path.name: episodes.validate_episode(r.path, configs).counts() for r in results}
    # Commands (/arm_cmd, /gripper_cmd) come from the teleoperator, which does not count them.
    topics: dict[str, dict[str, int]] = {}
    for r in results:
        for topic, n in r.published.items():
            topics.setdefault(topic, {"published": 0, "received": 0})["published"] += n
        for topic, n in r.received.items():
            if topic in r.published:
                topics[topic]["received"] += n
    return {
        "wall_s": round(wall, 2),
        "episodes_per_hour": round(episodes_n * 3600 / wall, 1),
        "real_time_factor": [r.real_time_factor for r in results],
        "episode_wall_s": [round(r.wall_s, 2) for r in results],
        "success": [r.success for r in results],
        # published: by the simulator from its reset to the evaluation; received: by the recorder
        # in its last status while recording (it starts after the reset, and the status is up to a
        # second old): the second is a little smaller by design. stored_vs_rate is the exact check.
        "topics_published_vs_received": topics,
        "stored_vs_rate": {r.path.name: _stored_vs_rate(r.path) for r in results},
        "qa_findings": findings,
        "qa_zero_findings": all(not f for f in findings.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--config", type=Path, default=REPO / "launch/sim_pick_place.yaml")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real-time-factor", type=float, default=1.0)
    parser.add_argument("--domain-id", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tg-bench-ros-session-") as tmp:
        print("through the ROS 2 graph...", file=sys.stderr)
        graph = _graph(
            args.config, Path(tmp) / "graph", args.episodes, args.seed, args.real_time_factor, args.domain_id
        )
        print("directly (baseline)...", file=sys.stderr)
        direct = _direct(args.config, Path(tmp) / "direct", args.episodes, args.seed)
    result = {
        "benchmark": "ros_session",
        "config": str(args.config),
        "episodes": args.episodes,
        "seeds": [args.seed + i for i in range(args.episodes)],
        "real_time_factor_cap": args.real_time_factor,
        "graph": graph,
        "direct_baseline": {k: v for k, v in direct.items() if k != "paths"},
        "graph_vs_direct_episodes_per_hour": round(
            graph["episodes_per_hour"] / direct["episodes_per_hour"], 3
        ),
        "same_success_labels": graph["success"] == direct["success"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
