"""Session configs, their overrides of a profile, and the profile registry."""

from __future__ import annotations

import math
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from episodes._spec import ArrayStreamSpec, ImageStreamSpec
from tg_config import (
    PROFILE_PATH_ENV,
    ConfigError,
    SessionConfig,
    UnknownProfileError,
    list_profiles,
    load_profile,
    load_session,
)

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch" / "sim_pick_place.yaml"


def _session(tmp_path: Path, name: str = "run.yaml", **fields: Any) -> Path:
    data: dict[str, Any] = {"profile": "sim_humanoid", "task": {"name": "pick_place"}}
    data.update(fields)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_shipped_launch_file_resolves() -> None:
    session = load_session(LAUNCH)
    assert session.task.instruction == "put the red cube in the blue bin"
    assert (session.sim.renderer, session.sim.operator, session.sim.failure_rate) == ("auto", "scripted", 0.2)
    assert session.episode.max_duration_s == 60.0
    run = session.resolve()
    assert run.profile == load_profile("sim_humanoid")
    assert run.aligned_rate_hz == 15.0
    assert run.master_stream == "head"
    assert run.dataset == "sim_pick_place"
    assert run.out == Path("datasets/sim_pick_place")
    sizes = {s.name: (s.width, s.height, s.rate_hz) for s in run.streams if isinstance(s, ImageStreamSpec)}
    assert sizes == {
        "head": (320, 240, 15.0),
        "wrist_left": (160, 120, 15.0),
        "wrist_right": (160, 120, 15.0),
    }
    rates = {s.name: s.rate_hz for s in run.streams if isinstance(s, ArrayStreamSpec)}
    # state_rate_hz applies to what the robot reports, not to commands or other sensors.
    assert rates["joint_position"] == rates["joint_velocity"] == rates["joint_effort"] == 200.0
    assert rates["action_arm"] == 100.0
    assert rates["imu"] == 200.0
    assert rates["gripper_state"] == 100.0


def test_session_aligned_rate_wins_over_profile(tmp_path: Path) -> None:
    assert load_session(_session(tmp_path)).resolve().aligned_rate_hz == 30.0
    run = load_session(_session(tmp_path, aligned_rate_hz=10)).resolve()
    assert run.aligned_rate_hz == 10.0


def test_camera_override_keeps_unset_values(tmp_path: Path) -> None:
    run = load_session(_session(tmp_path, cameras={"head": {"width": 160, "quality": 70}})).resolve()
    head = run.stream("head")
    assert isinstance(head, ImageStreamSpec)
    assert (head.width, head.height, head.rate_hz, head.quality) == (160, 480, 30.0, 70)
    wrist = run.stream("wrist_left")
    assert isinstance(wrist, ImageStreamSpec)
    assert wrist.width == 320


def test_disabled_camera_is_removed(tmp_path: Path) -> None:
    run = load_session(_session(tmp_path, cameras={"wrist_left": {"enabled": False}})).resolve()
    names = [s.name for s in run.streams]
    assert "wrist_left" not in names
    assert "wrist_right" in names
    with pytest.raises(KeyError):
        run.stream("wrist_left")


def test_disabling_the_master_camera_needs_a_new_master(tmp_path: Path) -> None:
    path = _session(tmp_path, cameras={"head": {"enabled": False}})
    with pytest.raises(ConfigError, match=r"run\.yaml: cameras\.head: master stream 'head' is a"):
        load_session(path).resolve()
    path = _session(tmp_path, cameras={"head": {"enabled": False}}, master_stream="wrist_left")
    assert load_session(path).resolve().master_stream == "wrist_left"
    path = _session(tmp_path, master_stream="chest")
    with pytest.raises(ConfigError, match=r"run\.yaml: master_stream: unknown stream 'chest'"):
        load_session(path).resolve()


def test_override_of_unknown_camera(tmp_path: Path) -> None:
    path = _session(tmp_path, cameras={"chest": {"width": 10}})
    with pytest.raises(ConfigError, match=r"run\.yaml: cameras\.chest: unknown camera 'chest'"):
        load_session(path).resolve()


def test_dataset_and_out_defaults(tmp_path: Path) -> None:
    run = load_session(_session(tmp_path, "my_session.yaml")).resolve()
    assert (run.dataset, run.out) == ("my_session", Path("datasets/my_session"))
    run = load_session(_session(tmp_path, out="/data/cups")).resolve()
    assert (run.dataset, run.out) == ("cups", Path("/data/cups"))
    run = load_session(_session(tmp_path, dataset="mugs")).resolve()
    assert (run.dataset, run.out) == ("mugs", Path("datasets/mugs"))
    in_code = SessionConfig.model_validate({"profile": "sim_humanoid", "task": {"name": "wipe"}})
    assert in_code.resolve().dataset == "wipe"


