"""What the live recorder is given: episode labels over the session's, camera intrinsics scaled."""

from __future__ import annotations

from pathlib import Path

from collectors import CameraIntrinsics, EpisodeLabels
from collectors._live_inputs import SideInputs
from tests.collectors import live_fixtures as lf
from tg_config import ResolvedSession, load_profile, load_session


def _run(tmp_path: Path) -> ResolvedSession:
    profile = load_profile(lf.write_profile(tmp_path))
    return load_session(tmp_path / "session.yaml").resolve(profile)


def test_labels_fill_in_from_the_session_and_extra_is_merged(tmp_path):
    run = _run(tmp_path)
    defaults = EpisodeLabels.of_session(run)
    assert (defaults.task, defaults.instruction, defaults.operator) == ("stack", "stack the cubes", "ben")
    defaults = EpisodeLabels(task=defaults.task, operator="ben", extra={"site": "lab", "seed": 1})
    info = EpisodeLabels(operator="ana", extra={"seed": 2}).episode_info(run, defaults)
    assert (info.robot.profile, info.source, info.dataset) == ("live_test", "ros2", "stacking")
    assert (info.task, info.operator) == ("stack", "ana")
    assert info.extra == {"site": "lab", "seed": 2}


def test_camera_info_becomes_a_calibration_at_the_stored_size(tmp_path):
    inputs = SideInputs(_run(tmp_path))  # the session stores cam at 16x12
    info = CameraIntrinsics(64, 48, (100.0, 0, 32.0, 0, 90.0, 24.0, 0, 0, 1), "plumb_bob", (0.1, 0, 0, 0, 0))
    calibration = inputs.camera_info("cam", info)
    assert calibration is not None and calibration.camera_matrix == (25.0, 0, 8.0, 0, 22.5, 6.0, 0, 0, 1)
    assert inputs.camera_info("jcam", CameraIntrinsics(0, 0, (), "", ())) is None  # not usable
    inputs.robot_description("<robot/>")
    assert inputs.urdf == "<robot/>"
    assert inputs.diagnostics() == {"robot_description": "topic", "calibrated_cameras": ["cam"]}
