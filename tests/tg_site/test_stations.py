"""Stations on a real site: status posted and shown (offline after 5 s), assignments, background push,
`tg push --watch` killed mid-upload."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

import episodes
from collectors import RecorderStatus, TopicStatus
from episodes import EpisodeInfo, ImageEncoding, ImageStreamSpec, RobotInfo
from tests.tg_site.conftest import SiteServer, make_tokens, wait_arrived
from tests.tg_site.console.console_site import sign_in
from tests.tg_site.site_episodes import make_episode
from tests.tg_site.test_server_limits import small_disk  # noqa: F401  (a fixture: a 6 MB tmpfs)
from tg_site import Catalogue, SiteClient, Store
from tg_site._push_queue import MARK_DIR, PushQueue, RetentionOptions
from tg_site._station_agent import AgentOptions, StationAgent, StationTokenError
from tg_site._stations import StationReport


def _clients(url: str, token: str) -> Callable[[float], SiteClient]:
    return lambda timeout_s: SiteClient(url, token, timeout_s=timeout_s)


def _until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def _recorder_status() -> RecorderStatus:
    topic = TopicStatus("sensor_msgs/msg/Image", ("head",), 12, 0.0, 30.0, 1, 0, heard=True)
    return RecorderStatus(
        "recording",
        "01JTEST",
        3.5,
        2,
        "",
        topics={"/head/image_raw": topic},
        warnings=("/head/image_raw: camera frozen",),
    )


def test_status_reaches_the_board_and_goes_offline_after_5_s(
    server: SiteServer, tokens: dict[str, str]
) -> None:
    report = StationReport(
        "st-01", recorder=_recorder_status(), queue=3, free_bytes=123, task="pick_place", operator="阿娜"
    )
    with server.client(tokens["station"]) as station:
        assert station.post("/api/v1/stations/st-01/status", json=report.to_json()).status_code == 200
        other = station.post("/api/v1/stations/st-02/status", json=report.to_json())
        assert other.status_code == 403 and "belongs to station 'st-01'" in other.json()["detail"]
        assert station.get("/api/v1/stations").status_code == 403  # the board is for reviewers
        bad = station.post("/api/v1/stations/st-01/status", json={"station": "st-01", "queue": "many"})
        assert bad.status_code == 422 and "station report of 'st-01'" in bad.json()["detail"]
        odd = station.post("/api/v1/stations/st-01/status", json={"station": "st-01", "mood": "ok"})
        assert odd.status_code == 422 and "unknown field(s) mood" in odd.json()["detail"]
        other = station.post("/api/v1/stations/st-01/status", json={"station": "st-02"})
        assert other.status_code == 403 and "the report is of station 'st-02'" in other.json()["detail"]
    with server.client(tokens["reviewer"]) as reviewer:
        board = reviewer.get("/api/v1/stations").json()
        states = {s["station"]: s for s in board["stations"]}
        assert states["st-01"]["state"] == "online" and states["st-02"]["state"] == "never_seen"
        seen = StationReport.from_json(states["st-01"]["report"])
        assert seen == report and seen.warnings == ("/head/image_raw: camera frozen",)
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            sign_in(browser, tokens["reviewer"])
            cards = browser.get("/console/stations/cards").text
        assert 'data-station="st-01"' in cards and 'class="operator">Operator: <b>阿娜</b>' in cards
        _until(
            lambda: reviewer.get("/api/v1/stations/st-01/live").json()["state"] == "offline",
            board["offline_after_s"] + 3,
            "st-01 offline after its silence",
        )


def test_assignment_is_the_highest_priority_task_and_a_station_sees_only_its_own(
    server: SiteServer, tokens: dict[str, str]
) -> None:
    with server.client(tokens["admin"]) as admin:
        assert admin.get("/api/v1/stations/st-02/task").json()["assignment"] is None
        low = {"name": "叠毛巾", "instructions": ["把毛巾叠好"], "stations": ["st-02"], "priority": 1}
        admin.post("/api/v1/tasks", json=low).raise_for_status()
        admin.post("/api/v1/tasks", json={"name": "anyone", "priority": 9}).raise_for_status()
        with server.client(tokens["station2"]) as station:
            got = station.get("/api/v1/stations/st-02/task").json()["assignment"]
            assert (got["task"], got["instruction"]) == ("叠毛巾", "把毛巾叠好")
            high = {"name": "pour", "instructions": ["pour the water"], "stations": ["st-02"], "priority": 5}
            task_id = admin.post("/api/v1/tasks", json=high).json()["task_id"]
            got = station.get("/api/v1/stations/st-02/task").json()["assignment"]
            assert (got["task_id"], got["task"]) == (task_id, "pour")
            refused = station.get("/api/v1/stations/st-01/task")
            assert refused.status_code == 403 and "not 'st-01'" in refused.json()["detail"]


def test_a_task_is_edited_reassigned_and_closed_with_patch_and_audited(
    server: SiteServer, tokens: dict[str, str]
) -> None:
    with server.client(tokens["admin"]) as admin, server.client(tokens["station2"]) as station:
        made = admin.post("/api/v1/tasks", json={"name": "stack", "stations": ["st-01"], "priority": 50})
        task_id = made.json()["task_id"]
        moved = admin.patch(
            f"/api/v1/tasks/{task_id}", json={"stations": ["st-02"], "instructions": ["叠起来"]}
        )
        assert moved.status_code == 200 and moved.json()["spec"]["priority"] == 50  # the rest is kept
        got = station.get("/api/v1/stations/st-02/task").json()["assignment"]
        assert (got["task_id"], got["instruction"]) == (task_id, "叠起来")
        closed = admin.patch(f"/api/v1/tasks/{task_id}", json={"active": False})
        assert closed.json()["spec"]["active"] is False
        assert station.get("/api/v1/stations/st-02/task").json()["assignment"]["task_id"] != task_id
        clash = admin.patch(f"/api/v1/tasks/{task_id}", json={"name": "叠毛巾"})
        assert clash.status_code == 400 and "a task named '叠毛巾' exists already" in clash.json()["detail"]
        typo = admin.patch(f"/api/v1/tasks/{task_id}", json={"station": ["st-01"]})
        assert typo.status_code == 400 and "unknown task fields ['station']" in typo.json()["detail"]
        not_bool = admin.patch(f"/api/v1/tasks/{task_id}", json={"active": "no"})
        assert not_bool.status_code == 400 and "a task's active is true or false" in not_bool.json()["detail"]
        not_object = admin.patch(f"/api/v1/tasks/{task_id}", json=["active"])
        assert (
            not_object.status_code == 400 and "takes an object of task fields" in not_object.json()["detail"]
        )
        assert admin.patch("/api/v1/tasks/nope", json={}).status_code == 404
        refused = station.patch(f"/api/v1/tasks/{task_id}", json={"priority": 99})
        assert refused.status_code == 403
    catalogue = Catalogue.open(Store(server.store))
    try:
        audit = [e for e in catalogue.audit_log() if e.action == "task.update"]
    finally:
        catalogue.close()
    assert [(e.actor, e.detail["after"]["spec"]["active"]) for e in audit] == [
        ("root", True),
        ("root", False),
    ]
    assert audit[0].detail["before"]["spec"]["stations"] == ["st-01"]


def test_a_token_of_another_station_is_refused_at_start(
    server: SiteServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    agent = StationAgent(_clients(server.url, tokens["station2"]), AgentOptions("st-01", tmp_path))
    with pytest.raises(StationTokenError, match=r"--station st-01: the site .* refuses this token .*st-02"):
        agent.check()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_site_down_nothing_lost_everything_pushed_afterwards(tmp_path: Path) -> None:
    """Episodes recorded while the site is down wait on disk; a .h5.partial is never pushed."""
    store = tmp_path / "store"
    tokens = make_tokens(store)
    port = _free_port()
    out = tmp_path / "station"
    options = AgentOptions("st-01", out, settle_s=0.2, backoff_max_s=1.0, status_period_s=0.2)
    agent = StationAgent(_clients(f"http://127.0.0.1:{port}", tokens["station"]), options, _recorder_status)
    agent.check()
    assert "cannot reach the site" in agent.site_error
    made = [make_episode(out, seed=k) for k in range(3)]
    shutil.copy(made[0], out / "01PARTIAL0000000000000000.h5.partial")
    with agent:
        _until(
            lambda: "push failed" in agent.summary() and "queue 3" in agent.summary(),
            10,
            "the status line says the site is down and counts the queue",
        )
        assert "cannot reach the site" in agent.summary()
        assert agent.pending() == 3
        server = SiteServer(store, ("--port", str(port))).start()
        try:
            _until(lambda: agent.pending() == 0, 30, "the queue drained once the site came back")
            with server.client(tokens["reviewer"]) as reviewer:
                rows = reviewer.get("/api/v1/episodes", params={"station": "st-01"}).json()["records"]
                assert sorted(r["episode_id"] for r in rows) == sorted(p.stem for p in made)
                live = reviewer.get("/api/v1/stations/st-01/live").json()
                assert live["state"] == "online"
                assert live["report"]["recorder"]["episode_id"] == "01JTEST"
        finally:
            server.stop()
    assert agent.pushed == 3
    assert sorted(p.stem for p in (out / MARK_DIR).glob("*.json")) == sorted(p.stem for p in made)


def test_labels_set_after_a_push_queue_it_again_and_retention_removes_only_what_was_pushed(
    server: SiteServer, tokens: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "station"
    path = make_episode(out, seed=40)
    queue = PushQueue(out, settle_s=0.0)
    assert queue.pending() == [path]
    with SiteClient(server.url, tokens["station"]) as client:
        queue.mark(path, client.push_file(path).state)
        assert queue.pending() == []
        episodes.set_labels(path, success=False)  # 'f' pressed after the push
        assert queue.pending() == [path]
        queue.mark(path, client.push_file(path).state)  # already_have: the site merges the label
    with server.client(tokens["reviewer"]) as reviewer:
        assert reviewer.get(f"/api/v1/episodes/{path.stem}").json()["success"] is False
    unpushed = make_episode(out, seed=41)
    assert queue.prune(RetentionOptions(keep_days=1.0)) == []
    assert queue.prune(RetentionOptions(delete_after_push=True)) == [path]
    assert not path.exists() and unpushed.exists()


CHUNK = 8 << 20  # SiteClient's chunk: the first one lands, then the throttle holds the rest back


def _big_episode(directory: Path) -> Path:
    """About 12 MB of noise frames (PNG does not shrink noise): two upload chunks."""
    camera = ImageStreamSpec("head", width=320, height=240, encoding=ImageEncoding.PNG, rate_hz=10)
    info = EpisodeInfo(robot=RobotInfo("test_arm"), source="synthetic", task="t", station="st-01")
    rng = np.random.default_rng(3)
    with episodes.EpisodeWriter(directory, streams=[camera], info=info, aligned_rate_hz=10) as writer:
        for k in range(52):
            writer.append("head", k * 100_000_000, rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    return writer.final_path


def _watch(server: SiteServer, token: str, directory: Path, *more: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "training_ground", "push", str(directory), "--site", server.url]
    command += ["--watch", "--station", "st-01", *more]
    env = {**os.environ, "TG_SITE_TOKEN": token}
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_killed_mid_upload_the_watch_resumes_on_restart_without_duplicates(
    server: SiteServer, tokens: dict[str, str], site_store: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    out = tmp_path / "station"
    path = _big_episode(out)
    assert path.stat().st_size > CHUNK
    incoming = Store(site_store[0]).incoming_dir
    first = _watch(server, tokens["station"], out, "--max-upload-mbps", "4")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            p.stat().st_size >= CHUNK for p in incoming.glob("*.part")
        ):
            assert first.poll() is None, first.communicate(timeout=10)[0]
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert not (out / MARK_DIR / f"{path.stem}.json").exists()
    second = _watch(server, tokens["station"], out)
    try:
        with server.client(tokens["reviewer"]) as reviewer:
            row = wait_arrived(reviewer, path.stem)
            audit = reviewer.get(f"/api/v1/episodes/{path.stem}/audit").json()
    finally:
        second.send_signal(signal.SIGTERM)
        output = second.communicate(timeout=30)[0]
    with episodes.open(path) as reader:
        assert row["raw_digest"] == reader.metadata.content_digest
    uploads = [e for e in audit["entries"] if e["action"] == "upload"]
    assert len(uploads) == 1, audit
    assert "1 episode(s) pushed; 0 waiting" in output, output


def test_disk_full_while_the_queue_holds_episodes_ends_the_recording_and_keeps_the_queue(
    small_disk: Path,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    """The site is down, two episodes wait; the disk fills during a third: it ends, the two are intact."""
    from collectors import LiveRecorder
    from tests.collectors import live_fixtures as lf
    from tests.collectors.test_live import Clock, feed_good
    from tg_config import SessionConfig, load_profile

    out = small_disk / "station"
    waiting = [make_episode(out, seed=k) for k in (60, 61)]
    options = AgentOptions("st-01", out, settle_s=0.0, backoff_max_s=0.5)
    agent = StationAgent(_clients(f"http://127.0.0.1:{_free_port()}", "t0ken"), options)
    profile = load_profile(lf.write_profile(tmp_path))
    run = SessionConfig.for_profile(str(profile.source_path)).resolve(profile)
    clock = Clock()
    recorder = LiveRecorder(run, schemas=lf.SCHEMAS, out=out, clock=clock)
    with agent:
        _until(lambda: "push failed" in agent.summary(), 10, "the pusher finds the site down")
        with open(small_disk / "filler", "wb") as filler:  # leave about 100 kB
            while shutil.disk_usage(small_disk).free > 100_000:
                filler.write(b"\0" * min(1 << 20, shutil.disk_usage(small_disk).free - 100_000))
                filler.flush()
        episode_id = recorder.start()
        feed_good(recorder, clock, n=400)
        recorder.tick()
        status = recorder.status()
        assert status.state == "idle" and f"episode {episode_id} ended:" in status.error
        assert agent.queue.pending() == waiting
    for path in waiting:
        with episodes.open(path) as reader:
            assert reader.metadata.status == "complete"
