"""`tg record --site`, `tg collect --site`: the site's task reaches the episode, the episode the site."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import episodes
from tests.collectors import live_fixtures as lf
from tests.sim_envs._sessions import session_file
from tests.tg_site.conftest import SiteServer, make_tokens, wait_arrived

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SiteServer, dict[str, str]]]:
    store = tmp_path_factory.mktemp("record-site") / "store"
    tokens = make_tokens(store)
    server = SiteServer(store).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def _record(profile: Path, out: Path, url: str, token: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "training_ground", "record", "--profile", str(profile), "--out", str(out)]
    cmd += ["--domain-id", env["ROS_DOMAIN_ID"], "--station", "st-01", "--keep-empty", "--site", url]
    return subprocess.Popen(
        cmd,
        env={**env, "TG_SITE_TOKEN": token},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_token_of_another_station_is_refused_before_recording(site, tmp_path: Path) -> None:
    server, tokens = site
    profile = lf.write_profile(tmp_path)
    env = {**os.environ, "ROS_DOMAIN_ID": "0"}
    proc = _record(profile, tmp_path / "out", server.url, tokens["station2"], env)
    output = proc.communicate(timeout=60)[0].decode(errors="replace")
    words = "".join(output.split())
    assert proc.returncode == 1, output
    assert "--stationst-01:thesite" in words and "refusesthistoken" in words and "'st-02'" in output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.h5"))


def test_tg_record_site_records_the_assigned_task_and_pushes_the_episode(
    site, tmp_path: Path, ros_env
) -> None:
    pytest.importorskip("rclpy")
    server, tokens = site
    with server.client(tokens["admin"]) as admin:
        task = {"name": "叠毛巾", "instructions": ["把毛巾叠好"], "stations": ["st-01"], "priority": 3}
        task_id = admin.post("/api/v1/tasks", json=task).json()["task_id"]
    profile = lf.write_profile(tmp_path)
    out = tmp_path / "out"
    env = {k: v for k, v in ros_env.items() if k != "FASTDDS_DEFAULT_PROFILES_FILE"}
    proc = _record(profile, out, server.url, tokens["station"], env)
    assert proc.stdin is not None and proc.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, b"")), daemon=True)  # type: ignore[union-attr]
    reader.start()

    def printed(text: str, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while text not in "".join(b.decode(errors="replace") for b in lines).replace("\n", ""):
            assert time.monotonic() < deadline and proc.poll() is None, f"never printed {text!r}: {lines}"
            time.sleep(0.1)

    try:
        printed("space/Enter start/stop", 60)
        proc.stdin.write(b" ")
        proc.stdin.flush()
        printed("recording episode", 30)
        with server.client(tokens["reviewer"]) as reviewer:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the station reports once a second, recording
                live = reviewer.get("/api/v1/stations/st-01/live").json()
                report = live["report"] or {}
                if live["state"] == "online" and (report.get("recorder") or {}).get("state") == "recording":
                    break
                time.sleep(0.2)
            assert live["state"] == "online" and report["task"] == "叠毛巾", live
        proc.stdin.write(b"q")  # saves the episode in progress, then the queue drains
        proc.stdin.close()
        proc.wait(timeout=60)
        reader.join(timeout=10)
        output = "".join(b.decode(errors="replace") for b in lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "every episode is on the site (1 pushed this session)" in output.replace("\n", " ")
    (path,) = out.glob("*.h5")
    with episodes.open(path) as ep:
        meta = ep.metadata
    assert (meta.task, meta.instruction, meta.task_id) == ("叠毛巾", "把毛巾叠好", task_id)
    with server.client(tokens["reviewer"]) as reviewer:
        row = wait_arrived(reviewer, path.stem)
    assert (row["task"], row["task_id"], row["instruction"]) == ("叠毛巾", task_id, "把毛巾叠好")


_INJECT = """
import sys, time, rclpy
from rcl_interfaces.srv import SetParameters
from tg_sim._client import _parameter
rclpy.init()
node = rclpy.create_node("fault_injector")
client = node.create_client(SetParameters, "/sim_bridge/set_parameters")
assert client.wait_for_service(timeout_sec=20), "no /sim_bridge/set_parameters"
values = {"freeze_topics": sys.argv[1], "mute_topics": sys.argv[2]}
request = SetParameters.Request(parameters=[_parameter(k, v) for k, v in values.items()])
future = client.call_async(request)
rclpy.spin_until_future_complete(node, future, timeout_sec=20)
assert future.result() is not None and all(r.successful for r in future.result().results)
print(time.time())  # when the simulator took the faults: their onset
"""
FROZEN, MUTED = "/cam_h/color/image_raw/compressed", "/imu"


def _both_warned(reviewer: Any) -> tuple[str, ...]:
    """The recorder's warnings in the station's newest report, if it has both injected faults; else ()."""
    report = reviewer.get("/api/v1/stations/st-01/live").json()["report"] or {}
    warned = tuple((report.get("recorder") or {}).get("warnings", ()))
    frozen = any(w.startswith(f"{FROZEN}: camera frozen") for w in warned)
    muted = any(w.startswith(f"{MUTED}: silent for") for w in warned)
    return warned if frozen and muted else ()


def test_tg_collect_site_pushes_its_episode_and_posts_status_with_injected_faults(
    site, tmp_path: Path, ros_env
) -> None:
    """A session through the ROS 2 graph (--station labels its episodes, which the site checks); a camera
    frozen and a topic muted in the simulator show in the status the site gets within 3 s (+ its period)."""
    pytest.importorskip("rclpy")
    server, tokens = site
    with server.client(tokens["admin"]) as admin:  # over the session config's pick_place
        task = {"name": "擦桌子", "instructions": ["把桌子擦干净"], "stations": ["st-01"], "priority": 10}
        task_id = admin.post("/api/v1/tasks", json=task).json()["task_id"]
    session = session_file(
        tmp_path,
        sim={"renderer": "tiny", "failure_rate": 0.0},
        episode={"max_duration_s": 8, "min_duration_s": 1},
    )
    out = tmp_path / "data"
    command = [sys.executable, "-m", "training_ground", "collect", "--config", str(session)]
    command += ["--episodes", "1", "--out", str(out), "--station", "st-01", "--site", server.url]
    env = {**ros_env, "TG_SITE_TOKEN": tokens["station"], "COLUMNS": "200"}
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 90
        while not list(out.glob("*.h5.partial")):
            assert proc.poll() is None and time.monotonic() < deadline, "no episode started"
            time.sleep(0.1)
        inject = [sys.executable, "-c", _INJECT, FROZEN, MUTED]
        injection = subprocess.run(
            inject, env=env, check=True, timeout=60, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        injected = float(injection.stdout.split()[-1])
        with server.client(tokens["reviewer"]) as reviewer:
            while not _both_warned(reviewer):
                assert time.time() - injected < 10, "the injected faults never showed on the site"
                time.sleep(0.1)
            seen_after_s = time.time() - injected
            print(f"the injected faults showed on the site {seen_after_s:.2f} s after the injection")
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert seen_after_s <= 4.5, seen_after_s  # 3 s on the station, then the next report (1 s)
    assert proc.returncode == 0, stderr
    assert "every episode is on the site (1 pushed this session)" in stdout, stdout
    (path,) = episodes.list_episodes(out)
    with server.client(tokens["reviewer"]) as reviewer:
        row = wait_arrived(reviewer, path.stem)
        live = reviewer.get("/api/v1/stations/st-01/live").json()
    assert (row["station"], row["task"], row["task_id"], row["instruction"]) == (
        "st-01",
        "擦桌子",
        task_id,
        "把桌子擦干净",
    )
    report = live["report"]
    assert report["recorder"] is not None and report["task"] == "擦桌子", live
    assert report["operator"] == "sim:scripted"  # the session names no person


def test_a_changed_assignment_is_used_from_the_next_episode_and_task_wins(site, tmp_path: Path) -> None:
    from collectors import EpisodeLabels
    from tg_site import SiteClient
    from tg_site._station_agent import AgentOptions, StationAgent
    from training_ground.cli._station import SiteStation

    server, tokens = site
    options = AgentOptions("st-02", tmp_path, status_period_s=0.1, task_period_s=0.2)
    agent = StationAgent(lambda t: SiteClient(server.url, tokens["station2"], timeout_s=t), options)
    station = SiteStation(agent)
    base = EpisodeLabels(operator="ana", station="st-02")
    assert agent.check() is None and station.labels(base) == base  # the session's task
    with agent, server.client(tokens["admin"]) as admin:
        task = {"name": "wipe", "instructions": ["wipe the table"], "stations": ["st-02"]}
        task_id = admin.post("/api/v1/tasks", json=task).json()["task_id"]
        _wait_for(lambda: station.labels(base).task == "wipe", "the new assignment was not fetched")
        assert station.labels(base).instruction == "wipe the table"
        patch = {"name": "dust", "instructions": ["dust the shelf"]}
        admin.patch(f"/api/v1/tasks/{task_id}", json=patch).raise_for_status()
        _wait_for(lambda: station.labels(base).task == "dust", "the edited task was not fetched")
        assert station.labels(base).instruction == "dust the shelf"
        assert station.labels(EpisodeLabels(task="wave")).task == "wave"  # --task wins
        assert "task dust" in station.line()


def _wait_for(done: Callable[[], bool], why: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, why
        time.sleep(0.1)


def test_site_options_that_cannot_work_are_usage_errors(site, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training_ground.cli import app

    server, tokens = site
    profile = lf.write_profile(tmp_path)
    env = {"TG_SITE_TOKEN": tokens["station"], "COLUMNS": "200"}
    args = ["record", "--profile", str(profile), "--out", str(tmp_path / "o"), "--site", server.url]
    no_station = CliRunner().invoke(app, args, env=env)
    assert no_station.exit_code == 2 and "--site needs --station ID" in no_station.output
    (tmp_path / "a").mkdir()
    two = CliRunner().invoke(app, ["push", "a", str(tmp_path), "--watch", "--site", server.url], env=env)
    assert two.exit_code == 2 and "--watch takes one dataset directory" in "".join(two.output.split("\n"))


def test_tg_collect_no_ros_site_relabels_each_episode_with_the_assigned_task(site, tmp_path: Path) -> None:
    """Without ROS the simulator writes the session's task; the site's assignment relabels it, on record."""
    server, tokens = site
    with server.client(tokens["admin"]) as admin:
        task = {"name": "叠衣服", "instructions": ["把衣服叠好"], "stations": ["st-02"], "priority": 20}
        task_id = admin.post("/api/v1/tasks", json=task).json()["task_id"]
    session = session_file(
        tmp_path,
        sim={"renderer": "tiny", "failure_rate": 0.0},
        episode={"max_duration_s": 2.5, "min_duration_s": 1},
    )
    command = [sys.executable, "-m", "training_ground", "collect", "--config", str(session), "--no-ros"]
    command += ["--out", str(tmp_path / "data"), "--station", "st-02", "--site", server.url]
    env = {**os.environ, "TG_SITE_TOKEN": tokens["station2"], "COLUMNS": "200"}
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=REPO, timeout=180
        )
    finally:
        with server.client(tokens["admin"]) as admin:  # st-02's other tests expect no assignment
            admin.patch(f"/api/v1/tasks/{task_id}", json={"active": False}).raise_for_status()
    assert done.returncode == 0, done.stderr
    (path,) = episodes.list_episodes(tmp_path / "data")
    with episodes.open(path) as ep:
        meta = ep.metadata
    assert (meta.task, meta.instruction, meta.task_id, meta.station) == (
        "叠衣服",
        "把衣服叠好",
        task_id,
        "st-02",
    )
    assert meta.label_history[-1].by == "site" and task_id in meta.label_history[-1].reason
    with server.client(tokens["reviewer"]) as reviewer:
        row = wait_arrived(reviewer, path.stem)
    assert (row["task"], row["task_id"]) == ("叠衣服", task_id)
