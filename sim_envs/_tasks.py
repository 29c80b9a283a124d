"""Table-top tasks: what is on the table, what the operator should do, and whether it worked.

A task lays out its scene from a random generator (object, colours, poses),
writes the language instruction, gives a plan of steps (reach a pose, close or
open a gripper, rest) that a scripted operator carries out in its own style,
and judges success from the simulator's state at the end of the episode.
Grasps are contact and friction only: nothing is glued to a gripper.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, Union

import numpy as np

from episodes import JsonValue
from sim_envs._errors import UnreachableError
from sim_envs._geometry import Pose, rot_y, rot_z
from sim_envs._ik import ArmIK
from sim_envs._registry import Registry
from sim_envs._robots import ArmSpec
from sim_envs._world import TABLE_TOP_Z, SimWorld

__all__ = ["TASKS", "BimanualLift", "Grip", "Phase", "PickPlace", "Reach", "Rest", "Step", "Task"]

COLORS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.12, 0.1, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.12, 0.3, 0.85, 1.0),
    "yellow": (0.95, 0.82, 0.1, 1.0),
    "orange": (0.98, 0.5, 0.08, 1.0),
    "purple": (0.55, 0.2, 0.75, 1.0),
}
# A gripper reaches down and forward, about 40° from vertical: how a person grasps at a table;
# steeper or flatter when that is out of reach.
GRASP_TILT_RAD = -0.7
_TILTS = (GRASP_TILT_RAD, -0.5, -0.9)
_DZ = np.array([0.0, 0.0, 0.01])
_HOLD = np.array([-0.03, 0.0, 0.14])  # lifted and drawn towards the body


class Phase(str, Enum):
    """What a step is for; operators pace and perturb steps by phase."""

    APPROACH = "approach"
    DESCEND = "descend"
    GRASP = "grasp"
    LIFT = "lift"
    CARRY = "carry"
    PLACE = "place"
    RELEASE = "release"
    RETRACT = "retract"
    REST = "rest"


@dataclass(frozen=True)
class Reach:
    """Move the tool frames of some arms to poses; ``linear`` keeps the path straight."""

    phase: Phase
    targets: Mapping[str, Pose]
    linear: bool = False


@dataclass(frozen=True)
class Grip:
    """Set gripper closures (0 open .. 1 closed) by arm side."""

    phase: Phase
    closures: Mapping[str, float]


@dataclass(frozen=True)
class Rest:
    """Bring arms back to their resting posture."""

    phase: Phase
    sides: tuple[str, ...]


Step = Union[Reach, Grip, Rest]  # noqa: UP007 - runtime alias, 3.10


def grasp_rotation(yaw: float, tilt: float = GRASP_TILT_RAD) -> np.ndarray:
    """Tool orientation: approach axis tilted forward by ``tilt``, heading ``yaw`` about world z."""
    return np.asarray(rot_z(yaw) @ rot_y(tilt), dtype=np.float64)


def heading(world: SimWorld, arm: ArmSpec, point: np.ndarray) -> float:
    """The direction from the arm's shoulder to ``point`` in the table plane (rad)."""
    shoulder = world.joint_frame(arm.joints[0]).position
    return math.atan2(float(point[1]) - float(shoulder[1]), float(point[0]) - float(shoulder[0]))


def symmetric_yaws(yaw: float, symmetry: float, target: float) -> list[float]:
    """``yaw + k * symmetry`` within a quarter turn of ``target``, closest first."""
    k = round((target - yaw) / symmetry)
    options = [yaw + (k + d) * symmetry for d in (-2, -1, 0, 1, 2)]
    return sorted((y for y in options if abs(y - target) <= math.pi / 2), key=lambda y: abs(y - target))


