"""Simulated robot models: Kuavo 4 Pro-class and Walker-class humanoid upper bodies.

Each model is a :class:`HumanoidSpec` (names, axes, limits, lengths) that
:meth:`SimRobot.urdf` turns into a URDF built from primitive shapes, plus what a
scripted operator needs to know about the robot: which joints form each arm,
where its gripper's tool centre point is, and its resting posture. Everything
else a recording needs (streams, cameras and their mounts) comes from the
robot's profile, so the simulator never branches on which robot it runs.

Conventions shared by every model, so that tasks can describe grasps once:
the world is z up and the robot faces +x; in the zero posture the arms hang
down, and each gripper's tool frame has its approach axis along -z and its
fingers closing along y.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from sim_envs._registry import Registry
from sim_envs._urdf import Box, Cylinder, JointDef, LinkDef, Sphere, Vec3, render_urdf

__all__ = ["ROBOTS", "ArmSpec", "HumanoidSpec", "JointSpec", "KuavoHumanoid", "SimRobot", "WalkerHumanoid"]

ROBOT_DIR = Path(__file__).resolve().parent / "robots"

_BODY = (0.82, 0.83, 0.86, 1.0)
_DARK = (0.25, 0.27, 0.3, 1.0)
_ACCENT = (0.15, 0.35, 0.75, 1.0)
_FINGER = (0.12, 0.12, 0.12, 1.0)


@dataclass(frozen=True)
class JointSpec:
    """One revolute joint of the kinematic description; ``offset`` is along the parent's z."""

    name: str
    axis: Vec3
    lower: float
    upper: float
    velocity: float
    effort: float
    offset: float = 0.0


@dataclass(frozen=True)
class ArmSpec:
    """One arm as the operator sees it: seven joints, a hand, a parallel gripper."""

    side: str
    joints: tuple[str, ...]
    tcp_link: str
    fingers: tuple[str, str]
    finger_travel_m: float
    gripper: str  # the dimension name of this gripper in the profile's gripper streams
    ready: tuple[float, ...]  # resting posture of the seven joints


@dataclass(frozen=True)
class HumanoidSpec:
    """What differs between our humanoids: names, axes, limits and lengths."""

    name: str
    base_link: str
    base_height_m: float
    shoulder_height_m: float
    shoulder_half_width_m: float
    torso_size: Vec3
    arms: Mapping[str, tuple[JointSpec, ...]]  # side -> 7 joints from shoulder to wrist
    fingers: Mapping[str, tuple[str, str]]
    tcp_links: Mapping[str, str]
    finger_travel_m: float
    head: tuple[JointSpec, JointSpec]
    legs: Mapping[str, tuple[JointSpec, ...]]  # side -> joints from hip to ankle; empty: a pedestal
    hip_half_width_m: float = 0.1
    link_suffix: str = "_link"


def _mirror_y(xyz: Vec3, side: str) -> Vec3:
    return (xyz[0], xyz[1] if side == "left" else -xyz[1], xyz[2])


def _chain(
    parent: str,
    origin: Vec3,
    joints: tuple[JointSpec, ...],
    suffix: str,
    radius: float,
    masses: tuple[float, ...],
    color: tuple[float, float, float, float],
) -> tuple[list[LinkDef], list[JointDef]]:
    """Links and joints of a serial chain hanging down (-z) from ``origin`` in ``parent``.

    Each link draws a cylinder down to the next joint's offset, or a small
    sphere when the next joint sits at the same point (a spherical joint).
    """
    links: list[LinkDef] = []
    defs: list[JointDef] = []
    for i, joint in enumerate(joints):
        child = joint.name + suffix
        xyz = origin if i == 0 else (0.0, 0.0, joint.offset)
        defs.append(_revolute(joint, parent, child, xyz))
        nxt = joints[i + 1].offset if i + 1 < len(joints) else 0.0
        shape: Box | Cylinder | Sphere = (
            Cylinder(radius, -nxt, xyz=(0.0, 0.0, nxt / 2)) if nxt < 0 else Sphere(radius * 1.1)
        )
        links.append(LinkDef(child, (shape,), mass=masses[min(i, len(masses) - 1)], color=color))
        parent = child
    return links, defs