def test_episode_info(tmp_path: Path) -> None:
    path = _session(
        tmp_path,
        task={"name": "wipe", "instruction": "wipe the table"},
        operator="ana",
        station="s7",
    )
    info = load_session(path).resolve().episode_info("sim")
    assert (info.task, info.instruction, info.operator, info.station) == (
        "wipe",
        "wipe the table",
        "ana",
        "s7",
    )
    assert info.dataset == "run"
    assert info.robot.profile == "sim_humanoid"


def test_session_profile_by_relative_path(tmp_path: Path) -> None:
    profiles = tmp_path / "robots"
    profiles.mkdir()
    (profiles / "arm.yaml").write_text(load_profile("generic_ros2_arm").to_yaml(), encoding="utf-8")
    launch = tmp_path / "launch"
    launch.mkdir()
    run = load_session(_session(launch, profile="../robots/arm.yaml")).resolve()
    assert run.profile.name == "generic_ros2_arm"
    assert run.master_stream == "camera"


def test_session_with_unknown_profile_names_the_session(tmp_path: Path) -> None:
    with pytest.raises(UnknownProfileError, match=r"run\.yaml: profile: unknown robot profile 'x'"):
        load_session(_session(tmp_path, profile="x")).resolve()


def test_session_round_trip(tmp_path: Path) -> None:
    session = load_session(LAUNCH)
    copy = tmp_path / "copy.yaml"
    copy.write_text(session.to_yaml(), encoding="utf-8")
    assert load_session(copy) == session


def test_user_profile_dir_shadows_shipped_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = load_profile("sim_humanoid")
    user = tmp_path / "profiles"
    user.mkdir()
    mine = shipped.model_copy(update={"aligned_rate_hz": 10.0, "description": "mine"})
    (user / "sim_humanoid.yaml").write_text(mine.to_yaml(), encoding="utf-8")
    (user / "my_arm.yaml").write_text(
        load_profile("generic_ros2_arm").to_yaml().replace("generic_ros2_arm", "my_arm", 1),
        encoding="utf-8",
    )
    monkeypatch.setenv(PROFILE_PATH_ENV, os.pathsep.join([str(tmp_path / "absent"), str(user)]))
    known = list_profiles()
    assert known["sim_humanoid"] == user / "sim_humanoid.yaml"
    assert known["my_arm"] == user / "my_arm.yaml"
    assert "generic_ros2_arm" in known
    assert load_profile("sim_humanoid").description == "mine"
    assert load_profile("my_arm").name == "my_arm"
    monkeypatch.delenv(PROFILE_PATH_ENV)
    assert load_profile("sim_humanoid").description == shipped.description


def test_profile_found_by_name_must_carry_that_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "other.yaml").write_text(load_profile("generic_ros2_arm").to_yaml(), encoding="utf-8")
    monkeypatch.setenv(PROFILE_PATH_ENV, str(tmp_path))
    with pytest.raises(ConfigError, match=r"other\.yaml: name: 'generic_ros2_arm' differs"):
        load_profile("other")


def test_examples_in_the_reference_are_valid(tmp_path: Path) -> None:
    text = (REPO / "tg_config" / "PROFILES.md").read_text(encoding="utf-8")
    profile_yaml, session_yaml = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    (tmp_path / "my_arm.yaml").write_text(profile_yaml, encoding="utf-8")
    profile = load_profile(tmp_path / "my_arm.yaml")
    assert profile.streams[2].conversion()[0] == pytest.approx(math.pi / 180)
    (tmp_path / "session.yaml").write_text(session_yaml, encoding="utf-8")
    run = load_session(tmp_path / "session.yaml").resolve()
    assert "wrist_right" not in [s.name for s in run.streams]


def test_examples_in_the_docstrings_are_valid(tmp_path: Path) -> None:
    import tg_config._profile
    import tg_config._session

    for module, load in ((tg_config._profile, load_profile), (tg_config._session, load_session)):
        doc = module.__doc__ or ""
        example = textwrap.dedent(doc.split("::\n", 1)[1])
        path = tmp_path / "example.yaml"
        path.write_text(example, encoding="utf-8")
        load(path)
