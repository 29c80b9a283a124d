"""`tg view` as a user runs it: an .rrd file, Rerun's web viewer served, no display."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("rerun", reason="tg view needs the [view] extra (rerun-sdk, Python 3.11 or later)")
from rerun.chunk import RrdReader

from tests.sim_envs._replay_episodes import physics_session, record
from tests.training_ground.test_cli import tg_env

COMMAND = [sys.executable, "-m", "training_ground", "view"]


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli_view")
    return record(physics_session(tmp), tmp / "ds")


def _env() -> dict[str, str]:
    return {k: v for k, v in tg_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_save_writes_an_rrd_file(episode: Path, tmp_path: Path) -> None:
    out = tmp_path / "ep.rrd"
    result = subprocess.run(
        [*COMMAND, str(episode), "--save", str(out)],
        capture_output=True,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"{episode.stem} -> {out}: " in result.stdout and "robot posed by 28 joints" in result.stdout
    rows: Counter[str] = Counter()
    for chunk in RrdReader(out).stream():
        rows[chunk.entity_path] += 0 if chunk.is_static else chunk.num_rows
    assert rows["/streams/joint_position"] == rows["/robot/joint_transforms/l_arm_pitch"] > 600


def test_without_a_display_it_says_to_save_or_serve(episode: Path) -> None:
    result = subprocess.run(
        [*COMMAND, str(episode)],
        capture_output=True,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 2
    assert "no display here for Rerun's viewer" in result.stderr and "--save FILE.rrd" in result.stderr


def test_serve_hosts_the_web_viewer_until_stopped(episode: Path) -> None:
    web, grpc = _free_port(), _free_port()
    process = subprocess.Popen(
        [*COMMAND, str(episode), "--serve", "--web-port", str(web), "--grpc-port", str(grpc)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("web viewer: ") or not line:
                break
        url = lines[-1].removeprefix("web viewer: ").strip()
        assert url.startswith(f"http://127.0.0.1:{web}/?url=rerun%2Bhttp%3A%2F%2F"), lines
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        with socket.create_connection(("127.0.0.1", grpc), timeout=10):
            pass  # the data server is up
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_without_rerun_it_says_how_to_install_it(episode: Path, tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "rerun"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not here', name='rerun')\n", encoding="utf-8")
    result = subprocess.run(
        [*COMMAND, str(episode), "--save", str(tmp_path / "x.rrd")],
        capture_output=True,
        text=True,
        env=tg_env(pythonpath=[shadow.parent]),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 1
    assert "tg view needs the Rerun SDK (rerun cannot be imported): pip install -e '.[view]'" in result.stderr


def test_serve_refuses_a_port_in_use(episode: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # as the servers bind
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*COMMAND, str(episode), "--serve", "--grpc-port", str(port)],
            capture_output=True,
            text=True,
            env=_env(),
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    assert result.returncode == 1
    assert (
        f"error: port {port} is taken (Address already in use); pick another with --grpc-port"
        in result.stderr
    )
