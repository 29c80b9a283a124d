"""Scripted operators: carry out a task's plan the way a person teleoperating would.

An operator turns the plan into joint-space trajectories (inverse kinematics
for every pose, straight lines sampled every couple of centimetres) timed with
a minimum-jerk profile, then adds what makes a demonstration human: a pause
before starting and after finishing, hesitations before some moves, a speed
that varies from move to move, and a slow tremor on every joint. It also
injects failures at the configured rate (closing the gripper too early, so
the grasp misses; opening it while carrying, so the object drops).

Everything is decided when the operator is created, from its own random
generator, so an episode's motion depends only on its seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from episodes import JsonValue
from sim_envs._errors import UnreachableError
from sim_envs._geometry import Pose
from sim_envs._ik import ArmIK
from sim_envs._registry import Registry
from sim_envs._robots import ArmSpec
from sim_envs._tasks import Grip, Phase, Reach, Step, Task
from sim_envs._world import SimWorld

__all__ = ["OPERATORS", "CarefulOperator", "Command", "HastyOperator", "OperatorStyle", "ScriptedOperator"]

Vector = npt.NDArray[np.float64]
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_LINE_STEP_M = 0.02
_CAREFUL_PHASES = frozenset({Phase.DESCEND, Phase.GRASP, Phase.PLACE, Phase.RELEASE})
_SLOW_PHASES = frozenset({Phase.DESCEND, Phase.LIFT, Phase.PLACE, Phase.RETRACT})
FAILURE_MODES = ("missed_grasp", "drop")


@dataclass(frozen=True)
class OperatorStyle:
    """How an operator moves. Ranges are sampled per episode or per move."""

    speed_m_s: tuple[float, float] = (0.16, 0.26)  # tool speed of free moves
    slow_speed_m_s: tuple[float, float] = (0.06, 0.1)  # descending, lifting, placing
    idle_start_s: tuple[float, float] = (0.6, 1.2)
    idle_end_s: tuple[float, float] = (0.5, 1.0)
    settle_s: tuple[float, float] = (0.1, 0.3)  # between moves
    hesitation_probability: float = 0.25
    hesitation_s: tuple[float, float] = (0.2, 0.7)
    tremor_rad: float = 0.006  # amplitude of the slow wobble on every joint
    grip_s: tuple[float, float] = (0.35, 0.5)


@dataclass(frozen=True)
class Command:
    """What the operator asks for at one instant: joint targets and gripper closures."""

    joints: Mapping[str, float]
    closures: Mapping[str, float]  # by arm side


@dataclass
class _Segment:
    start_ns: int
    end_ns: int
    phase: Phase
    # side -> joint waypoints (k, 7), traversed with a minimum-jerk time law
    paths: dict[str, Vector]
    closures: dict[str, tuple[float, float]]


def failure_draw(seed: int) -> float:
    """A number in [0, 1) per seed, spread evenly over consecutive seeds.

    Failures are injected when it is below the failure rate: any run of N
    consecutive seeds then holds the configured share of failures to within
    about 1/N, rather than whatever a coin would give.

    >>> sum(failure_draw(seed) < 0.25 for seed in range(100))
    25
    """
    return (0.5 + seed * _GOLDEN) % 1.0


def _min_jerk(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * s * (10.0 - 15.0 * s + 6.0 * s * s)


def _along(path: Vector, s: float) -> Vector:
    """The point a fraction ``s`` along a polyline of joint waypoints."""
    if len(path) == 1:
        return np.array(path[0], dtype=np.float64)
    x = s * (len(path) - 1)
    i = min(int(x), len(path) - 2)
    f = x - i
    return np.asarray(path[i] * (1.0 - f) + path[i + 1] * f, dtype=np.float64)


class ScriptedOperator:
    """A human-like teleoperator: smooth but imperfect, sometimes hesitant, occasionally failing."""

    name: ClassVar[str] = "scripted"
    style: ClassVar[OperatorStyle] = OperatorStyle()

    def __init__(
        self,
        world: SimWorld,
        ik: ArmIK,
        task: Task,
        *,
        seed: int,
        failure_rate: float,
        rng: np.random.Generator,
    ) -> None:
        self.world = world
        self.ik = ik
        self.rng = rng
        self.arms: dict[str, ArmSpec] = {arm.side: arm for arm in world.robot.arms}
        self.injected = ""
        if failure_draw(seed) < failure_rate:
            self.injected = FAILURE_MODES[int(rng.integers(len(FAILURE_MODES)))]
        self.unreachable = ""
        self._q = {side: np.asarray(arm.ready, dtype=np.float64) for side, arm in self.arms.items()}
        self._closure = dict.fromkeys(self.arms, 0.0)
        self._head = {name: world.targets[name] for name in world.robot.head_joints}
        self._tremor = self._make_tremor()
        self._segments: list[_Segment] = []
        self._cursor = 0
        t = self._seconds(self.style.idle_start_s)
        for step in self._perturbed(task.plan(ik)):
            try:
                t = self._add(step, t)
            except UnreachableError as exc:
                self.unreachable = str(exc)
                break
        self.end_ns = t + self._seconds(self.style.idle_end_s)
        # What the arms do between segments: hold where the last one ended.
        self._hold_q = {side: np.asarray(arm.ready, dtype=np.float64) for side, arm in self.arms.items()}
        self._hold_closure = dict.fromkeys(self.arms, 0.0)

    def script(self, *, origin_ns: int = 0) -> list[JsonValue]:
        """The planned phases as ``[phase, start_ns, stop_ns]`` on the episode's clock.

        Stored in the episode (``extra_json["script"]``) so annotation can be checked
        against what the operator actually meant to do. ``origin_ns`` is the time on
        the recording's clock at which the script started (0 in direct recording).
        """
        return [[seg.phase.value, seg.start_ns + origin_ns, seg.end_ns + origin_ns] for seg in self._segments]

    # ------------------------------------------------------------------ planning

    def _seconds(self, bounds: tuple[float, float]) -> int:
        return round(float(self.rng.uniform(*bounds)) * 1e9)

    def _make_tremor(self) -> dict[str, tuple[Vector, Vector, Vector]]:
        """Per arm: amplitudes, frequencies (Hz) and phases of three sines per joint."""
        tremor = {}
        for side in self.arms:
            amp = np.full((3, 7), self.style.tremor_rad / math.sqrt(3.0)) * self.rng.uniform(0.5, 1.0, (3, 7))
            freq = self.rng.uniform(0.2, 1.5, (3, 7))
            phase = self.rng.uniform(0.0, 2.0 * math.pi, (3, 7))
            tremor[side] = (amp, freq, phase)
        return tremor

    def _perturbed(self, plan: list[Step]) -> list[Step]:
        """The plan with the injected failure worked in."""
        if self.injected == "missed_grasp":
            # Closing too early: the gripper stops short above the object and closes on air.
            for i, step in enumerate(plan):
                if isinstance(step, Reach) and step.phase is Phase.DESCEND:
                    targets = {s: p.translated((0.0, 0.0, 0.06)) for s, p in step.targets.items()}
                    plan = [*plan[:i], replace(step, targets=targets), *plan[i + 1 :]]
                    break
        elif self.injected == "drop":
            for i, step in enumerate(plan):
                if isinstance(step, Reach) and step.phase is Phase.CARRY:
                    fraction = float(self.rng.uniform(0.25, 0.45))
                    partial = {
                        s: Pose(
                            self._tool(s, plan[:i]).position * (1 - fraction) + p.position * fraction,
                            p.rotation,
                        )
                        for s, p in step.targets.items()
                    }
                    opened = Grip(Phase.RELEASE, dict.fromkeys(step.targets, 0.0))
                    plan = [*plan[:i], replace(step, targets=partial), opened, step, *plan[i + 1 :]]
                    break
        return plan

    def _tool(self, side: str, before: list[Step]) -> Pose:
        """Where the plan leaves ``side``'s tool after the steps ``before``."""
        for step in reversed(before):
            if isinstance(step, Reach) and side in step.targets:
                return step.targets[side]
        return self.ik.forward(self.arms[side], self._q[side])

    def _add(self, step: Step, t: int) -> int:
        style = self.style
        if isinstance(step, Reach) and self.rng.random() < style.hesitation_probability:
            t += self._seconds(style.hesitation_s)
        if isinstance(step, Grip):
            end = t + self._seconds(style.grip_s)
            closures = {s: (self._closure[s], c) for s, c in step.closures.items()}
            self._segments.append(_Segment(t, end, step.phase, {}, closures))
            self._closure.update(step.closures)
            return end + self._seconds(style.settle_s)
        paths: dict[str, Vector] = {}
        length = 0.0
        if isinstance(step, Reach):
            for side, target in step.targets.items():
                path, dist = self._reach_path(side, target, step.linear)
                paths[side] = path
                length = max(length, dist)
        else:
            for side in step.sides:
                arm = self.arms[side]
                paths[side] = np.stack([self._q[side], np.asarray(arm.ready, dtype=np.float64)])
                start = self.ik.forward(arm, self._q[side]).position
                length = max(length, float(np.linalg.norm(self.ik.forward(arm, arm.ready).position - start)))
        speed_range = style.slow_speed_m_s if step.phase in _SLOW_PHASES else style.speed_m_s
        duration = max(length / float(self.rng.uniform(*speed_range)), 0.4, self._joint_time(paths))
        end = t + round(duration * 1e9)
        self._segments.append(_Segment(t, end, step.phase, paths, {}))
        for side, path in paths.items():
            self._q[side] = path[-1].copy()
        return end + self._seconds(style.settle_s)

    def _reach_path(self, side: str, target: Pose, linear: bool) -> tuple[Vector, float]:
        arm = self.arms[side]
        start = self.ik.forward(arm, self._q[side])
        dist = float(np.linalg.norm(target.position - start.position))
        count = max(1, math.ceil(dist / _LINE_STEP_M)) if linear else 1
        waypoints = [self._q[side]]
        q = self._q[side]
        for k in range(1, count + 1):
            q = self.ik.solve(arm, start.interpolate(target, k / count), q)
            waypoints.append(q)
        return np.stack(waypoints), dist

    def _joint_time(self, paths: Mapping[str, Vector]) -> float:
        """Shortest duration keeping every joint under 70% of its velocity limit."""
        longest = 0.0
        for side, path in paths.items():
            travel = np.sum(np.abs(np.diff(path, axis=0)), axis=0)
            limits = np.array([self.world.max_velocity[n] for n in self.arms[side].joints])
            # A minimum-jerk move peaks at 1.875 times its mean speed.
            longest = max(longest, float(np.max(travel * 1.875 / (0.7 * limits))))
        return longest

    # ------------------------------------------------------------------ acting

    def command(self, t_ns: int) -> Command:
        """Joint targets and closures at time ``t_ns`` (the simulator's clock)."""
        while self._cursor < len(self._segments) and self._segments[self._cursor].end_ns <= t_ns:
            self._finish(self._segments[self._cursor])
            self._cursor += 1
        q = dict(self._hold_q)
        closures = dict(self._hold_closure)
        phase = Phase.REST
        if self._cursor < len(self._segments):
            seg = self._segments[self._cursor]
            if seg.start_ns <= t_ns:
                phase = seg.phase
                s = (t_ns - seg.start_ns) / (seg.end_ns - seg.start_ns)
                for side, path in seg.paths.items():
                    q[side] = _along(path, _min_jerk(s))
                for side, (a, b) in seg.closures.items():
                    closures[side] = a + (b - a) * min(max(s, 0.0), 1.0)
        t = t_ns / 1e9
        calm = 0.3 if phase in _CAREFUL_PHASES else 1.0
        joints: dict[str, float] = {}
        for side, arm in self.arms.items():
            amp, freq, ph = self._tremor[side]
            wobble = calm * np.sum(amp * np.sin(2.0 * math.pi * freq * t + ph), axis=0)
            for name, value in zip(arm.joints, q[side] + wobble, strict=True):
                joints[name] = float(value)
        for k, name in enumerate(self._head):
            joints[name] = self._head[name] + 0.02 * math.sin(0.3 * t + 1.7 * k)
        return Command(joints, closures)

    def _finish(self, seg: _Segment) -> None:
        for side, path in seg.paths.items():
            self._hold_q[side] = path[-1]
        for side, (_, b) in seg.closures.items():
            self._hold_closure[side] = b


class CarefulOperator(ScriptedOperator):
    """A slow, steady operator: no hesitations, little tremor."""

    name: ClassVar[str] = "careful"
    style: ClassVar[OperatorStyle] = OperatorStyle(
        speed_m_s=(0.1, 0.16),
        slow_speed_m_s=(0.04, 0.06),
        hesitation_probability=0.0,
        tremor_rad=0.002,
    )


class HastyOperator(ScriptedOperator):
    """A fast operator who hesitates often and wobbles more."""

    name: ClassVar[str] = "hasty"
    style: ClassVar[OperatorStyle] = OperatorStyle(
        speed_m_s=(0.25, 0.35),
        slow_speed_m_s=(0.09, 0.13),
        idle_start_s=(0.3, 0.6),
        idle_end_s=(0.3, 0.5),
        settle_s=(0.05, 0.15),
        hesitation_probability=0.4,
        tremor_rad=0.01,
    )


OPERATORS: Registry[type[ScriptedOperator]] = Registry(
    "operator",
    {op.name: op for op in (ScriptedOperator, CarefulOperator, HastyOperator)},
)
"""Scripted operators by name; ``sim.operator`` or ``tg collect --operator`` picks one."""
