"""Benchmark: the web console under load while stations push.

A real ``tg site serve`` (2 arrival workers) on a catalogue of ``--rows`` synthetic
episodes (bench_catalogue's rows, real schema) takes simulated pick-and-place
episodes from ``--uploaders`` uploader processes, twice:

* alone (the baseline arrival throughput, episodes/s), then
* while ``--browsers`` simulated browsers (one asyncio loop, httpx, each signed in
  through the form with its own session cookie) poll the stations cards every
  second and page the episodes table every 3 s (a filter, then up to 3 pages
  through its keyset cursor), and ``--uploaders`` stations post their status
  every second (when the server has the stations API).

Reported: p50/p95 ms of the stations poll and of an episodes page as the browser
sees it (client round trip) and the server's own time per page (the page prints
it), and how much arrival throughput fell under the load. Goals (issue 16): p95
< 200 ms for the stations update, < 300 ms for an episodes page, throughput down
by no more than 10 %. One JSON document on stdout, progress on stderr.

    python benchmarks/bench_console.py                                  # 100,000 rows, 50 browsers
    python benchmarks/bench_console.py --rows 20000 --episodes 8 --duration 4   # quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import httpx  # noqa: E402
from bench_catalogue import _rows  # noqa: E402
from bench_site_arrival import _record  # noqa: E402
from bench_writer import _load_average, _machine  # noqa: E402

from tests.tg_site.conftest import SiteServer, make_tokens  # noqa: E402
from tests.tg_site.site_episodes import make_episode  # noqa: E402
from tg_site import Catalogue, Role, Store, TokenStore, record_from_file  # noqa: E402

GOALS_MS = {"stations": 200.0, "episodes_page": 300.0}
GOAL_DROP = 0.10
_FILTERS = (
    {},
    {"qa": "fail"},
    {"station": "st-07"},
    {"review": "pending", "sort": "duration"},
    {"task": "task_3", "success": "true"},
    {"robot": "kuavo", "review": "approved", "qa": "pass"},
)
_NEXT = re.compile(r'href="(/episodes\?[^"]*cursor=[^"]*)" id="next-page"')
_SERVER_MS = re.compile(r'id="server-ms">(\d+)<')


def _log(msg: str) -> None:
    print(f"[bench_console] {msg}", file=sys.stderr, flush=True)


def _fill(store: Path, rows: int, work: Path) -> dict[str, str]:
    """Tokens by role (plus one per simulated station) and ``rows`` synthetic catalogue rows."""
    tokens = make_tokens(store)
    base = record_from_file(make_episode(work / "base"))
    with Catalogue.open(Store(store)) as catalogue:
        made = TokenStore(catalogue)
        for k in range(8):
            tokens[f"st-b{k}"] = made.create(Role.STATION, name=f"station-b{k}", station=f"st-b{k}")[0]
        synthetic = _rows(base, rows)
        for at in range(0, len(synthetic), 5000):
            catalogue.upsert_many(synthetic[at : at + 5000])
    return tokens


# The uploaders: one process, one thread and one SiteClient per uploader (hashing and sending
# release the GIL), so the benchmark's own browsers do not share a process with them.
_UPLOADERS = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tg_site._client import SiteClient
url, token, count, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def push(names):
    with SiteClient(url, token) as client:
        for name in names:
            client.push_file(Path(name))
with ThreadPoolExecutor(count) as pool:
    list(pool.map(push, [files[i::count] for i in range(count)]))
"""


def _arrive(server: SiteServer, token: str, files: list[Path], uploaders: int) -> float:
    """Seconds from the first byte pushed until every episode's arrival is catalogued."""
    start = time.perf_counter()
    command = [sys.executable, "-c", _UPLOADERS, server.url, token, str(uploaders), *map(str, files)]
    subprocess.run(command, stdin=subprocess.DEVNULL, check=True, timeout=3600)
    waiting = {f.stem for f in files}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as http:  # slow under load: wait
        while waiting:
            for episode_id in sorted(waiting):
                row = http.get(f"/api/v1/episodes/{episode_id}")
                if row.status_code == 200 and row.json()["qa_passed"] is not None:
                    waiting.discard(episode_id)
            time.sleep(0.05)
    return time.perf_counter() - start


async def _sign_in(client: httpx.AsyncClient, token: str) -> None:
    form = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if csrf is None:
        raise SystemExit(f"the sign-in form has no CSRF field: {form.text[:300]}")
    answer = await client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/dashboard"})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.text[:300]}")


async def _browser(
    url: str, token: str, stop: threading.Event, seed: int, out: dict[str, list[float]]
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await _sign_in(client, token)
        await asyncio.sleep(rng.random())  # browsers do not start in step
        next_page: str | None = None
        pages = 0
        tick = 0
        while not stop.is_set():
            began = time.perf_counter()
            answer = await client.get("/console/stations/cards")
            out["stations"].append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200:
                out["errors"].append(answer.status_code)
            if tick % 3 == 0:
                if next_page is None or pages >= 3:
                    target, pages = "/episodes", 0
                    params: dict[str, str] | None = rng.choice(_FILTERS)
                else:
                    target, params = next_page.replace("&amp;", "&"), None
                began = time.perf_counter()
                page = await client.get(target, params=params)
                out["episodes_page"].append((time.perf_counter() - began) * 1000)
                found = _SERVER_MS.search(page.text)
                if page.status_code != 200 or found is None:
                    out["errors"].append(page.status_code)
                else:
                    out["episodes_server"].append(float(found.group(1)))
                following = _NEXT.search(page.text)
                next_page, pages = (following.group(1) if following else None), pages + 1
            tick += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))