def build_humanoid(spec: HumanoidSpec) -> tuple[list[LinkDef], list[JointDef]]:
    """The links and joints of a humanoid described by ``spec``: trunk, legs, arms with hands, head."""
    links, joints = _trunk(spec)
    for side, leg in spec.legs.items():
        _extend((links, joints), _leg(spec, side, leg))
    for side, arm in spec.arms.items():
        _extend((links, joints), _arm(spec, side, arm))
    _extend((links, joints), _head(spec))
    return links, joints


_Parts = tuple[list[LinkDef], list[JointDef]]


def _extend(into: _Parts, parts: _Parts) -> None:
    into[0].extend(parts[0])
    into[1].extend(parts[1])


def _trunk(spec: HumanoidSpec) -> _Parts:
    """The base and the torso on it; without legs the base stands on a pedestal."""
    tx, ty, tz = spec.torso_size
    base_shapes: tuple[Box | Cylinder, ...] = (Box((tx, ty, 0.12)),)
    if not spec.legs:
        # A pedestal to the floor, for looks only: the base is fixed in the world.
        h = spec.base_height_m - 0.06
        base_shapes += (Cylinder(0.06, h, xyz=(0.0, 0.0, -0.06 - h / 2)),)
    links = [
        LinkDef(spec.base_link, base_shapes, mass=8.0, color=_DARK, collide=bool(spec.legs)),
        LinkDef("torso", (Box((tx, ty, tz), xyz=(0.0, 0.0, 0.06 + tz / 2)),), mass=12.0, color=_BODY),
    ]
    return links, [JointDef("torso_fixed", spec.base_link, "torso", "fixed")]


def _leg(spec: HumanoidSpec, side: str, leg: tuple[JointSpec, ...]) -> _Parts:
    """One leg from the hip down, ending in a foot."""
    hip = _mirror_y((0.0, spec.hip_half_width_m, -0.05), side)
    links, joints = _chain(
        spec.base_link, hip, leg, spec.link_suffix, 0.055, (1.0, 1.0, 3.0, 2.0, 0.5, 0.8), _DARK
    )
    foot = links[-1]
    links[-1] = LinkDef(foot.name, (Box((0.22, 0.1, 0.04), xyz=(0.04, 0.0, -0.04)),), 0.8, _DARK)
    return links, joints


def _arm(spec: HumanoidSpec, side: str, arm: tuple[JointSpec, ...]) -> _Parts:
    """One arm from the shoulder down, its hand a palm with two fingers and a tool frame."""
    shoulder_z = spec.shoulder_height_m - spec.base_height_m
    origin = _mirror_y((0.0, spec.shoulder_half_width_m, shoulder_z), side)
    links, joints = _chain(
        "torso", origin, arm, spec.link_suffix, 0.042, (0.5, 0.5, 1.5, 1.0, 0.2, 0.2), _BODY
    )
    hand = links[-1].name
    # Palm below the wrist, two prismatic fingers below the palm, the tool frame between
    # the finger pads. A finger's inner face sits at +-q from the middle: the opening is 2q.
    links[-1] = LinkDef(hand, (Box((0.05, 0.1, 0.05), xyz=(0.0, 0.0, -0.035)),), mass=0.4, color=_ACCENT)
    for k, finger in enumerate(spec.fingers[side]):
        _extend((links, joints), _finger(spec, hand, finger, 1.0 if k == 0 else -1.0))
    tcp = spec.tcp_links[side]
    links.append(LinkDef(tcp, (), mass=0.001, collide=False))
    joints.append(JointDef(tcp + "_fixed", hand, tcp, "fixed", xyz=(0.0, 0.0, -0.09)))
    return links, joints


