"""The Ray executor on a real three-node Ray cluster, run inside a loopback-only network namespace.

``python -m tests.tg_exec.ray_scenarios DATA OUT.json`` is started by
``test_ray_cluster.py`` under ``unshare -n`` (Ray binds to the host's address, and
tests here may only send traffic to loopback). It brings ``lo`` up, starts
``ray.cluster_utils.Cluster`` (three nodes, one CPU each, token authentication, no
dashboard, a bounded object store), runs every scenario against it and writes what
it saw as JSON; the test module asserts on that. ``DATA`` holds ``local/`` and
``ray/``, two copies of the same episodes (annotate writes into them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OBJECT_STORE_BYTES = 80 * 1024**2
REPO = Path(__file__).resolve().parents[2]


def _loopback_up() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)


def _token_auth() -> None:
    """Token authentication for every Ray process started from here (Ray >= 2.52)."""
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)


def _tg(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "TG_SITE_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )


def _validate_json(path: Path) -> list[dict[str, Any]]:
    """Reports from ``tg validate --json``, without the seconds each took (the only timing field)."""
    reports = json.loads(path.read_text(encoding="utf-8"))["episodes"]
    for report in reports:
        report.pop("seconds", None)
        report["path"] = Path(report["path"]).name
    return list(reports)


def same_results(data: Path, address: str) -> dict[str, Any]:
    """validate (through the CLI) and annotate on both copies: local processes vs the cluster."""
    import episodes
    from tg_exec import LocalExecutor, RayExecutor

    seen: dict[str, Any] = {}
    for name, extra in (("local", ["--workers", "2"]), ("ray", ["--ray-address", address])):
        out = data / f"{name}.json"
        run = _tg("validate", str(data / name), "--json", str(out), *extra)
        seen[f"validate_{name}"] = {"rc": run.returncode, "stdout": run.stdout, "stderr": run.stderr[-2000:]}
        seen[f"reports_{name}"] = _validate_json(out) if out.exists() else None
    for name, executor in (("local", LocalExecutor(2)), ("ray", RayExecutor(address))):
        with executor:
            results = episodes.annotate_episodes(sorted((data / name).glob("*.h5")), executor=executor)
        seen[f"annotations_{name}"] = [
            [Path(r.path).name, r.changed, r.error, r.annotations.to_json() if r.annotations else None]
            for r in results
        ]
    return seen


def node_killed_mid_annotate(data: Path, address: str, cluster: Any) -> dict[str, Any]:
    """A worker node killed while one of its tasks annotates: retried elsewhere, each episode once."""
    import episodes
    from tests.tg_exec import work
    from tg_exec import RayExecutor

    files = sorted((data / "killed").glob("*.h5"))
    attempts = data / "attempts.log"
    attempts.touch()
    killer = threading.Thread(target=_kill_first_busy_node, args=(cluster, attempts), daemon=True)
    killer.start()
    # Each attempt logs its pid, then waits 0.3 s: the kill lands while the task runs.
    logged = functools.partial(work.logged, episodes.annotate_episode, attempts, 0.3)
    with RayExecutor(address) as executor:
        results = executor.map(logged, files, on_failure=lambda p, why: f"failed: {why}")
    killer.join(timeout=30)
    again = episodes.annotate_episodes(files, workers=1)
    reports = episodes.validate_episodes(files, workers=1)
    return {
        "files": len(files),
        "errors": [r if isinstance(r, str) else r.error for r in results if isinstance(r, str) or r.error],
        "attempts": attempts.read_text(encoding="utf-8").splitlines(),
        "changed_again": [r.changed for r in again],
        "errors_again": [r.error for r in again if r.error],
        "failed_checks": [r.counts() for r in reports if not r.passed],
        "killed": not killer.is_alive(),
    }


def _kill_first_busy_node(cluster: Any, attempts: Path) -> None:
    """Kill (SIGKILL, no grace) the first worker node whose worker logs an attempt."""
    from tests.processes import descendants

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = {int(line.split()[1]) for line in attempts.read_text(encoding="utf-8").splitlines()}
        for node in cluster.worker_nodes:
            raylet = node.all_processes["raylet"][0].process.pid
            if busy & descendants(raylet):
                cluster.remove_node(node, allow_graceful=False)
                return
        time.sleep(0.02)


def bad_input(data: Path, address: str) -> dict[str, Any]:
    """A damaged file among good ones, and an item that kills its worker each time it is tried."""
    import episodes
    from tests.tg_exec import work
    from tg_exec import RayExecutor

    files = sorted((data / "bad").glob("*.h5"))
    with RayExecutor(address, max_retries=1) as executor:
        reports = episodes.validate_episodes(files, executor=executor)
        dying = executor.map(work.die_on_bad, ["a", "bad", "c"], on_failure=lambda i, why: f"{i}: {why}")
        attempts = data / "bad_attempts.log"
        refused = executor.map(
            functools.partial(work.logged, work.refuse_bad, attempts, 0.0),
            ["x", "bad-input", "y"],
            on_failure=lambda i, why: f"{i}: {why}",
        )
    return {
        "reports": [[Path(r.path).name, r.passed, r.counts()] for r in reports],
        "dying": dying,
        "refused": refused,
        "refused_attempts": attempts.read_text(encoding="utf-8").splitlines(),
    }


def _digests(directory: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``directory``."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def export_both(data: Path, address: str) -> dict[str, Any]:
    """`tg export --format lerobot` on local processes and on the cluster: the files, byte by byte."""
    seen: dict[str, Any] = {}
    for name, extra in (("local", ["--workers", "2"]), ("ray", ["--ray-address", address])):
        out = data / f"export_{name}"
        run = _tg("export", str(data / "local"), "--out", str(out), "--qa", "any", *extra)
        seen[f"rc_{name}"] = run.returncode
        seen[f"stderr_{name}"] = run.stderr[-2000:]
        seen[f"files_{name}"] = _digests(out) if out.exists() else {}
    return seen


def ingest_both(data: Path, address: str) -> dict[str, Any]:
    """`tg ingest` of the same bags on local processes and on the cluster: the same episodes' content."""
    import episodes

    bags = sorted((data / "bags").glob("*.bag"))
    seen: dict[str, Any] = {}
    for name, extra in (("local", ["--workers", "2"]), ("ray", ["--ray-address", address])):
        out = data / f"ingested_{name}"
        run = _tg("ingest", *map(str, bags), "--profile", "kuavo4pro", "--out", str(out), *extra)
        seen[f"rc_{name}"] = run.returncode
        seen[f"stdout_{name}"] = run.stdout[-2000:]
        files = sorted(out.glob("*.h5"))
        seen[f"digests_{name}"] = sorted(episodes.content_digest(p) for p in files)
        seen[f"left_{name}"] = sorted(p.name for p in out.iterdir() if p.suffix != ".h5")
    return seen