def first_reachable(ik: ArmIK, arm: ArmSpec, candidates: list[list[Pose]]) -> list[Pose]:
    """The first candidate whose poses the arm can all reach, as a person picks a comfortable grasp.

    When none is reachable the first is returned: the operator then fails the
    episode cleanly when it cannot reach it.
    """
    for poses in candidates:
        try:
            for pose in poses:
                ik.solve(arm, pose, arm.ready)
        except UnreachableError:
            continue
        return poses
    return candidates[0]


@dataclass
class Task(abc.ABC):
    """A task in one world. Subclasses lay out the scene in ``__post_init__``.

    >>> import numpy as np
    >>> from sim_envs import KuavoHumanoid, SimWorld
    >>> world = SimWorld(KuavoHumanoid, physics_hz=200)
    >>> task = TASKS["pick_place"](world, np.random.default_rng(7))
    >>> task.instruction, task.success()
    ('put the yellow cube in the purple bin', False)
    >>> world.close()
    """

    name: ClassVar[str]
    world: SimWorld
    rng: np.random.Generator
    instruction: str = field(init=False, default="")
    # Bodies whose pixels must show in the head camera at the start.
    objects: tuple[int, ...] = field(init=False, default=())
    sides: tuple[str, ...] = field(init=False, default=())

    @abc.abstractmethod
    def plan(self, ik: ArmIK) -> list[Step]:
        """The steps a perfect operator would take; ``ik`` tells which grasps are comfortable."""

    @abc.abstractmethod
    def success(self) -> bool:
        """Whether the task is done, judged from the simulator's state now."""

    @abc.abstractmethod
    def scene(self) -> dict[str, JsonValue]:
        """What was randomised (colours, sizes, poses), for the episode's metadata."""

    def _color(self, exclude: tuple[str, ...] = ()) -> str:
        names = [n for n in COLORS if n not in exclude]
        return names[int(self.rng.integers(len(names)))]


def _round(values: np.ndarray | list[float]) -> list[JsonValue]:
    return [round(float(v), 4) for v in values]