async def _station(
    url: str, name: str, token: str, stop: threading.Event, out: dict[str, list[float]]
) -> None:
    """A station posting its status every second (skipped if the server has no stations API)."""
    report = {
        "state": "recording",
        "episode_id": "01BENCH",
        "elapsed_s": 0.0,
        "episodes_recorded": 0,
        "last_episode": "",
        "topics": {},
    }
    async with httpx.AsyncClient(
        base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        while not stop.is_set():
            report["elapsed_s"] += 1.0
            answer = await client.post(
                f"/api/v1/stations/{name}/status", json={"station": name, "recorder": report}
            )
            if answer.status_code == 404:
                return
            out["status_posts"].append(float(answer.status_code))
            await asyncio.sleep(1.0)


def _load(url: str, tokens: dict[str, str], browsers: int, stop: threading.Event) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        k: [] for k in ("stations", "episodes_page", "episodes_server", "errors", "status_posts")
    }

    async def run() -> None:
        jobs = [_browser(url, tokens["reviewer"], stop, k, out) for k in range(browsers)]
        jobs += [_station(url, f"st-b{k}", tokens[f"st-b{k}"], stop, out) for k in range(8)]
        await asyncio.gather(*jobs)

    asyncio.run(run())
    return out


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="synthetic catalogue rows")
    parser.add_argument("--browsers", type=int, default=50)
    parser.add_argument("--uploaders", type=int, default=8)
    parser.add_argument("--episodes", type=int, default=16, help="episodes pushed in each phase")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per episode")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--min-seconds", type=float, default=30.0, help="shortest loaded phase")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    try:
        _log(f"recording 2 x {args.episodes} episode(s) ...")
        jobs = [
            (work / "src", s, args.duration, args.width, args.height, 15) for s in range(2 * args.episodes)
        ]
        with ProcessPoolExecutor(2) as pool:
            files = list(pool.map(_record, jobs))
        store = work / "store"
        _log(f"filling the catalogue with {args.rows} rows ...")
        tokens = _fill(store, args.rows, work)
        limits = ("--workers", "2", "--requests-per-minute", "1000000", "--logins-per-minute", "100000")
        server = SiteServer(store, limits).start()
        load_before = _load_average()
        try:
            _log("phase 1: arrivals alone ...")
            alone_s = _arrive(server, tokens["admin"], files[: args.episodes], args.uploaders)
            _log(f"phase 2: arrivals with {args.browsers} browsers ...")
            stop = threading.Event()
            found: list[dict[str, list[float]]] = []
            loader = threading.Thread(
                target=lambda: found.append(_load(server.url, tokens, args.browsers, stop))
            )
            loader.start()
            began = time.perf_counter()
            loaded_s = _arrive(server, tokens["admin"], files[args.episodes :], args.uploaders)
            time.sleep(max(0.0, args.min_seconds - (time.perf_counter() - began)))
            stop.set()
            loader.join(timeout=120)
        finally:
            server.stop()
        out = found[0]
        alone_rate, loaded_rate = args.episodes / alone_s, args.episodes / loaded_s
        drop = 1 - loaded_rate / alone_rate
        stations, page = _summary(out["stations"]), _summary(out["episodes_page"])
        result = {
            "benchmark": "bench_console",
            "machine": _machine(),
            "load_average_before": load_before,
            "load_average_after": _load_average(),
            "rows": args.rows,
            "browsers": args.browsers,
            "uploaders": args.uploaders,
            "episodes_per_phase": args.episodes,
            "episode": f"{args.duration:g} s, 3 cameras {args.width}x{args.height} @ 15 Hz",
            "stations_poll": stations,
            "episodes_page": page,
            "episodes_page_server": _summary(out["episodes_server"]),
            "status_posts": len(out["status_posts"]),
            "errors": len(out["errors"]),
            "arrival_episodes_per_s": {"alone": round(alone_rate, 3), "with_browsers": round(loaded_rate, 3)},
            "arrival_drop": round(drop, 3),
            "goals": {
                "stations_p95_ms": {
                    "target": f"< {GOALS_MS['stations']:g}",
                    "value": stations.get("p95_ms"),
                    "pass": stations.get("p95_ms", 1e9) < GOALS_MS["stations"],
                },
                "episodes_page_p95_ms": {
                    "target": f"< {GOALS_MS['episodes_page']:g}",
                    "value": page.get("p95_ms"),
                    "pass": page.get("p95_ms", 1e9) < GOALS_MS["episodes_page"],
                },
                "arrival_drop": {
                    "target": f"<= {GOAL_DROP:g}",
                    "value": round(drop, 3),
                    "pass": drop <= GOAL_DROP,
                },
            },
        }
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
