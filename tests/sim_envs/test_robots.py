"""The simulated robots: our own URDFs, in step with their profiles, roughly human-sized."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from sim_envs import ROBOTS, KuavoHumanoid, SimWorld, WalkerHumanoid
from tg_config import load_profile

PROFILES = {"sim_humanoid": KuavoHumanoid, "sim_walker": WalkerHumanoid}


def _urdf_joints(text: str) -> dict[str, ET.Element]:
    return {j.get("name", ""): j for j in ET.fromstring(text).iter("joint")}


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_shipped_urdf_is_the_generated_one(name: str) -> None:
    robot = ROBOTS[name]
    assert robot.urdf_path().read_text(encoding="utf-8") == robot.urdf(), (
        f'{robot.urdf_path()} is stale; regenerate it with: python -c "from sim_envs import ROBOTS; '
        f"r = ROBOTS['{name}']; r.urdf_path().write_text(r.urdf())\""
    )


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_urdf_uses_primitive_shapes_only(name: str) -> None:
    root = ET.fromstring(ROBOTS[name].urdf())
    shapes = {child.tag for geometry in root.iter("geometry") for child in geometry}
    assert shapes <= {"box", "cylinder", "sphere"}
    assert not list(root.iter("mesh"))


@pytest.mark.parametrize(("profile_name", "robot"), PROFILES.items())
def test_profile_joints_and_limits_are_the_urdf_ones(profile_name: str, robot: type) -> None:
    profile = load_profile(profile_name)
    assert profile.urdf_path is not None and profile.urdf_path.resolve() == robot.urdf_path().resolve()
    joints = _urdf_joints(profile.urdf_text() or "")
    for joint in profile.joints:
        limit = joints[joint.name].find("limit")
        assert limit is not None, joint.name
        assert float(limit.get("lower", "nan")) == pytest.approx(joint.lower), joint.name
        assert float(limit.get("upper", "nan")) == pytest.approx(joint.upper), joint.name
        assert float(limit.get("velocity", "nan")) == pytest.approx(joint.velocity), joint.name
        if joint.effort is not None:
            assert float(limit.get("effort", "nan")) == pytest.approx(joint.effort), joint.name
    links = {link.get("name") for link in ET.fromstring(profile.urdf_text() or "").iter("link")}
    for camera in profile.cameras:
        assert camera.mount_parent in links


def test_sim_humanoid_moves_its_arms_and_head_but_not_its_legs() -> None:
    profile = load_profile("sim_humanoid")
    arms = [j for arm in KuavoHumanoid.arms for j in arm.joints]
    assert set(profile.moving_joints) == {*arms, "head_yaw", "head_pitch"}
    assert all(
        "leg" in j or "knee" in j or "foot" in j
        for j in set(profile.joint_names) - set(arms) - {"head_yaw", "head_pitch"}
    )


def test_kuavo_is_roughly_human_sized() -> None:
    world = SimWorld(KuavoHumanoid, physics_hz=400)
    try:
        frame = {name: world.joint_frame(name).position for name in world.joint_index}
        assert np.linalg.norm(frame["l_arm_pitch"] - frame["r_arm_pitch"]) == pytest.approx(0.4)
        arm = KuavoHumanoid.arm("left")
        upper = np.linalg.norm(frame["l_forearm_pitch"] - frame["l_arm_yaw"])
        fore = np.linalg.norm(frame["l_hand_yaw"] - frame["l_forearm_pitch"])
        assert (round(upper, 3), round(fore, 3)) == (0.28, 0.25)
        assert 1.2 < frame["l_arm_pitch"][2] < 1.4  # shoulders of a 1.6 m person
        assert world.link_pose(arm.tcp_link).position[2] > 0.8  # hands above the table at rest
    finally:
        world.close()


def test_locked_joints_are_fixed_in_the_simulated_copy() -> None:
    legs = {j.name: 0.1 for side in KuavoHumanoid.spec.legs.values() for j in side}
    joints = _urdf_joints(KuavoHumanoid.urdf(locked=legs))
    assert {joints[name].get("type") for name in legs} == {"fixed"}
    assert joints["l_arm_pitch"].get("type") == "revolute"
    world = SimWorld(KuavoHumanoid, physics_hz=400, locked=legs)
    try:
        reading = world.joints(["l_knee", "l_arm_pitch"])
        assert reading.position[0] == 0.1 and reading.velocity[0] == 0.0
        assert "l_knee" not in world.joint_index
    finally:
        world.close()
