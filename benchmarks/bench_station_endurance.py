"""Benchmark: a station's endurance, recording through the ROS 2 graph while pushing to a site.

Runs a simulated session (``tg_sim.SessionRunner``: sim_bridge, scripted_teleop and
the recorder as processes over Fast DDS) for ``--minutes`` with the station agent of
``tg collect --site`` in this process (background pusher and status poster) against
a real ``tg site serve`` on 127.0.0.1; then a baseline session of ``--baseline-minutes``
without a site, in the same run. Reported:

* every episode pushed and verified: each local episode is on the site with the same
  raw-content digest and its arrival (QA, annotation) done;
* drops: per stream, samples stored against what its rate gives over its span, summed;
  and the recorder's received messages per recorded second, per topic, with the site
  against the baseline (uploading must not change them);
* memory: PSS of the recorder process and of this process (pusher, session runner),
  sampled every 2 s; the mean of the last window against the first (window: 5 minutes,
  or a quarter of the run when shorter). Goal: within 10 %.

One JSON document on stdout (and ``--out``); progress on stderr.

    python benchmarks/bench_station_endurance.py                       # 30 minutes, then 30 baseline
    python benchmarks/bench_station_endurance.py --minutes 2 --baseline-minutes 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "ros_ws/src/tg_recorder"), str(REPO / "ros_ws/src/tg_sim")]

import psutil  # noqa: E402
from tg_sim.session import EpisodeResult, SessionProgress, SessionRunner  # noqa: E402

import episodes  # noqa: E402
from collectors import RecorderStatus  # noqa: E402
from tests.tg_site.conftest import SiteServer, make_tokens  # noqa: E402
from tg_site import SiteClient  # noqa: E402
from tg_site._station_agent import AgentOptions, StationAgent  # noqa: E402

STATION = "st-01"  # make_tokens gives this station a token
_SAMPLE_S = 2.0
_WINDOW_S = 300.0


class _Memory:
    """PSS of this process and of the recorder child, every ``_SAMPLE_S``, in a thread."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int]] = []  # (t, self_pss, recorder_pss)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def __enter__(self) -> _Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(_SAMPLE_S):
            recorder = [p for p in me.children(recursive=True) if "recorder" in " ".join(_cmdline(p))]
            if not recorder:
                continue
            try:
                mine, theirs = me.memory_full_info().pss, recorder[0].memory_full_info().pss
            except psutil.Error:
                continue
            self.samples.append((time.monotonic() - self._start, mine, theirs))

    def flatness(self) -> dict[str, Any]:
        if len(self.samples) < 4:
            return {"samples": len(self.samples)}
        end = self.samples[-1][0]
        window = min(_WINDOW_S, end / 4)
        first = [s for s in self.samples if s[0] <= self.samples[0][0] + window]
        last = [s for s in self.samples if s[0] >= end - window]
        result: dict[str, Any] = {"samples": len(self.samples), "window_s": round(window, 1)}
        for k, name in ((1, "pusher_and_runner"), (2, "recorder")):
            a = sum(s[k] for s in first) / len(first)
            b = sum(s[k] for s in last) / len(last)
            result[name] = {
                "first_mb": round(a / 1e6, 1),
                "last_mb": round(b / 1e6, 1),
                "last_vs_first": round(b / a, 3),
                "within_10_percent": abs(b / a - 1) <= 0.10,
            }
        return result


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return [str(part) for part in p.cmdline()]
    except psutil.Error:
        return []


def _drops(path: Path) -> int:
    """Samples missing against each stream's rate over its span, summed over the streams."""
    missing = 0
    with episodes.open(path) as ep:
        for info in ep.streams.values():
            rate = info.spec.rate_hz
            if rate and info.count >= 2:
                expected = round((info.last_stamp_ns - info.first_stamp_ns) / 1e9 * rate) + 1
                missing += max(0, expected - info.count)
    return missing


