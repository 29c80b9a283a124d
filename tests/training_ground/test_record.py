"""`tg record`: keys to actions on a real LiveRecorder, and the command itself over DDS with piped keys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import episodes
from collectors import LiveRecorder, Publisher, RecorderStateError
from tests.collectors import live_fixtures as lf
from tg_config import SessionConfig, load_profile
from training_ground.cli._record import Action, apply_action, key_action, status_line


@pytest.fixture
def recorder(tmp_path: Path) -> LiveRecorder:
    profile = load_profile(lf.write_profile(tmp_path))
    run = SessionConfig.for_profile(str(profile.source_path)).resolve(profile)
    # Keeps episodes where only some topics publish: these tests publish one.
    return LiveRecorder(run, schemas=lf.SCHEMAS, out=tmp_path / "out", clock=time.time_ns, keep_empty=True)


def test_keys_map_to_actions():
    assert [key_action(k) for k in (" ", "\n", "\r", "d", "S", "f", "q", "x")] == [
        Action.TOGGLE,
        Action.TOGGLE,
        Action.TOGGLE,
        Action.DISCARD,
        Action.SUCCESS,
        Action.FAILURE,
        Action.QUIT,
        None,
    ]


def test_a_key_session_records_labels_discards_and_quits(recorder, tmp_path):
    assert apply_action(Action.TOGGLE, recorder).startswith("recording episode ")
    first = recorder.status().episode_id
    assert apply_action(Action.DISCARD, recorder) == (
        f"discarded episode {first}; press space to record it again"
    )
    apply_action(Action.TOGGLE, recorder)
    handlers = {p.topic: p.callback for p in recorder.topics}
    handlers["/joint_states"](lf.joint_state(time.time_ns(), (0.1, 0.2, 0.3)))
    saved = apply_action(Action.TOGGLE, recorder)
    (path,) = (tmp_path / "out").glob("*.h5")
    assert saved == f"saved {path}"
    assert apply_action(Action.FAILURE, recorder) == f"{path}: success=false"
    with pytest.raises(RecorderStateError, match="cannot discard: not recording"):
        apply_action(Action.DISCARD, recorder)
    apply_action(Action.TOGGLE, recorder)
    assert apply_action(Action.QUIT, recorder).startswith("saved ")  # quitting keeps the episode
    assert len(list((tmp_path / "out").glob("*.h5"))) == 2
    with episodes.open(path) as ep:
        assert ep.metadata.success is False


def test_status_line_shows_rates_against_the_profile_and_problems(recorder):
    recorder.start()
    recorder.check_publishers("/imu", [Publisher("/x", "std_msgs/msg/String")])
    line = status_line(recorder.tick())
    assert "● REC" in line
    assert "/joint_states 0/100 Hz" in line
    assert "/imu 0/100 Hz [red]rej 1[/]" in line


def test_tg_record_runs_the_recorder_with_keys_from_stdin(tmp_path, ros_env):
    pytest.importorskip("rclpy")
    profile = lf.write_profile(tmp_path)
    out = tmp_path / "out"
    env = {k: v for k, v in ros_env.items() if k != "FASTDDS_DEFAULT_PROFILES_FILE"}
    cmd = [sys.executable, "-m", "training_ground", "record", "--profile", str(profile), "--out", str(out)]
    cmd += ["--domain-id", ros_env["ROS_DOMAIN_ID"], "--task", "wave"]
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdin is not None
    try:
        time.sleep(3)
        proc.stdin.write(b" ")
        proc.stdin.flush()
        time.sleep(1.5)
        proc.stdin.write(b"s q")  # success while recording, then quit (saves it)
        proc.stdin.close()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    (path,) = out.glob("*.h5")
    with episodes.open(path) as ep:
        assert (ep.metadata.status, ep.metadata.task, ep.metadata.success) == ("complete", "wave", True)
    assert os.path.basename(str(path)) in output.replace("\n", "")


def test_sigterm_saves_the_episode_in_progress_as_aborted(tmp_path, ros_env):
    pytest.importorskip("rclpy")
    profile = lf.write_profile(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "training_ground", "record", "--profile", str(profile), "--out", str(out)]
    cmd += ["--domain-id", ros_env["ROS_DOMAIN_ID"]]
    proc = subprocess.Popen(
        cmd, env=ros_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        time.sleep(3)
        proc.stdin.write(b" ")
        proc.stdin.flush()
        time.sleep(1.5)
        proc.terminate()
        proc.wait(timeout=30)
        output = proc.stdout.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "saved as aborted" in output
    (path,) = out.glob("*.h5")
    with episodes.open(path) as ep:
        assert (ep.metadata.status, ep.metadata.abort_reason) == ("aborted", "tg record interrupted")