def _finger(spec: HumanoidSpec, hand: str, finger: str, sign: float) -> _Parts:
    """A prismatic finger below the palm, closing along the hand's y (``sign``: which side)."""
    link = LinkDef(
        finger + "_link",
        (Box((0.02, 0.012, 0.05), xyz=(0.0, sign * 0.006, -0.025)),),
        mass=0.05,
        color=_FINGER,
    )
    joint = JointDef(
        finger,
        hand,
        finger + "_link",
        "prismatic",
        xyz=(0.0, 0.0, -0.06),
        axis=(0.0, sign, 0.0),
        lower=0.0,
        upper=spec.finger_travel_m,
        velocity=0.1,
        effort=40.0,
    )
    return [link], [joint]


def _head(spec: HumanoidSpec) -> _Parts:
    """A neck (yaw) on the torso and a head (pitch) on it."""
    yaw, pitch = spec.head
    sfx = spec.link_suffix
    # The neck puts the eyes about 0.27 m above the shoulders, as on a person.
    neck = 0.14
    links = [
        LinkDef(yaw.name + sfx, (Cylinder(0.04, neck, xyz=(0.0, 0.0, neck / 2)),), mass=0.3, color=_DARK),
        LinkDef(pitch.name + sfx, (Box((0.16, 0.15, 0.18), xyz=(0.0, 0.0, 0.08)),), mass=1.5, color=_BODY),
    ]
    joints = [
        _revolute(yaw, "torso", yaw.name + sfx, (0.0, 0.0, 0.06 + spec.torso_size[2])),
        _revolute(pitch, yaw.name + sfx, pitch.name + sfx, (0.0, 0.0, neck)),
    ]
    return links, joints


def _revolute(joint: JointSpec, parent: str, child: str, xyz: Vec3) -> JointDef:
    """The revolute joint ``joint`` between ``parent`` and ``child`` at ``xyz``, lightly damped."""
    return JointDef(
        joint.name,
        parent,
        child,
        xyz=xyz,
        axis=joint.axis,
        lower=joint.lower,
        upper=joint.upper,
        velocity=joint.velocity,
        effort=joint.effort,
        damping=0.5,
    )


class SimRobot:
    """A simulated robot: its kinematic description and what the operator needs to drive it.

    Subclasses set the class attributes; the registry :data:`ROBOTS` maps names to them.

    >>> KuavoHumanoid.arm("left").joints[:3], WalkerHumanoid.arm("left").joints[:3]
    (('l_arm_pitch', 'l_arm_roll', 'l_arm_yaw'), ('LShoulderPitch', 'LShoulderRoll', 'LShoulderYaw'))
    """

    name: ClassVar[str]
    spec: ClassVar[HumanoidSpec]
    arms: ClassVar[tuple[ArmSpec, ...]]
    head_joints: ClassVar[tuple[str, str]]
    # Posture of joints that do not belong to an arm (legs, head) while the robot works.
    posture: ClassVar[Mapping[str, float]]
    camera_fov_deg: ClassVar[Mapping[str, float]] = MappingProxyType({})
    default_fov_deg: ClassVar[float] = 60.0

    @classmethod
    def urdf(cls, locked: Mapping[str, float] | None = None) -> str:
        """The robot's URDF text, generated from :attr:`spec`.

        ``locked`` turns joints into fixed ones at the given positions: the
        simulator's copy of a robot whose legs stand still, which saves the
        physics engine a dozen motors per step. The recorded URDF has them all.
        """
        links, joints = build_humanoid(cls.spec)
        if locked:
            joints = [_locked(j, locked[j.name]) if j.name in locked else j for j in joints]
            # A locked limb only has to be seen: contacts with it would cost time and change nothing.
            still = {j.child for j in joints if j.name in locked}
            links = [replace(link, collide=False) if link.name in still else link for link in links]
        return render_urdf(
            cls.spec.name,
            links,
            joints,
            comment=f"Generated by sim_envs ({cls.__name__}.urdf()); primitive shapes only.",
        )

    @classmethod
    def urdf_path(cls) -> Path:
        """The shipped URDF file (the one the robot profile names)."""
        return ROBOT_DIR / f"{cls.spec.name}.urdf"

    @classmethod
    def base_position(cls) -> Vec3:
        return (0.0, 0.0, cls.spec.base_height_m)

    @classmethod
    def arm(cls, side: str) -> ArmSpec:
        for arm in cls.arms:
            if arm.side == side:
                return arm
        raise KeyError(side)

    @classmethod
    def fov_deg(cls, camera: str) -> float:
        """Vertical field of view of a camera of this robot, degrees."""
        return cls.camera_fov_deg.get(camera, cls.default_fov_deg)


