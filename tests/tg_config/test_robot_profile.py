"""Robot profiles: the shipped files, what they turn into, and the YAML round trip."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from episodes._spec import (
    ArrayStreamSpec,
    ImageEncoding,
    ImageStreamSpec,
    Role,
    StreamKind,
    StreamSpec,
)
from tg_config import ConfigError, RobotProfile, list_profiles, load_profile

KUAVO_4_PRO_JOINTS = [
    *(
        f"{side}_{j}"
        for side in ("l", "r")
        for j in ("leg_roll", "leg_yaw", "leg_pitch", "knee", "foot_pitch", "foot_roll")
    ),
    *(
        f"{side}_{j}"
        for side in ("l", "r")
        for j in (
            "arm_pitch",
            "arm_roll",
            "arm_yaw",
            "forearm_pitch",
            "hand_yaw",
            "hand_pitch",
            "hand_roll",
        )
    ),
    "head_yaw",
    "head_pitch",
]


def test_shipped_profiles_are_listed() -> None:
    known = list_profiles()
    assert {"sim_humanoid", "generic_ros2_arm"} <= set(known)
    assert all(path.suffix == ".yaml" for path in known.values())


@pytest.mark.parametrize("name", ["sim_humanoid", "generic_ros2_arm"])
def test_every_shipped_profile_loads_and_round_trips(name: str, tmp_path: Path) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.stream_specs()
    copy = tmp_path / f"{name}.yaml"
    copy.write_text(profile.to_yaml(), encoding="utf-8")
    again = load_profile(copy)
    assert again == profile
    assert again.source_path == copy


def test_sim_humanoid_joints_follow_kuavo_4_pro_order() -> None:
    profile = load_profile("sim_humanoid")
    assert list(profile.joint_names) == KUAVO_4_PRO_JOINTS
    assert profile.moving_joints == tuple(KUAVO_4_PRO_JOINTS[12:])
    assert profile.robot_info().joint_names == tuple(KUAVO_4_PRO_JOINTS)
    assert profile.robot_info().profile == "sim_humanoid"
    assert [g.name for g in profile.grippers] == ["left_gripper", "right_gripper"]


def test_sim_humanoid_stream_specs() -> None:
    profile = load_profile("sim_humanoid")
    specs = {s.name: s for s in profile.stream_specs()}
    assert list(specs) == [
        "head",
        "wrist_left",
        "wrist_right",
        "joint_position",
        "joint_velocity",
        "joint_effort",
        "gripper_state",
        "imu",
        "action_arm",
        "action_gripper",
    ]
    head = specs["head"]
    assert isinstance(head, ImageStreamSpec)
    assert (head.width, head.height, head.rate_hz) == (640, 480, 30.0)
    assert head.encoding is ImageEncoding.JPEG
    assert head.kind is StreamKind.CAMERA
    assert head.frame_shape == (480, 640, 3)

    position = specs["joint_position"]
    assert isinstance(position, ArrayStreamSpec)
    assert list(position.names) == KUAVO_4_PRO_JOINTS
    assert position.rate_hz == 500.0
    assert position.units == ("rad",) * 28
    assert _array(specs["joint_velocity"]).units[0] == "rad/s"
    assert _array(specs["joint_effort"]).units[27] == "N·m"
    assert position.topic == "/joint_states"
    assert position.msg_type == "sensor_msgs/msg/JointState"

    imu = specs["imu"]
    assert isinstance(imu, ArrayStreamSpec)
    assert imu.names == ("qx", "qy", "qz", "qw", "gx", "gy", "gz", "ax", "ay", "az")
    assert [imu.units[i] for i in (0, 4, 9)] == ["1", "rad/s", "m/s^2"]

    arm = specs["action_arm"]
    assert isinstance(arm, ArrayStreamSpec)
    assert arm.role is Role.ACTION
    assert list(arm.names) == KUAVO_4_PRO_JOINTS[12:26]

    grip = specs["gripper_state"]
    assert isinstance(grip, ArrayStreamSpec)
    assert grip.names == ("left", "right")
    assert grip.units[1] == "closure"
    assert profile.master == "head"
    assert profile.aligned_rate_hz == 30.0


def test_prismatic_joint_units_are_metres() -> None:
    profile = load_profile("generic_ros2_arm")
    specs = {s.name: s for s in profile.stream_specs()}
    position = specs["joint_position"]
    assert isinstance(position, ArrayStreamSpec)
    assert position.names[-1] == "finger_joint"
    assert position.units[0] == "rad"
    assert position.units[7] == "m"
    assert _array(specs["joint_velocity"]).units[7] == "m/s"
    assert _array(specs["joint_effort"]).units[7] == "N"
    assert _array(specs["gripper_state"]).units[0] == "closure"


def test_conversions() -> None:
    profile = load_profile("generic_ros2_arm")
    streams = {s.name: s for s in profile.streams}
    scale, offset = streams["gripper_state"].conversion()
    # Fully open finger (0.04 m) reads as closure 0, fully closed as 1.
    assert 0.04 * scale + offset == pytest.approx(0.0)
    assert 0.0 * scale + offset == pytest.approx(1.0)
    assert streams["joint_position"].conversion() == (1.0, 0.0)
    deg = RobotProfile.model_validate(
        _minimal({"streams": [{**_POSITION, "convert": "deg_to_rad"}]})
    ).streams[0]
    deg_scale, deg_offset = deg.conversion()
    assert deg_scale == pytest.approx(math.pi / 180)
    assert deg_offset == 0.0


def test_joint_limits_in_joint_order() -> None:
    profile = load_profile("sim_humanoid")
    lower, upper = profile.joint_limits()
    assert lower.shape == upper.shape == (28,)
    assert lower.dtype == np.float64
    assert np.all(lower <= upper)
    assert lower[12] == pytest.approx(-3.1)  # l_arm_pitch
    assert upper[12] == pytest.approx(1.6)
    lo, hi = profile.joint_limits(["head_pitch", "head_yaw"])
    np.testing.assert_allclose(lo, [-0.44, -0.52])
    np.testing.assert_allclose(hi, [0.44, 0.52])
    with pytest.raises(ConfigError, match="no joint l_elbow"):
        profile.joint_limits(["l_elbow"])


def test_default_master_is_first_camera_then_first_stream() -> None:
    with_camera = RobotProfile.model_validate(
        _minimal({"cameras": [{"name": "cam", "width": 4, "height": 4, "rate_hz": 10}]})
    )
    assert with_camera.master == "cam"
    assert RobotProfile.model_validate(_minimal()).master == "joint_position"


def test_depth_camera_defaults_to_png_mono() -> None:
    camera = {"name": "depth", "width": 4, "height": 4, "rate_hz": 10, "kind": "depth"}
    spec = RobotProfile.model_validate(_minimal({"cameras": [camera]})).stream_specs()[0]
    assert isinstance(spec, ImageStreamSpec)
    assert spec.kind is StreamKind.DEPTH
    assert spec.encoding is ImageEncoding.PNG
    assert spec.channels == 1


def test_explicit_units_and_names(tmp_path: Path) -> None:
    stream = {
        "name": "motor_current",
        "kind": "joint_effort",
        "joints": ["a"],
        "units": ["A"],
        "field": "joint_data.joint_current[0:1]",
    }
    wrench = {"name": "wrist_ft", "kind": "wrench", "topic": "/sensor/ft/lwrist"}
    profile = RobotProfile.model_validate(_minimal({"streams": [stream, wrench]}))
    specs = {s.name: s for s in profile.stream_specs()}
    assert _array(specs["motor_current"]).units[0] == "A"
    assert _array(specs["wrist_ft"]).names == ("fx", "fy", "fz", "tx", "ty", "tz")
    assert _array(specs["wrist_ft"]).units[5] == "N·m"


def test_urdf_is_read_relative_to_the_profile(tmp_path: Path) -> None:
    (tmp_path / "urdf").mkdir()
    (tmp_path / "urdf" / "robot.urdf").write_text("<robot name='r'/>", encoding="utf-8")
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(_minimal({"urdf": "urdf/robot.urdf"})), encoding="utf-8")
    profile = load_profile(path)
    assert profile.urdf_path == tmp_path / "urdf" / "robot.urdf"
    assert profile.urdf_text() == "<robot name='r'/>"
    shipped = load_profile("sim_humanoid")
    assert shipped.urdf_path is not None and shipped.urdf_path.name == "kuavo_humanoid.urdf"
    assert '<robot name="kuavo_humanoid">' in (shipped.urdf_text() or "")
    missing = tmp_path / "missing.yaml"
    missing.write_text(yaml.safe_dump(_minimal({"urdf": "nope.urdf"})), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing\.yaml: urdf: cannot read"):
        load_profile(missing).urdf_text()


def test_profile_is_immutable() -> None:
    profile = load_profile("sim_humanoid")
    with pytest.raises(ValueError, match="frozen"):
        profile.aligned_rate_hz = 10.0  # type: ignore[misc]


def _array(spec: StreamSpec) -> ArrayStreamSpec:
    assert isinstance(spec, ArrayStreamSpec)
    return spec


_POSITION = {"name": "joint_position", "kind": "joint_position", "joints": ["a", "b"]}


def _minimal(changes: dict[str, object] | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "tiny",
        "joints": [
            {"name": "a", "lower": -1.0, "upper": 1.0, "velocity": 2.0},
            {"name": "b", "type": "prismatic", "lower": 0.0, "upper": 0.1, "velocity": 0.5},
        ],
        "streams": [_POSITION],
    }
    data.update(changes or {})
    return data


@pytest.mark.parametrize(
    ("topic", "info_topic", "expected"),
    [
        ("/cam/color/image_raw/compressed", "", "/cam/color/camera_info"),
        ("/cam/depth/image_raw/compressedDepth", "", "/cam/depth/camera_info"),
        ("/cam/image_raw", "", "/cam/camera_info"),
        ("/cam/image_raw", "/calib/cam_info", "/calib/cam_info"),
        ("", "", ""),
    ],
)
def test_camera_info_topic_defaults_next_to_the_image_topic(
    topic: str, info_topic: str, expected: str
) -> None:
    from tg_config import Camera

    camera = Camera(name="cam", width=8, height=6, rate_hz=30, topic=topic, info_topic=info_topic)
    assert camera.camera_info_topic == expected
