"""`tg record`: keys to actions on a real LiveRecorder, and the command itself over DDS with piped keys."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import episodes
from collectors import LiveRecorder, Publisher, RecorderStateError
from tests.collectors import live_fixtures as lf
from tg_config import ConfigError, SessionConfig, load_profile
from training_ground.cli._record import (
    Action,
    RecordSource,
    apply_action,
    key_action,
    recorder_setup,
    status_line,
)

REPO = Path(__file__).resolve().parents[2]


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
    assert saved == f"saved {path} (0.00 s recorded)"  # one message: a span of 0
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
    handlers = {p.topic: p.callback for p in recorder.topics}
    handlers["/joint_states"](lf.joint_state(time.time_ns(), (0.1, 0.2, 0.3)))
    line = status_line(recorder.tick())
    assert "● REC" in line and "0.0 s recorded" in line
    assert "/joint_states 0/100 Hz" in line  # heard: its rate is a measurement
    assert "/imu -/100 Hz [red]rej 1[/]" in line  # nothing arrived yet: no rate to show


def test_status_line_shows_the_recorders_warnings(tmp_path):
    profile = load_profile(lf.write_profile(tmp_path))
    run = SessionConfig.for_profile(str(profile.source_path)).resolve(profile)
    recorder = LiveRecorder(run, schemas=lf.SCHEMAS, out=tmp_path / "out", clock=time.time_ns)
    on = {p.topic: p.callback for p in recorder.topics}
    for _ in range(5):  # stamps 10.8 s behind: a simulator's clock without --use-sim-time
        on["/joint_states"](lf.joint_state(time.time_ns() - 10_800_000_000, (0.1, 0.2, 0.3)))
    line = status_line(recorder.tick())
    assert "[yellow]warning: clock: /joint_states stamps are 10.8" in line


def test_a_session_config_gives_the_recorder_its_profile_rates_labels_and_simulated_time(tmp_path):
    config = REPO / "launch/sim_pick_place.yaml"
    setup = recorder_setup(RecordSource(config=config, station="lab-1"))
    assert setup.node.name == "recorder_lab_1"
    params = setup.parameters
    assert (params["session"], params["use_sim_time"], params["keep_empty"]) == (str(config), True, False)
    assert params["out"] == str(setup.run.out)
    session = setup.run.session
    assert (session.task.name, session.profile) == ("pick_place", "sim_humanoid")
    assert setup.run.stream("joint_position").rate_hz == 200  # the session's state rate, not the profile's
    assert setup.run.aligned_rate_hz == 15
    kept = recorder_setup(RecordSource(config=config, out=tmp_path, use_sim_time=False, keep_empty=True))
    assert (kept.parameters["use_sim_time"], kept.parameters["keep_empty"]) == (False, True)
    assert kept.run.out == tmp_path
    by_profile = recorder_setup(RecordSource(profile="kuavo4pro", out=tmp_path, station="arm1"))
    assert by_profile.node.name == "recorder_arm1"
    assert (by_profile.parameters["profile"], by_profile.parameters["use_sim_time"]) == ("kuavo4pro", False)


def test_profile_and_config_are_one_or_the_other(tmp_path):
    config = REPO / "launch/sim_pick_place.yaml"
    with pytest.raises(ConfigError, match=r"give either --profile .* or --config .*, not both"):
        recorder_setup(RecordSource(profile="kuavo4pro", config=config, out=tmp_path))
    with pytest.raises(ConfigError, match=r"give --profile \(a robot profile\) or --config"):
        recorder_setup(RecordSource(out=tmp_path))
    with pytest.raises(ConfigError, match="--out: where to write the episodes"):
        recorder_setup(RecordSource(profile="kuavo4pro"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "training_ground",
            "record",
            "--profile",
            "kuavo4pro",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 1
    assert "error: give either --profile" in done.stderr


@pytest.mark.parametrize("keep_empty", [True, False])
def test_tg_record_runs_the_recorder_with_keys_from_stdin(tmp_path, ros_env, keep_empty):
    """Nothing publishes: the episode is kept only with --keep-empty, else discarded naming the streams."""
    pytest.importorskip("rclpy")
    profile = lf.write_profile(tmp_path)
    out = tmp_path / "out"
    env = {k: v for k, v in ros_env.items() if k != "FASTDDS_DEFAULT_PROFILES_FILE"}
    cmd = [sys.executable, "-m", "training_ground", "record", "--profile", str(profile), "--out", str(out)]
    cmd += ["--domain-id", ros_env["ROS_DOMAIN_ID"], "--task", "wave", "--station", "t1"]
    cmd += ["--keep-empty"] if keep_empty else []
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, b"")), daemon=True)
    reader.start()

    def printed(text: str, within_s: float) -> None:
        # What the operator sees, not a fixed sleep: a loaded machine starts the recorder later.
        deadline = time.monotonic() + within_s
        while text not in "".join(b.decode(errors="replace") for b in lines).replace("\n", ""):
            assert time.monotonic() < deadline and proc.poll() is None, f"never printed {text!r}: {lines}"
            time.sleep(0.1)

    try:
        printed("space/Enter start/stop", 60)
        proc.stdin.write(b" ")
        proc.stdin.flush()
        printed("nothing yet on required stream(s)", 30)  # the recorder warns after 1 s
        proc.stdin.write(b"s q")  # success while recording, then quit (saves it)
        proc.stdin.close()
        proc.wait(timeout=30)
        reader.join(timeout=10)
        output = "".join(b.decode(errors="replace") for b in lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    flat = output.replace("\n", "")
    words = "".join(output.split())  # however the console wrapped the lines
    assert "as/recorder_t1;" in words
    # The status line is not in a log: its warnings are printed once.
    assert "warning:nothingyetonrequiredstream(s)" in words
    if not keep_empty:
        assert "discarded:nothingarrivedonrequiredstream(s)" in words
        assert "--keep-empty" in flat
        assert not list(out.glob("*.h5*"))
        return
    (path,) = out.glob("*.h5")
    with episodes.open(path) as ep:
        assert (ep.metadata.status, ep.metadata.task, ep.metadata.success) == ("complete", "wave", True)
    assert os.path.basename(str(path)) in flat


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