def _locked(joint: JointDef, position: float) -> JointDef:
    """``joint`` as a fixed joint held at ``position``: its axis turned into a fixed rotation."""
    axis = tuple(abs(a) for a in joint.axis)
    if sorted(axis) != [0.0, 0.0, 1.0] or any(joint.rpy):
        raise ValueError(f"joint {joint.name!r}: only joints about x, y or z can be locked")
    sign = sum(joint.axis)
    rpy = tuple(sign * position * a for a in axis)
    return replace(joint, type="fixed", rpy=(rpy[0], rpy[1], rpy[2]))


def _arm_joints(
    prefix: str,
    names: tuple[str, ...],
    axes: tuple[Vec3, ...],
    limits: tuple[tuple[float, float], ...],
    velocity: tuple[float, ...],
    effort: tuple[float, ...],
    offsets: tuple[float, ...],
) -> tuple[JointSpec, ...]:
    return tuple(
        JointSpec(prefix + n, axes[i], limits[i][0], limits[i][1], velocity[i], effort[i], offsets[i])
        for i, n in enumerate(names)
    )


def _mirror_limits(
    limits: tuple[tuple[float, float], ...], rolls: tuple[int, ...]
) -> tuple[tuple[float, float], ...]:
    """The other arm's limits: joints about x and z (abduction, twist) swap sign."""
    return tuple((-hi, -lo) if i in rolls else (lo, hi) for i, (lo, hi) in enumerate(limits))


# ---------------------------------------------------------------- Kuavo 4 Pro class

_KUAVO_ARM = ("arm_pitch", "arm_roll", "arm_yaw", "forearm_pitch", "hand_yaw", "hand_pitch", "hand_roll")
_KUAVO_AXES: tuple[Vec3, ...] = ((0, 1, 0), (1, 0, 0), (0, 0, 1), (0, 1, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0))
_KUAVO_LEFT_LIMITS = (
    (-3.1, 1.6),
    (-0.35, 2.1),
    (-1.57, 1.57),
    (-2.6, 0.0),
    (-1.57, 1.57),
    (-1.3, 1.3),
    (-0.7, 0.7),
)
_KUAVO_VEL = (5.0, 5.0, 5.0, 5.0, 6.0, 6.0, 6.0)
_KUAVO_EFFORT = (60.0, 60.0, 30.0, 30.0, 10.0, 10.0, 10.0)
# Upper arm 0.28 m shoulder to elbow, forearm 0.25 m elbow to wrist; a spherical wrist.
_KUAVO_OFFSETS = (0.0, 0.0, 0.0, -0.28, -0.25, 0.0, 0.0)
_KUAVO_LEG = ("leg_roll", "leg_yaw", "leg_pitch", "knee", "foot_pitch", "foot_roll")
_KUAVO_LEG_AXES: tuple[Vec3, ...] = ((1, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 1, 0), (1, 0, 0))
_KUAVO_LEG_LIMITS = {
    "left": ((-0.35, 0.52), (-0.52, 0.52), (-2.2, 0.9), (0.0, 2.4), (-0.87, 0.52), (-0.35, 0.35)),
    "right": ((-0.52, 0.35), (-0.52, 0.52), (-2.2, 0.9), (0.0, 2.4), (-0.87, 0.52), (-0.35, 0.35)),
}
_KUAVO_LEG_VEL = (6.0, 6.0, 8.0, 8.0, 8.0, 8.0)
_KUAVO_LEG_EFFORT = (110.0, 60.0, 200.0, 250.0, 100.0, 60.0)
_KUAVO_LEG_OFFSETS = (0.0, 0.0, 0.0, -0.36, -0.36, 0.0)