def _session(
    config: Path,
    out: Path,
    minutes: float,
    domain: int,
    agent: StationAgent | None = None,
    latest: list[RecorderStatus] | None = None,
) -> dict[str, Any]:
    """Record until ``minutes`` have passed (the episode in progress then finishes); ``latest``: the
    recorder's newest status, for ``agent`` (what ``tg collect --site`` wires)."""
    seen: list[RecorderStatus] = latest if latest is not None else []

    def progress(p: SessionProgress) -> None:
        if p.recorder is not None:
            seen[:] = [p.recorder]

    if agent is not None:
        agent.start()
    start = time.monotonic()
    results: list[EpisodeResult] = []
    with (
        _Memory() as memory,
        SessionRunner(config, out=out, domain_id=domain, station=STATION, on_progress=progress) as runner,
    ):

        def done(result: EpisodeResult) -> None:
            results.append(result)
            print(f"  episode {len(results)}: {result.duration_s:.1f} s recorded", file=sys.stderr)
            if time.monotonic() - start >= minutes * 60:
                runner.request_stop()

        runner.run(episodes=100_000, seed=0, on_episode=done)
    wall = time.monotonic() - start
    rates: dict[str, list[float]] = {}
    for r in results:
        for topic, n in r.received.items():
            if r.duration_s > 0:
                rates.setdefault(topic, []).append(n / r.duration_s)
    return {
        "wall_s": round(wall, 1),
        "episodes": len(results),
        "paths": [str(r.path) for r in results],
        "drops": sum(_drops(r.path) for r in results),
        "received_per_s": {t: round(sum(v) / len(v), 2) for t, v in sorted(rates.items())},
        "memory": memory.flatness(),
    }


def _verified(server: SiteServer, token: str, paths: list[str], timeout_s: float = 300) -> dict[str, Any]:
    """Each local episode on the site with its raw digest and its arrival done."""
    deadline = time.monotonic() + timeout_s
    missing = list(paths)
    with server.client(token) as client:
        while missing and time.monotonic() < deadline:
            path = Path(missing[0])
            with episodes.open(path) as reader:
                digest = reader.metadata.content_digest
            row = client.get(f"/api/v1/episodes/{path.stem}")
            if row.status_code == 200 and row.json()["qa_passed"] is not None:
                if row.json()["raw_digest"] != digest:
                    return {"verified": False, "wrong_digest": path.stem}
                missing.pop(0)
            else:
                time.sleep(0.5)
    return {"verified": not missing, "not_on_site": [Path(p).stem for p in missing]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--baseline-minutes", type=float, default=None, help="default: --minutes")
    parser.add_argument("--config", type=Path, default=REPO / "launch/sim_pick_place.yaml")
    parser.add_argument("--max-upload-mbps", type=float, default=None)
    parser.add_argument("--domain-id", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    baseline_minutes = args.minutes if args.baseline_minutes is None else args.baseline_minutes
    with tempfile.TemporaryDirectory(prefix="tg-bench-endurance-") as tmp:
        root = Path(tmp)
        tokens = make_tokens(root / "store")
        with _site(root / "store") as server:
            options = AgentOptions(STATION, root / "site", max_upload_mbps=args.max_upload_mbps)
            latest: list[RecorderStatus] = []
            agent = StationAgent(
                lambda t: SiteClient(server.url, tokens["station"], timeout_s=t),
                options,
                lambda: latest[-1] if latest else None,
            )
            print(f"{args.minutes} min through the ROS 2 graph, pushing to {server.url}...", file=sys.stderr)
            with_site = _session(args.config, root / "site", args.minutes, args.domain_id, agent, latest)
            drain_start = time.monotonic()
            while agent.pending() and time.monotonic() - drain_start < 300:
                time.sleep(0.5)
            agent.stop()
            drain_s = time.monotonic() - drain_start
            verified = _verified(server, tokens["reviewer"], with_site["paths"])
        print(f"{baseline_minutes} min without a site (baseline)...", file=sys.stderr)
        baseline = _session(args.config, root / "plain", baseline_minutes, args.domain_id, None)
    ratios = {
        t: round(v / baseline["received_per_s"][t], 3)
        for t, v in with_site["received_per_s"].items()
        if baseline["received_per_s"].get(t)
    }
    result = {
        "benchmark": "station_endurance",
        "config": str(args.config),
        "minutes": args.minutes,
        "with_site": {k: v for k, v in with_site.items() if k != "paths"},
        "queue_drained_after_session_s": round(drain_s, 1),
        "pushed_and_verified": verified,
        "baseline_without_site": {k: v for k, v in baseline.items() if k != "paths"},
        "received_per_s_site_vs_baseline": ratios,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


class _site:  # noqa: N801 (a context manager named for what it gives)
    def __init__(self, store: Path) -> None:
        self.server = SiteServer(store)

    def __enter__(self) -> SiteServer:
        return self.server.start()

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


if __name__ == "__main__":
    main()
