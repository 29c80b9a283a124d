"""Benchmark: arrival throughput of a site server against a plain ``cp`` of the same bytes.

Episodes are simulated pick-and-place recordings (``sim_envs.record_synthetic_episode``,
three cameras, the size and length given on the command line; written first, not
timed). A real ``tg site serve`` on 127.0.0.1 (``--workers``, store on the same file
system as the source files) takes them from ``--uploaders`` concurrent uploader
processes (``SiteClient.push_file``: SHA-256, chunked PUTs over loopback, commit).
Timed from the first byte sent until the last episode's arrival is catalogued:
verified upload, fsync and rename, then ``validate --write``, ``annotate``, the
thumbnail and the catalogue row. The uploaders are started (Python imported) and the arrival workers
warmed up with one small episode before the clock starts. The baseline copies the same
files with ``cp`` (then fsyncs them), in the same run.

``stations`` is how many stations the site keeps up with if each sends one
400 MB episode every 90 s (``site_mb_s / (400 / 90)``), by bytes;
``stations_by_episodes`` counts episodes instead (``episodes_per_s * 90``), which
is the figure to trust when the episodes are shorter than a real 60 s one (checks
scale with duration, not bytes). Goal: >= 20 stations. One JSON document on stdout.

    python benchmarks/bench_site_arrival.py                      # 8 x 60 s 640x480 episodes (~400 MB each)
    python benchmarks/bench_site_arrival.py --duration 4 --width 160 --height 120   # quick look
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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO, Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import yaml  # noqa: E402

from tests.tg_site.conftest import SiteServer, make_tokens  # noqa: E402

EPISODE_MB, PERIOD_S, GOAL_STATIONS = 400.0, 90.0, 20
_WAIT_S = 3600.0

# An uploader imports, says it is ready, and pushes when told: its start-up is not timed.
_PUSHER = """
import sys
from pathlib import Path
from tg_site import SiteClient
print("ready", flush=True)
sys.stdin.readline()
with SiteClient(sys.argv[1], sys.argv[2]) as client:
    for name in sys.argv[3:]:
        client.push_file(Path(name))
"""


def _record(args: tuple[Path, int, float, int, int, int]) -> Path:
    from sim_envs import record_synthetic_episode
    from tg_config import SessionConfig

    out, seed, duration, width, height, rate = args
    config = yaml.safe_load((REPO / "launch/sim_pick_place.yaml").read_text(encoding="utf-8"))
    camera = {"width": width, "height": height, "rate_hz": rate}
    config |= {"out": str(out), "station": "st-01", "episode": {"max_duration_s": max(120, duration + 1)}}
    config["cameras"] = {"head": camera, "wrist_left": camera, "wrist_right": camera}
    run = SessionConfig.model_validate(config).resolve()
    return record_synthetic_episode(run, duration_s=duration, seed=seed, success=True)


def _cp(files: list[Path], dest: Path) -> float:
    dest.mkdir()
    start = time.perf_counter()
    subprocess.run(["cp", *map(str, files), str(dest)], check=True, stdin=subprocess.DEVNULL, timeout=3600)
    for path in dest.iterdir():
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    return time.perf_counter() - start


def _arrive(server: SiteServer, token: str, files: list[Path], uploaders: int) -> tuple[float, float]:
    """(seconds until every push committed, seconds until every arrival was catalogued)."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _PUSHER, server.url, token, *map(str, files[i::uploaders])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(uploaders)
    ]
    for run in runs:
        if cast(IO[str], run.stdout).readline().strip() != "ready":
            raise SystemExit("an uploader did not start")
    start = time.perf_counter()
    for run in runs:
        cast(IO[str], run.stdin).write("go\n")
        cast(IO[str], run.stdin).close()
    for run in runs:
        if run.wait(timeout=3600) != 0:
            raise SystemExit(f"an uploader failed (exit {run.returncode})")
    pushed = time.perf_counter() - start
    with server.client(token) as http:
        # Every push committed: an empty arrival queue means every arrival was catalogued.
        while "tg_site_arrival_queue_depth 0\n" not in http.get("/metrics").text:
            if time.perf_counter() - start > _WAIT_S:
                raise SystemExit(f"arrivals still queued after {_WAIT_S} s")
            time.sleep(0.05)
    return pushed, time.perf_counter() - start


def _stages(server: SiteServer, token: str) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    seconds: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("tg_site_stage_seconds_total{"):
            stage = line.split('"')[1]
            seconds[stage] = float(line.rsplit(" ", 1)[1])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploaders", type=int, default=8)
    parser.add_argument("--episodes", type=int, default=8, help="episodes in all (spread over the uploaders)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per episode")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--rate", type=int, default=30, help="camera rate, Hz")
    parser.add_argument("--workers", type=int, default=2, help="the server's arrival workers")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-site-"))
    try:
        print(f"recording {args.episodes} episode(s) ...", file=sys.stderr)
        jobs = [
            (work / "src", s, args.duration, args.width, args.height, args.rate) for s in range(args.episodes)
        ]
        with ProcessPoolExecutor(2) as pool:
            files = list(pool.map(_record, jobs))
            warm = pool.submit(_record, (work / "warm", 999, 2.0, 64, 48, 10)).result()
        total = sum(f.stat().st_size for f in files)
        cp_s = _cp(files, work / "cp")
        store = work / "store"
        tokens = make_tokens(store)
        server = SiteServer(store, ("--workers", str(args.workers))).start()
        try:
            _arrive(server, tokens["admin"], [warm], 1)  # starts the arrival workers: not timed
            print(f"pushing {total / 1e6:.0f} MB from {args.uploaders} uploaders ...", file=sys.stderr)
            pushed_s, arrived_s = _arrive(server, tokens["admin"], files, args.uploaders)
            stages = _stages(server, tokens["admin"])
        finally:
            server.stop()
        mb = total / 1e6
        result: dict[str, Any] = {
            "benchmark": "site_arrival",
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "system": platform.system(),
            },
            "uploaders": args.uploaders,
            "workers": args.workers,
            "episodes": args.episodes,
            "episode_s": args.duration,
            "cameras": f"3 x {args.width}x{args.height} @ {args.rate} Hz",
            "mb": round(mb, 1),
            "mb_per_episode": round(mb / args.episodes, 1),
            "upload_s": round(pushed_s, 2),
            "arrival_s": round(arrived_s, 2),
            "cp_s": round(cp_s, 3),
            "site_mb_s": round(mb / arrived_s, 1),
            "upload_mb_s": round(mb / pushed_s, 1),
            "cp_mb_s": round(mb / cp_s, 1),
            "site_vs_cp": round((mb / arrived_s) / (mb / cp_s), 3),
            "episodes_per_s": round(args.episodes / arrived_s, 3),
            "stations": round((mb / arrived_s) / (EPISODE_MB / PERIOD_S), 1),
            "stations_by_episodes": round(args.episodes / arrived_s * PERIOD_S, 1),
            "goal_stations": GOAL_STATIONS,
            "stage_seconds_total": {k: round(v, 2) for k, v in stages.items()},
        }
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
