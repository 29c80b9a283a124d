"""The shipped robot profiles say what robots.md says about each robot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tg_config.test_robot_profile import KUAVO_4_PRO_JOINTS
from tg_config import list_profiles, load_profile

SHIPPED = ["sim_humanoid", "generic_ros2_arm", "kuavo4pro", "kuavo5", "walker_tienkung"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads_and_round_trips(name: str, tmp_path: Path) -> None:
    assert name in list_profiles()
    profile = load_profile(name)
    copy = tmp_path / f"{name}.yaml"
    copy.write_text(profile.to_yaml(), encoding="utf-8")
    assert load_profile(copy) == profile
    # Every stream a bag or a live recording fills says where it comes from.
    for item in (*profile.cameras, *profile.streams):
        assert item.topic and item.msg_type, f"{name}: {item.name} has no topic or type"


def test_kuavo_4_pro_joint_order_topics_and_units() -> None:
    profile = load_profile("kuavo4pro")
    assert list(profile.joint_names) == KUAVO_4_PRO_JOINTS
    streams = {s.name: s for s in profile.streams}
    assert streams["joint_position"].topic == "/sensors_data_raw"
    assert streams["joint_position"].field == "joint_data.joint_q"
    # The fourth jointData field by position, with its units by the name the bag gives it.
    assert streams["joint_effort"].field == "joint_data[3]"
    assert streams["joint_effort"].units_by_field == {"joint_current": ("A",), "joint_torque": ("N·m",)}
    assert streams["action_arm"].topic == "/kuavo_arm_traj" and streams["action_arm"].convert == "deg_to_rad"
    assert streams["action_arm"].joints == tuple(KUAVO_4_PRO_JOINTS[12:26])
    assert streams["gripper_state"].convert == "percent_to_closure"
    cameras = {c.name: c.topic for c in profile.cameras}
    assert cameras["head"] == "/cam_h/color/image_raw/compressed"
    assert cameras["head_depth"] == "/cam_h/depth/image_raw/compressedDepth"
    assert profile.master == "head"
    assert "kuavo_msgs/jointData" in profile.msg_definitions


def test_kuavo_5_inserts_the_waist_at_12() -> None:
    four, five = load_profile("kuavo4pro"), load_profile("kuavo5")
    assert len(five.joints) == 29
    assert five.joint_names[12] == "waist_yaw"
    assert five.joint_names[:12] + five.joint_names[13:] == four.joint_names
    arm = next(s for s in five.streams if s.name == "action_arm")
    assert [five.joint_names.index(j) for j in arm.joints] == list(range(13, 27))


def test_walker_matches_motors_by_id() -> None:
    profile = load_profile("walker_tienkung")
    streams = {s.name: s for s in profile.streams}
    arm = streams["arm_position"]
    assert arm.topic == "/arm/status" and arm.msg_type == "bodyctrl_msgs/msg/MotorStatusMsg"
    assert (arm.field, arm.name_field) == ("status.pos", "status.name")
    assert arm.source_keys == tuple(str(i) for i in (*range(11, 18), *range(21, 28)))
    assert streams["head_position"].source_keys == ("1", "2", "3")
    assert streams["waist_position"].source_keys == ("31",)
    assert streams["arm_current"].units == ("A",)
    assert streams["action_arm"].field == "cmds.pos" and streams["action_arm"].role == "action"
    assert streams["imu"].topic == "/imu" and streams["imu"].field_paths == ()  # the standard Imu layout


def test_generic_arm_matches_joint_states_by_name() -> None:
    profile = load_profile("generic_ros2_arm")
    streams = {s.name: s for s in profile.streams}
    assert streams["joint_position"].name_field == "name"
    assert streams["joint_position"].source_keys == profile.joint_names
    assert streams["gripper_state"].source_keys == ("finger_joint",)
