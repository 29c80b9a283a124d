"""Bad session input fails before anything runs, naming the file, the field and the choices."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim_envs import KuavoHumanoid, SimError, SimOverrides, SimSetup, UnknownNameError
from tests.sim_envs._sessions import session_file
from tg_base import TgError
from tg_config import ConfigError, load_profile, load_session


def _setup(path: Path, **overrides: str) -> SimSetup:
    return SimSetup.from_session(load_session(path).resolve(), SimOverrides(**overrides))


def test_sim_errors_are_tg_errors() -> None:
    assert issubclass(UnknownNameError, SimError)
    assert issubclass(SimError, TgError)


def test_unknown_task_lists_the_known_ones(tmp_path: Path) -> None:
    path = session_file(tmp_path, sim={"task": "juggle"})
    with pytest.raises(
        UnknownNameError,
        match=r"run\.yaml: sim\.task: unknown task 'juggle'; known tasks: bimanual_lift, pick_place",
    ):
        _setup(path)
    path = session_file(tmp_path, task={"name": "wipe"})
    with pytest.raises(UnknownNameError, match=r"run\.yaml: task\.name: unknown task 'wipe'; known tasks: "):
        _setup(path)
    with pytest.raises(
        UnknownNameError, match=r"--task: unknown task 'wipe'; known tasks: bimanual_lift, pick_place"
    ):
        _setup(session_file(tmp_path), task="wipe")


def test_unknown_robot_and_operator_list_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        UnknownNameError,
        match=r"run\.yaml: sim\.robot: unknown robot 'atlas'; known robots: kuavo_humanoid, walker_humanoid",
    ):
        _setup(session_file(tmp_path, sim={"robot": "atlas"}))
    with pytest.raises(
        UnknownNameError,
        match=r"run\.yaml: sim\.operator: unknown operator 'bob'; known operators: careful, hasty",
    ):
        _setup(session_file(tmp_path, sim={"operator": "bob"}))
    with pytest.raises(UnknownNameError, match=r"--operator: unknown operator 'bob'; known operators: "):
        _setup(session_file(tmp_path), operator="bob")


def test_wrong_sim_field_names_the_field_and_file(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"run\.yaml: sim\.renderr: unknown field 'renderr'; allowed here: robot, task, operator",
    ):
        load_session(session_file(tmp_path, sim={"renderr": "tiny"}))
    with pytest.raises(
        ConfigError, match=r"run\.yaml: sim\.failure_rate: Input should be less than or equal to 1"
    ):
        load_session(session_file(tmp_path, sim={"failure_rate": 1.5}))
    with pytest.raises(
        ConfigError, match=r"run\.yaml: sim\.renderer: Input should be 'auto', 'tiny', 'egl' or 'none'"
    ):
        load_session(session_file(tmp_path, sim={"renderer": "opengl"}))


def test_profile_of_another_robot_is_refused(tmp_path: Path) -> None:
    path = session_file(tmp_path, "sim_walker_pick_place.yaml", sim={"robot": "kuavo_humanoid"})
    with pytest.raises(
        SimError,
        match=r"sim_walker\.yaml: stream 'joint_position': joint\(s\) LShoulderPitch, .* are not joints "
        r"of simulated robot 'kuavo_humanoid'; set sim\.robot",
    ):
        _setup(path)


def test_a_stream_faster_than_the_physics_is_refused(tmp_path: Path) -> None:
    path = session_file(tmp_path, sim={"physics_hz": 100})
    with pytest.raises(
        SimError, match=r"run\.yaml: sim\.physics_hz: 100 Hz is below the 200 Hz of stream 'joint_position'"
    ):
        _setup(path)


def test_physics_rate_defaults_to_a_multiple_of_the_state_rate(tmp_path: Path) -> None:
    assert _setup(session_file(tmp_path)).physics_hz == 200.0
    assert _setup(session_file(tmp_path, state_rate_hz=500)).physics_hz == 1000.0  # and imu at 200 Hz
    assert _setup(session_file(tmp_path, state_rate_hz=150)).physics_hz == 600.0  # imu at 200 Hz


def test_physics_only_renderer_needs_cameras_disabled(tmp_path: Path) -> None:
    path = session_file(tmp_path, sim={"renderer": "none"})
    with pytest.raises(
        SimError, match=r"run\.yaml: sim\.renderer: 'none' renders no images, but the session records"
    ):
        _setup(path)
    off = {name: {"enabled": False} for name in ("head", "wrist_left", "wrist_right")}
    path = session_file(tmp_path, sim={"renderer": "none"}, cameras=off, master_stream="joint_position")
    assert _setup(path).cameras == {}


def test_egl_renderer_is_never_required(tmp_path: Path) -> None:
    setup = _setup(session_file(tmp_path, sim={"renderer": "auto"}))
    assert setup.renderer == "auto"  # resolved per episode: EGL with a GPU, else the CPU renderer


def test_a_still_joint_the_operator_drives_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(load_profile("sim_humanoid").to_yaml())
    for joint in data["joints"]:
        if joint["name"] == "l_forearm_pitch":
            joint["moves"] = False
    profile = tmp_path / "still.yaml"
    data["name"] = "still"
    data["urdf"] = str(KuavoHumanoid.urdf_path())
    profile.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(
        SimError,
        match=r"still\.yaml: joints: l_forearm_pitch are marked moves: false, but the scripted operator",
    ):
        _setup(session_file(tmp_path, profile=str(profile)))
