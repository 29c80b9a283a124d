"""The simulated session through the ROS 2 graph: separate processes, real DDS, simulated time.

One session records two short episodes (small cameras, a 4 s episode limit, at
half real time: the data must not depend on the pace, and it leaves CPU to spare
on a loaded 2-core CI machine); what they hold is checked against what the
simulator says.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy")

from tg_sim.session import SessionProgress, SessionRunner

import episodes
from collectors import RecorderServiceError
from sim_envs import SimEpisode, SimSetup
from tests.sim_envs._sessions import session_file
from tg_config import EpisodeQaConfigs, load_session
from tg_station import NodeExitedError

pytestmark = pytest.mark.slow


def _session(tmp_path: Path) -> Path:
    return session_file(
        tmp_path,
        sim={"renderer": "tiny", "failure_rate": 0.0},
        episode={"max_duration_s": 4, "min_duration_s": 1},
    )


def test_two_episodes_through_the_graph_pass_the_quality_gate_and_say_what_the_simulator_did(
    tmp_path, ros_domain
):
    session = _session(tmp_path)
    out = tmp_path / "out"
    started_ns = time.time_ns()
    with SessionRunner(
        session, out=out, domain_id=ros_domain, station="bench-1", real_time_factor=0.5
    ) as runner:
        results = runner.run(episodes=2, seed=5)
        codes = runner.close()
    # All stopped cleanly by SIGINT; the recorder is named after the station.
    assert codes == {"sim_bridge": 0, "scripted_teleop": 0, "recorder_bench_1": 0}
    assert [r.seed for r in results] == [5, 6]
    # A 4 s limit truncates the script: the simulator's verdict plus the operator's report say why.
    assert [(r.success, r.failure) for r in results] == [(False, "time_limit")] * 2
    assert {p.name for p in (out / "logs").iterdir()}, "node logs kept next to the data"

    configs = EpisodeQaConfigs(session=str(session))
    setup = SimSetup.from_session(load_session(session).resolve())
    for result in results:
        report = episodes.validate_episode(result.path, configs)
        assert report.findings == (), [
            f"{f.check} {f.stream} {f.columns}: {f.message}" for f in report.findings
        ]
        with episodes.open(result.path) as ep, SimEpisode(setup, result.seed) as planned:
            meta = ep.metadata
            # One duration for one thing: the result's recorded span is what tg info shows.
            assert result.duration_s == round(meta.duration_s, 3) and result.wall_s > result.duration_s
            assert meta.status == "complete" and meta.success is False
            assert meta.instruction == planned.task.instruction == result.instruction
            assert meta.extra["seed"] == result.seed
            assert meta.extra["scene"] == json.loads(json.dumps(planned.task.scene()))
            assert (
                meta.extra["sim"]["operator"] == "scripted" and meta.extra["sim"]["robot"] == "kuavo_humanoid"
            )
            stamps = ep.read("joint_position").stamp_ns
            # Simulated time started at the wall clock when the bridge started, and ran no faster.
            assert started_ns < stamps[0] < stamps[-1] < time.time_ns()
            first_phase = meta.extra["script"][0]
            assert stamps[0] <= first_phase[1] < first_phase[2]
            # Intrinsics from the simulator's CameraInfo, the URDF from /robot_description.
            for camera, calibration in setup.calibrations().items():
                stored = ep.stream(camera).calibration
                assert stored is not None
                assert stored.camera_matrix == pytest.approx(calibration.camera_matrix)
            assert "kuavo" in ep.urdf
            # Each source stream arrives whole: recorded samples = what its rate gives over the episode.
            for name in ("joint_position", "imu", "gripper_state", "head", "action_arm"):
                data = ep.read(name)
                rate = ep.stream(name).spec.rate_hz
                span_s = (data.stamp_ns[-1] - data.stamp_ns[0]) / 1e9
                assert len(data) == round(span_s * rate) + 1, name


def test_a_node_that_dies_ends_the_session_with_its_name_and_log(tmp_path, ros_domain):
    session = _session(tmp_path)
    with SessionRunner(session, out=tmp_path / "out", domain_id=ros_domain, real_time_factor=0.0) as runner:
        runner._nodes.node("scripted_teleop").process.kill()
        with pytest.raises(
            NodeExitedError, match=r"node 'scripted_teleop' was killed by signal 9; its log: .*"
        ):
            runner.run(episodes=1, seed=0)


def test_a_stop_request_finishes_the_current_episode_kept_and_labelled_a_failure(tmp_path, ros_domain):
    session = session_file(tmp_path, sim={"renderer": "tiny", "failure_rate": 0.0})

    def stop_once_recording(progress: SessionProgress) -> None:
        if progress.phase == "recording" and progress.episode_elapsed_s > 1.0:
            runner.request_stop()  # what the first Ctrl-C of tg collect does

    runner = SessionRunner(
        session,
        out=tmp_path / "out",
        domain_id=ros_domain,
        real_time_factor=1.0,
        on_progress=stop_once_recording,
    )
    with runner:
        results = runner.run(episodes=3, seed=0)
    (result,) = results  # no episode after the interrupted one
    assert result.interrupted and (result.success, result.failure) == (False, "interrupted")
    with episodes.open(result.path) as ep:
        assert ep.metadata.status == "complete" and ep.metadata.success is False
        assert ep.metadata.duration_s < 10.0  # stopped early: the script takes about 13 s


def test_a_session_whose_recorder_name_is_taken_in_the_domain_stops_with_what_to_change(tmp_path, ros_env):
    """Issue 12 item 1: a `tg record --station lab1` already runs; a session at station lab1 is refused."""
    import subprocess
    import sys

    from tests.collectors import live_fixtures as lf

    profile = lf.write_profile(tmp_path)
    cmd = [sys.executable, "-m", "tg_recorder.recorder_node", "--ros-args", "-r", "__node:=recorder_lab1"]
    cmd += ["-p", f"profile:={profile}", "-p", f"out:={tmp_path / 'theirs'}"]
    theirs = subprocess.Popen(cmd, env=ros_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3.0)  # it is up and discoverable
        session = _session(tmp_path)
        domain = int(ros_env["ROS_DOMAIN_ID"])
        # Found at the new recorder's start (it exits) or, when DDS discovery is slower than that
        # under load, at the episode's start (refused): the operator reads the same advice.
        with (
            pytest.raises(
                (NodeExitedError, RecorderServiceError),
                match=r"(?s)a recorder named /recorder_lab1 already "
                r"runs in ROS domain \d+; pick another --station .* or another --domain-id",
            ),
            SessionRunner(session, out=tmp_path / "out", domain_id=domain, station="lab1") as runner,
        ):
            runner.run(episodes=1, seed=0)
        assert theirs.poll() is None  # the running recorder is untouched
    finally:
        theirs.terminate()
        theirs.wait(timeout=20)