@dataclass
class PickPlace(Task):
    """Pick a cube from the table and drop it into a bin, with one hand."""

    name: ClassVar[str] = "pick_place"
    _cube: int = field(init=False, default=-1)
    _bin: int = field(init=False, default=-1)
    _info: dict[str, JsonValue] = field(init=False, default_factory=dict)

    BIN_INNER: ClassVar[float] = 0.11
    BIN_WALL: ClassVar[float] = 0.065

    def __post_init__(self) -> None:
        rng = self.rng
        side = self.world.robot.arms[int(rng.integers(len(self.world.robot.arms)))].side
        self.sides = (side,)
        toward = 1.0 if side == "left" else -1.0
        # Object and bin share the arm's half of the table, one nearer the middle than the other.
        inner, outer = rng.uniform(0.04, 0.1), rng.uniform(0.23, 0.3)
        cube_y, bin_y = (inner, outer) if rng.random() < 0.5 else (outer, inner)
        size = float(rng.uniform(0.042, 0.05))
        mass = float(rng.uniform(0.05, 0.1))
        cube_color = self._color()
        bin_color = self._color(exclude=(cube_color,))
        cube_xy = np.array([rng.uniform(0.33, 0.4), toward * cube_y])
        bin_xy = np.array([rng.uniform(0.32, 0.38), toward * bin_y])
        # Turned by up to 20° from the direction the hand comes from, as a person would set it down.
        arm = self.world.robot.arm(side)
        cube_yaw = heading(self.world, arm, cube_xy) + float(rng.uniform(-0.35, 0.35))
        self._cube = self.world.add_box(
            (size, size, size),
            (*cube_xy, TABLE_TOP_Z + size / 2),
            COLORS[cube_color],
            mass=mass,
            yaw=cube_yaw,
            friction=0.9,
        )
        self._bin = self._add_bin(bin_xy, COLORS[bin_color])
        self._bin_xy = bin_xy
        self.objects = (self._cube, self._bin)
        self.instruction = f"put the {cube_color} cube in the {bin_color} bin"
        self._info = {
            "arm": side,
            "object": {
                "shape": "cube",
                "color": cube_color,
                "size_m": round(size, 4),
                "mass_kg": round(mass, 4),
                "position": _round([*cube_xy, TABLE_TOP_Z + size / 2]),
                "yaw": round(cube_yaw, 4),
            },
            "container": {"shape": "bin", "color": bin_color, "position": _round([*bin_xy, TABLE_TOP_Z])},
        }

    def _add_bin(self, xy: np.ndarray, color: tuple[float, float, float, float]) -> int:
        inner, wall, t = self.BIN_INNER, self.BIN_WALL, 0.01
        outer = inner + 2 * t
        boxes = [
            ((outer, outer, t), (0.0, 0.0, t / 2)),
            ((t, outer, wall), ((inner + t) / 2, 0.0, wall / 2)),
            ((t, outer, wall), (-(inner + t) / 2, 0.0, wall / 2)),
            ((inner, t, wall), (0.0, (inner + t) / 2, wall / 2)),
            ((inner, t, wall), (0.0, -(inner + t) / 2, wall / 2)),
        ]
        return self.world.add_compound(boxes, (*xy, TABLE_TOP_Z), color, mass=0.0)

    def plan(self, ik: ArmIK) -> list[Step]:
        world = self.world
        arm = world.robot.arm(self.sides[0])
        cube = world.body_pose(self._cube)
        cube_yaw = math.atan2(float(cube.rotation[1, 0]), float(cube.rotation[0, 0]))
        lift_z = TABLE_TOP_Z + 0.15
        grasps = []
        # A cube can be taken by either pair of faces: try the grasps nearest the natural heading.
        for yaw in symmetric_yaws(cube_yaw, math.pi / 2, heading(world, arm, cube.position)):
            for tilt in _TILTS:
                grasp = Pose(cube.position + np.array([0.0, 0.0, 0.01]), grasp_rotation(yaw, tilt))
                lift = Pose(np.array([*grasp.position[:2], lift_z]), grasp.rotation)
                grasps.append([grasp.translated((0.0, 0.0, 0.1)), grasp, lift])
        pre, grasp, lift = first_reachable(ik, arm, grasps)
        bin_center = np.array([*self._bin_xy, lift_z])
        bin_heading = heading(world, arm, bin_center)
        above_bin, lower = first_reachable(
            ik,
            arm,
            [
                [
                    Pose(bin_center, grasp_rotation(bin_heading, tilt)),
                    Pose(bin_center - _DZ * 3, grasp_rotation(bin_heading, tilt)),
                ]
                for tilt in _TILTS
            ],
        )
        s = arm.side
        return [
            Reach(Phase.APPROACH, {s: pre}),
            Reach(Phase.DESCEND, {s: grasp}, linear=True),
            Grip(Phase.GRASP, {s: 1.0}),
            Reach(Phase.LIFT, {s: lift}, linear=True),
            Reach(Phase.CARRY, {s: above_bin}, linear=True),
            Reach(Phase.PLACE, {s: lower}, linear=True),
            Grip(Phase.RELEASE, {s: 0.0}),
            Reach(Phase.RETRACT, {s: above_bin.translated((0.0, 0.0, 0.05))}, linear=True),
            Rest(Phase.REST, (s,)),
        ]

    def success(self) -> bool:
        cube = self.world.body_pose(self._cube).position
        dx, dy = np.abs(cube[:2] - self._bin_xy)
        inside = dx < self.BIN_INNER / 2 and dy < self.BIN_INNER / 2 and cube[2] < TABLE_TOP_Z + self.BIN_WALL
        held = any(self.world.in_contact(self._cube, arm) for arm in self.world.robot.arms)
        return bool(inside and not held)

    def scene(self) -> dict[str, JsonValue]:
        return dict(self._info)