def site_arrival(data: Path, address: str) -> dict[str, Any]:
    """`tg site serve --ray-address`: pushed episodes are checked on the cluster and catalogued."""
    import episodes
    from tests.tg_site.conftest import SiteServer, make_tokens, wait_arrived

    store = data / "site"
    tokens = make_tokens(store)
    files = sorted((data / "bad").glob("*.h5"))[:3]
    server = SiteServer(store, ("--ray-address", address)).start()
    try:
        push = _tg("push", *map(str, files), "--site", server.url, token=tokens["uploader"])
        with server.client(tokens["researcher"]) as client:
            rows = []
            for path in files:
                with episodes.open(path) as reader:
                    rows.append(wait_arrived(client, reader.metadata.episode_id, timeout_s=90))
    finally:
        server.stop()
    return {
        "push_rc": push.returncode,
        "push_err": push.stderr[-2000:],
        "qa_passed": [row["qa_passed"] for row in rows],
        "log": "".join(server.log)[-3000:],
    }


def main(data: Path, out: Path) -> None:
    _loopback_up()
    _token_auth()
    from ray.cluster_utils import Cluster

    started = time.monotonic()
    node = {"num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES}
    # A killed node is declared dead after about 1.5 s instead of Ray's default 15 s or more.
    fast_failure = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}
    head = {**node, "include_dashboard": False, "_system_config": fast_failure}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(2):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    seen: dict[str, Any] = {"start_s": time.monotonic() - started, "address": cluster.address}
    scenarios: dict[str, Callable[[], dict[str, Any]]] = {
        "same": lambda: same_results(data, cluster.address),
        "bad": lambda: bad_input(data, cluster.address),
        "export": lambda: export_both(data, cluster.address),
        "ingest": lambda: ingest_both(data, cluster.address),
        "site": lambda: site_arrival(data, cluster.address),
        "killed": lambda: node_killed_mid_annotate(data, cluster.address, cluster),
    }
    try:
        for name, scenario in scenarios.items():
            began = time.monotonic()
            seen[name] = scenario()
            seen[f"{name}_s"] = time.monotonic() - began
    finally:
        out.write_text(json.dumps(seen, indent=1, default=str), encoding="utf-8")
        cluster.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