KUAVO_SPEC = HumanoidSpec(
    name="kuavo_humanoid",
    base_link="base_link",
    base_height_m=0.85,
    shoulder_height_m=1.25,
    shoulder_half_width_m=0.2,
    torso_size=(0.2, 0.3, 0.38),
    arms={
        side: _arm_joints(
            side[0] + "_",
            _KUAVO_ARM,
            _KUAVO_AXES,
            _KUAVO_LEFT_LIMITS if side == "left" else _mirror_limits(_KUAVO_LEFT_LIMITS, (1,)),
            _KUAVO_VEL,
            _KUAVO_EFFORT,
            _KUAVO_OFFSETS,
        )
        for side in ("left", "right")
    },
    fingers={"left": ("l_finger_1", "l_finger_2"), "right": ("r_finger_1", "r_finger_2")},
    tcp_links={"left": "l_gripper_tcp", "right": "r_gripper_tcp"},
    finger_travel_m=0.04,
    head=(
        JointSpec("head_yaw", (0, 0, 1), -0.52, 0.52, 3.0, 5.0),
        JointSpec("head_pitch", (0, 1, 0), -0.44, 0.44, 3.0, 5.0),
    ),
    legs={
        side: _arm_joints(
            side[0] + "_",
            _KUAVO_LEG,
            _KUAVO_LEG_AXES,
            _KUAVO_LEG_LIMITS[side],
            _KUAVO_LEG_VEL,
            _KUAVO_LEG_EFFORT,
            _KUAVO_LEG_OFFSETS,
        )
        for side in ("left", "right")
    },
)


class KuavoHumanoid(SimRobot):
    """Kuavo 4 Pro-class humanoid on a fixed pelvis: Kuavo joint names, roughly human sizes."""

    name = "kuavo_humanoid"
    spec = KUAVO_SPEC
    arms = (
        ArmSpec(
            side="left",
            joints=tuple(j.name for j in KUAVO_SPEC.arms["left"]),
            tcp_link="l_gripper_tcp",
            fingers=("l_finger_1", "l_finger_2"),
            finger_travel_m=0.04,
            gripper="left",
            ready=(-0.35, 0.15, 0.0, -1.3, 0.0, 0.6, 0.0),
        ),
        ArmSpec(
            side="right",
            joints=tuple(j.name for j in KUAVO_SPEC.arms["right"]),
            tcp_link="r_gripper_tcp",
            fingers=("r_finger_1", "r_finger_2"),
            finger_travel_m=0.04,
            gripper="right",
            ready=(-0.35, -0.15, 0.0, -1.3, 0.0, 0.6, 0.0),
        ),
    )
    head_joints = ("head_yaw", "head_pitch")
    # Standing with soft knees (a straight knee would sit on its limit) and the head bowed
    # towards the table.
    posture = MappingProxyType(
        {
            **{f"{s}_leg_pitch": -0.05 for s in "lr"},
            **{f"{s}_knee": 0.1 for s in "lr"},
            **{f"{s}_foot_pitch": -0.05 for s in "lr"},
            "head_yaw": 0.0,
            "head_pitch": 0.35,
        }
    )
    camera_fov_deg = MappingProxyType({"head": 58.0, "wrist_left": 70.0, "wrist_right": 70.0})


# ---------------------------------------------------------------- Walker class