@dataclass
class BimanualLift(Task):
    """Lift a long box by its two handles, one in each hand, and hold it up."""

    name: ClassVar[str] = "bimanual_lift"
    _box: int = field(init=False, default=-1)
    _info: dict[str, JsonValue] = field(init=False, default_factory=dict)

    HEIGHT: ClassVar[float] = 0.07
    HANDLE: ClassVar[tuple[float, float, float]] = (0.06, 0.015, 0.05)
    HOLD_CLEARANCE: ClassVar[float] = 0.06

    def __post_init__(self) -> None:
        rng = self.rng
        self.sides = tuple(arm.side for arm in self.world.robot.arms)
        length = float(rng.uniform(0.29, 0.32))
        depth = float(rng.uniform(0.09, 0.11))
        mass = float(rng.uniform(0.3, 0.5))
        color = self._color()
        xy = np.array([rng.uniform(0.34, 0.38), rng.uniform(-0.02, 0.02)])
        yaw = float(rng.uniform(-0.08, 0.08))
        h = self.HEIGHT
        hx, hy, hz = self.HANDLE
        ends = length / 2 - hy / 2
        boxes = [
            ((depth, length, h), (0.0, 0.0, 0.0)),
            ((hx, hy, hz), (0.0, ends, h / 2 + hz / 2)),
            ((hx, hy, hz), (0.0, -ends, h / 2 + hz / 2)),
        ]
        self._box = self.world.add_compound(
            boxes, (*xy, TABLE_TOP_Z + h / 2), COLORS[color], mass=mass, yaw=yaw
        )
        self._handle_offset = ends
        self.objects = (self._box,)
        self.instruction = f"lift the {color} box with both hands"
        self._info = {
            "arms": list(self.sides),
            "object": {
                "shape": "box with handles",
                "color": color,
                "size_m": _round([depth, length, h]),
                "mass_kg": round(mass, 4),
                "position": _round([*xy, TABLE_TOP_Z + h / 2]),
                "yaw": round(yaw, 4),
            },
        }

    def plan(self, ik: ArmIK) -> list[Step]:
        box = self.world.body_pose(self._box)
        yaw = math.atan2(float(box.rotation[1, 0]), float(box.rotation[0, 0]))
        poses: dict[str, list[Pose]] = {}
        for arm in self.world.robot.arms:
            toward = 1.0 if arm.side == "left" else -1.0
            local = np.array([0.0, toward * self._handle_offset, self.HEIGHT / 2 + 0.032])
            center = box.position + box.rotation @ local
            candidates = []
            for tilt in _TILTS:
                grasp = Pose(center, grasp_rotation(yaw, tilt))
                candidates.append([grasp.translated(d) for d in (_DZ * 10, 0 * _DZ, _DZ * 5, _HOLD)])
            poses[arm.side] = first_reachable(ik, arm, candidates)

        def stage(k: int) -> dict[str, Pose]:
            return {side: p[k] for side, p in poses.items()}

        return [
            Reach(Phase.APPROACH, stage(0)),
            Reach(Phase.DESCEND, stage(1), linear=True),
            Grip(Phase.GRASP, dict.fromkeys(poses, 1.0)),
            Reach(Phase.LIFT, stage(2), linear=True),
            Reach(Phase.CARRY, stage(3), linear=True),
        ]

    def success(self) -> bool:
        box = self.world.body_pose(self._box)
        lifted = box.position[2] - self.HEIGHT / 2 > TABLE_TOP_Z + self.HOLD_CLEARANCE
        level = float(box.rotation[2, 2]) > math.cos(0.15)
        return bool(lifted and level)

    def scene(self) -> dict[str, JsonValue]:
        return dict(self._info)


TASKS: Registry[type[Task]] = Registry("task", {PickPlace.name: PickPlace, BimanualLift.name: BimanualLift})
"""Simulated tasks by name; a session's ``task.name`` (or ``sim.task``) picks one."""
