"""`tg collect` and `tg demo` through the ROS 2 graph."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import episodes
from tests.sim_envs._sessions import session_file

REPO = Path(__file__).resolve().parents[2]


def _tg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=180,
        cwd=REPO,
    )


def test_options_of_the_direct_path_are_refused_through_ros(tmp_path, ros_env):
    result = _tg("collect", "--config", "launch/sim_pick_place.yaml", "--task", "bimanual_lift", env=ros_env)
    assert result.returncode == 2
    assert "--task: only with --no-ros; through ROS 2 the nodes read the session config" in result.stderr
    # Every override of the sim: section is named, in the order of `tg collect --help`.
    args = ("--renderer", "tiny", "--failure-rate", "0", "--operator", "hasty")
    result = _tg("collect", "--config", "launch/sim_pick_place.yaml", *args, env=ros_env)
    assert result.returncode == 2
    assert "--operator, --failure-rate, --renderer: only with --no-ros" in result.stderr


def test_without_ros_it_says_so_and_points_at_no_ros(tmp_path, ros_env):
    (tmp_path / "rclpy").mkdir()
    (tmp_path / "rclpy" / "__init__.py").write_text("raise ImportError('no ROS 2 here')\n")
    env = {**ros_env, "PYTHONPATH": f"{tmp_path}:{ros_env['PYTHONPATH']}"}
    result = _tg("collect", "--config", "launch/sim_pick_place.yaml", "--out", str(tmp_path / "o"), env=env)
    assert result.returncode == 1
    assert (
        "ROS 2 is not importable here (no ROS 2 here); add --no-ros to record without ROS 2" in result.stderr
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_demo_records_through_the_ros_graph_and_passes_qa(tmp_path, ros_env):
    pytest.importorskip("rclpy")
    session = session_file(tmp_path, sim={"renderer": "tiny", "failure_rate": 0.0})
    out = tmp_path / "demo"
    args = ("demo", "--config", str(session), "--out", str(out), "--episodes", "1", "--duration", "3")
    result = _tg(*args, env=ros_env)
    assert result.returncode == 0, result.stderr
    assert "through ROS 2" in result.stderr and "directly" not in result.stderr
    assert f"ROS 2 domain {ros_env['ROS_DOMAIN_ID']}" in result.stderr
    assert "1 passed, 0 failed" in result.stdout
    (path,) = episodes.list_episodes(out)
    with episodes.open(path) as ep:
        assert ep.metadata.extra["sim"]["operator"] == "scripted"  # the teleop node's part of the metadata
        assert "recorder" in ep.metadata.extra  # the recorder node's diagnostics
    (logs,) = (out / "logs").glob("session-*")
    assert {p.name for p in logs.glob("*.log")} == {"sim_bridge.log", "scripted_teleop.log", "recorder.log"}


def _collect_until_recording(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    session = session_file(tmp_path, sim={"renderer": "tiny", "failure_rate": 0.0})
    out = tmp_path / "data"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "training_ground",
            "collect",
            "--config",
            str(session),
            "--episodes",
            "3",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while not list(out.glob("*.h5.partial")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no episode started within 60 s"
        time.sleep(0.1)
    time.sleep(1.0)
    return process, out


@pytest.mark.slow
def test_ctrl_c_finishes_the_current_episode_and_stops(tmp_path, ros_env):
    pytest.importorskip("rclpy")
    process, out = _collect_until_recording(tmp_path, ros_env)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr  # fewer episodes than asked
    assert "finishing the current episode and stopping (Ctrl-C again to abort it)" in stderr
    (path,) = episodes.list_episodes(out)
    with episodes.open(path) as ep:
        assert ep.metadata.status == "complete" and ep.metadata.success is False


@pytest.mark.slow
def test_a_second_ctrl_c_aborts_and_the_open_episode_is_saved_as_aborted(tmp_path, ros_env):
    pytest.importorskip("rclpy")
    process, out = _collect_until_recording(tmp_path, ros_env)
    process.send_signal(signal.SIGINT)
    time.sleep(0.02)  # two signals, not one the kernel merges
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "aborted: nodes stopped" in stderr
    (path,) = episodes.list_episodes(out)
    with episodes.open(path) as ep:
        assert ep.metadata.status == "aborted"