_WALKER_ARM = (
    "ShoulderPitch",
    "ShoulderRoll",
    "ShoulderYaw",
    "ElbowRoll",
    "ElbowYaw",
    "WristRoll",
    "WristPitch",
)
# The elbow bends about -y (positive is flexion) and the wrist rolls before it pitches:
# a different layout from Kuavo's, on purpose.
_WALKER_AXES: tuple[Vec3, ...] = (
    (0, 1, 0),
    (1, 0, 0),
    (0, 0, 1),
    (0, -1, 0),
    (0, 0, 1),
    (1, 0, 0),
    (0, 1, 0),
)
_WALKER_LEFT_LIMITS = (
    (-3.0, 1.5),
    (-0.3, 2.0),
    (-1.8, 1.8),
    (0.0, 2.4),
    (-1.8, 1.8),
    (-0.8, 0.8),
    (-1.2, 1.2),
)
_WALKER_VEL = (4.0, 4.0, 4.0, 4.0, 5.0, 6.0, 6.0)
_WALKER_EFFORT = (50.0, 50.0, 30.0, 30.0, 15.0, 8.0, 8.0)
# Upper arm 0.30 m; the forearm twist sits at the elbow, the wrist 0.26 m further.
_WALKER_OFFSETS = (0.0, 0.0, 0.0, -0.30, 0.0, -0.26, 0.0)

WALKER_SPEC = HumanoidSpec(
    name="walker_humanoid",
    base_link="waist",
    base_height_m=0.88,
    shoulder_height_m=1.3,
    shoulder_half_width_m=0.22,
    torso_size=(0.22, 0.34, 0.40),
    arms={
        side: _arm_joints(
            side[0].upper(),
            _WALKER_ARM,
            _WALKER_AXES,
            _WALKER_LEFT_LIMITS if side == "left" else _mirror_limits(_WALKER_LEFT_LIMITS, (1,)),
            _WALKER_VEL,
            _WALKER_EFFORT,
            _WALKER_OFFSETS,
        )
        for side in ("left", "right")
    },
    fingers={"left": ("LGripperFinger1", "LGripperFinger2"), "right": ("RGripperFinger1", "RGripperFinger2")},
    tcp_links={"left": "LGripperTCP", "right": "RGripperTCP"},
    finger_travel_m=0.045,
    head=(
        JointSpec("HeadYaw", (0, 0, 1), -0.8, 0.8, 2.0, 5.0),
        JointSpec("HeadPitch", (0, 1, 0), -0.35, 0.6, 2.0, 5.0),
    ),
    legs={},
    link_suffix="Link",
)


class WalkerHumanoid(SimRobot):
    """Walker-class humanoid upper body on a pedestal: Walker joint names and arm layout."""

    name = "walker_humanoid"
    spec = WALKER_SPEC
    arms = (
        ArmSpec(
            side="left",
            joints=tuple(j.name for j in WALKER_SPEC.arms["left"]),
            tcp_link="LGripperTCP",
            fingers=("LGripperFinger1", "LGripperFinger2"),
            finger_travel_m=0.045,
            gripper="LHand",
            ready=(-0.35, 0.15, 0.0, 1.3, 0.0, 0.0, 0.6),
        ),
        ArmSpec(
            side="right",
            joints=tuple(j.name for j in WALKER_SPEC.arms["right"]),
            tcp_link="RGripperTCP",
            fingers=("RGripperFinger1", "RGripperFinger2"),
            finger_travel_m=0.045,
            gripper="RHand",
            ready=(-0.35, -0.15, 0.0, 1.3, 0.0, 0.0, 0.6),
        ),
    )
    head_joints = ("HeadYaw", "HeadPitch")
    posture = MappingProxyType({"HeadYaw": 0.0, "HeadPitch": 0.45})
    camera_fov_deg = MappingProxyType({"head_rgb": 62.0, "left_wrist": 70.0, "right_wrist": 70.0})


ROBOTS: Registry[type[SimRobot]] = Registry(
    "robot", {KuavoHumanoid.name: KuavoHumanoid, WalkerHumanoid.name: WalkerHumanoid}
)
"""Simulated robot models by name; ``sim.robot`` in a session config picks one."""
