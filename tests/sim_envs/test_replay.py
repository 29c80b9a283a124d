"""`replay_episode` and the replay.divergence check on real simulated episodes (physics only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import episodes
from sim_envs import (
    DIVERGENCE,
    DivergenceCheck,
    ReplayOptions,
    ReplayReport,
    SimError,
    record_synthetic_episode,
    replay_episode,
)
from tests.sim_envs._replay_episodes import (
    SWAPPED,
    physics_session,
    real_session,
    record,
    scaled,
    shifted,
    swapped,
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One pick-and-place episode (seed 3) and three copies whose arm actions lie."""
    tmp = tmp_path_factory.mktemp("replay")
    run = physics_session(tmp)
    corruptions = {"clean": None, "scaled": scaled, "shifted": shifted, "swapped": swapped}
    return {name: record(run, tmp / name, corrupt=c) for name, c in corruptions.items()}


@pytest.fixture(scope="module")
def reports(recorded: dict[str, Path]) -> dict[str, ReplayReport]:
    return {name: replay_episode(path) for name, path in recorded.items()}


def _divergence(path: Path) -> list[episodes.Finding]:
    report = episodes.validate_episode(path, checks=[DivergenceCheck()])
    return [f for f in report.findings if f.check == DIVERGENCE.id]


def test_replay_reproduces_a_no_ros_episode(reports: dict[str, ReplayReport]) -> None:
    report = reports["clean"]
    tracking = report.tracking
    assert report.robot == "kuavo_humanoid" and report.stream == "joint_position"
    assert len(tracking.joints) == 14  # the arms: what action_arm commands
    assert tracking.rms <= 0.01 and tracking.max <= 0.01
    assert tracking.lag_s == 0.0 and report.hints == ()
    assert report.duration_s > 5 and report.real_time_factor > 1
    assert ReplayReport.from_json(json.loads(json.dumps(report.to_json()))) == report


def test_divergence_check_passes_the_clean_episode(recorded: dict[str, Path]) -> None:
    assert _divergence(recorded["clean"]) == []
    assert DIVERGENCE.id in episodes.CHECKS


def test_actions_in_degrees_fail_naming_the_worst_joint(
    recorded: dict[str, Path], reports: dict[str, ReplayReport]
) -> None:
    (finding,) = _divergence(recorded["scaled"])
    worst = reports["scaled"].tracking.worst_joint
    assert finding.severity is episodes.Severity.ERROR
    assert finding.columns == (worst.joint,) and finding.stream == "joint_position"
    assert finding.start_ns == round(worst.worst_s * 1e9)
    assert f"{worst.joint} RMS" in finding.message and "14 of 14 joint(s) above 0.05 rad" in finding.message
    hint = "the commands are 57.3 times the recorded positions: degrees where radians belong?"
    assert hint in finding.message


def test_actions_200_ms_late_fail_naming_the_lag(recorded: dict[str, Path]) -> None:
    (finding,) = _divergence(recorded["shifted"])
    assert "the replay matches best shifted by +200 ms" in finding.message
    assert "the actions are offset in time from the states" in finding.message


def test_swapped_joints_fail_naming_one_of_them(
    recorded: dict[str, Path], reports: dict[str, ReplayReport]
) -> None:
    (finding,) = _divergence(recorded["swapped"])
    assert finding.columns[0] in SWAPPED
    ranked = sorted(reports["swapped"].tracking.joints, key=lambda j: -j.rms)
    assert {j.joint for j in ranked[:2]} == set(SWAPPED)
    assert "2 of 14 joint(s) above" in finding.message
    assert reports["swapped"].hints == (
        "the commands of l_arm_pitch and l_forearm_pitch look swapped: each follows the other joint",
    )
    assert reports["swapped"].hints[0] in finding.message


def test_divergence_check_runs_in_worker_processes(recorded: dict[str, Path]) -> None:
    paths = [recorded["clean"], recorded["swapped"]]
    found = episodes.validate_episodes(paths, workers=2, checks=[DivergenceCheck()])
    assert [r.counts().get(DIVERGENCE.id, 0) for r in found] == [0, 1]


def test_real_kuavo4pro_episode_replays_on_the_kuavo_model(tmp_path: Path) -> None:
    path = record_synthetic_episode(real_session(tmp_path, "kuavo4pro"), duration_s=3.0)
    report = replay_episode(path, ReplayOptions(max_lag_s=0.3))
    assert report.robot == "kuavo_humanoid"
    # Synthetic commands lead the states by 100 ms: the replay leads the recording.
    assert report.tracking.lag_s == pytest.approx(-0.1, abs=0.03)
    assert any("'action_hand'" in note for note in report.notes)
    # A real episode is not the divergence check's business (it is opt-in for simulated ones).
    assert _divergence(path) == []


def test_profile_without_simulated_model_is_refused(tmp_path: Path) -> None:
    path = record_synthetic_episode(real_session(tmp_path, "kuavo5"), duration_s=1.0)
    with pytest.raises(SimError, match=r"robot profile 'kuavo5' has no simulated model: .*lacks waist_yaw"):
        replay_episode(path)


def test_episode_without_actions_is_refused(tmp_path: Path) -> None:
    spec = episodes.ArrayStreamSpec(
        "joint_position", episodes.StreamKind.JOINT_POSITION, ("l_arm_pitch",), ("rad",), rate_hz=100
    )
    info = episodes.EpisodeInfo(robot=episodes.RobotInfo("sim_humanoid"), source="sim")
    with episodes.EpisodeWriter(tmp_path, streams=[spec], info=info, aligned_rate_hz=10) as writer:
        for k in range(20):
            writer.append("joint_position", k * 10_000_000, [0.0])
    with pytest.raises(SimError, match=r"no joint position actions to replay \(action streams: none\)"):
        replay_episode(writer.final_path)
