"""Replay an episode's recorded actions in the simulation and compare the joints it reaches.

The simulated robot starts where the recording starts (its first joint state),
the task's scene is rebuilt from the episode's seed when it was simulated, and
every action sample is applied at its recorded stamp on the simulator's clock,
exactly as the scripted operator's commands were. The joint positions the
simulation reaches are read at the recorded state stamps and compared with the
recorded ones (:mod:`sim_envs._replay_report`).

Wrong units, a swapped joint order or a time offset between commands and
states all pass the per-stream checks of the quality gate; here they show as
a large tracking error on a joint, or as a lag that aligns the two.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

import episodes
from episodes import ArrayStreamSpec, EpisodeReader, JsonValue, Role, StreamKind
from sim_envs._driver import Pacer
from sim_envs._episode import _physics_hz
from sim_envs._errors import SimError
from sim_envs._pybullet import pb
from sim_envs._replay_hints import command_hints
from sim_envs._replay_report import ReplayReport, compare_tracks
from sim_envs._robots import ROBOTS, SimRobot, build_humanoid
from sim_envs._tasks import TASKS
from sim_envs._world import SimWorld
from tg_config import RobotProfile, UnknownProfileError, load_profile

__all__ = ["ReplayOptions", "replay_episode", "replay_reader", "simulated_robot"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay: ``speed`` times real time at most (0: as fast as it goes), the lag searched."""

    speed: float = 0.0
    max_lag_s: float = 0.5
    worst_moments: int = 5


@dataclass(frozen=True)
class _Action:
    """One recorded action stream, on the episode's clock, and how to apply one of its rows."""

    stamps_ns: npt.NDArray[np.int64]
    values: FloatArray
    apply: Callable[[SimWorld, FloatArray], None]


@dataclass(frozen=True)
class _Plan:
    """Everything the replay needs from the episode, read once."""

    robot: type[SimRobot]
    stream: str
    origin_ns: int
    physics_hz: float
    locked: Mapping[str, float]
    start: Mapping[str, float]  # the first recorded position of every moving joint
    actions: tuple[_Action, ...]
    compared: tuple[str, ...]  # joints both commanded and recorded
    state_ns: npt.NDArray[np.int64]  # stamps of the compared state samples, from the origin
    recorded: FloatArray  # (samples, compared)
    commanded: FloatArray  # (samples, compared): the latest command of each compared joint at each stamp
    scene: tuple[str, int] | None  # (task, seed) of a simulated episode
    notes: tuple[str, ...]


def replay_episode(path: str | os.PathLike[str], options: ReplayOptions | None = None) -> ReplayReport:
    """Drive the simulated robot with the episode's actions; compare its joints with the recorded ones.

    Raises :class:`SimError` naming the file for an episode without joint
    position actions or without a joint position state stream, and for a
    robot profile no simulated robot has the joints of.

    >>> report = replay_episode("datasets/demo/01J....h5")  # doctest: +SKIP
    >>> report.tracking.rms < 0.01, report.tracking.worst_joint.joint  # doctest: +SKIP
    (True, 'l_arm_pitch')
    """
    with episodes.open(path) as reader:
        return replay_reader(reader, options)


def replay_reader(reader: EpisodeReader, options: ReplayOptions | None = None) -> ReplayReport:
    """:func:`replay_episode` on an episode already open (the quality check's way in)."""
    options = options or ReplayOptions()
    started = time.perf_counter()
    plan = _plan(reader)
    replayed = _simulate(plan, options)
    tracking = compare_tracks(
        plan.compared,
        plan.state_ns / 1e9,
        plan.recorded,
        replayed,
        max_lag_s=options.max_lag_s,
        worst=options.worst_moments,
    )
    return ReplayReport(
        episode=str(reader.path),
        episode_id=reader.metadata.episode_id,
        stream=plan.stream,
        origin_ns=plan.origin_ns,
        robot=plan.robot.name,
        duration_s=float(plan.state_ns[-1]) / 1e9,
        physics_hz=plan.physics_hz,
        tracking=tracking,
        notes=plan.notes,
        hints=command_hints(plan.compared, plan.commanded, plan.recorded),
        wall_s=time.perf_counter() - started,
    )


# ---------------------------------------------------------------- reading the episode


def _plan(reader: EpisodeReader) -> _Plan:
    where = str(reader.path)
    specs = [s for s in (reader.spec(n) for n in reader.stream_names) if isinstance(s, ArrayStreamSpec)]
    commands = [s for s in specs if s.role is Role.ACTION and s.kind is StreamKind.JOINT_POSITION]
    states = [s for s in specs if s.role is Role.OBSERVATION and s.kind is StreamKind.JOINT_POSITION]
    if not any(reader.stream(s.name).count for s in commands):
        raise SimError(
            f"{where}: no joint position actions to replay (action streams: "
            f"{', '.join(s.name for s in specs if s.role is Role.ACTION) or 'none'}); "
            "tg replay needs an action stream of kind joint_position"
        )
    commanded = {n for s in commands for n in s.names}
    # The state stream that records most of the commanded joints (a Walker splits arms, legs, head).
    states = sorted(states, key=lambda s: -len(commanded & set(s.names)))
    if not states or not reader.stream(states[0].name).count:
        raise SimError(f"{where}: no recorded joint_position state stream to compare the replay with")
    state = states[0]
    extra = reader.metadata.extra
    robot = _robot_for(reader, state, commands)
    origin = reader.origin_ns()
    positions = reader.values(state.name, dtype=np.float64)
    first = dict(zip(state.names, positions[0].tolist(), strict=True))
    locked = _locked(reader, robot, first)
    actions, notes = _actions(reader, specs, robot, locked, origin)
    compared = tuple(n for s in commands for n in s.names if n in state.names and n not in locked)
    columns = [state.names.index(n) for n in compared]
    state_ns = reader.times(state.name) - origin
    sim = _sim_extra(extra)
    hz = sim.get("physics_hz")
    physics_hz = float(hz) if isinstance(hz, (int, float)) and hz > 0 else _physics_hz(tuple(specs))
    return _Plan(
        robot=robot,
        stream=state.name,
        origin_ns=origin,
        physics_hz=physics_hz,
        locked=locked,
        start={n: q for n, q in first.items() if n not in locked},
        actions=actions,
        compared=compared,
        state_ns=state_ns,
        recorded=positions[:, columns],
        commanded=_held_commands(reader, commands, compared, state_ns + origin),
        scene=_scene(sim.get("task"), extra.get("seed")),
        notes=notes,
    )


def _held_commands(
    reader: EpisodeReader,
    commands: list[ArrayStreamSpec],
    joints: tuple[str, ...],
    at_ns: npt.NDArray[np.int64],
) -> FloatArray:
    """Each joint's latest command at or before each stamp (the first one before it starts)."""
    out = np.empty((at_ns.size, len(joints)))
    for spec in commands:
        mine = [(k, spec.names.index(j)) for k, j in enumerate(joints) if j in spec.names]
        if not mine or not reader.stream(spec.name).count:
            continue
        rows = np.searchsorted(reader.times(spec.name), at_ns, side="right") - 1
        values = reader.values(spec.name, dtype=np.float64)[np.clip(rows, 0, None)]
        for k, column in mine:
            out[:, k] = values[:, column]
    return out


def _sim_extra(extra: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    """The ``sim`` section a simulated episode's ``extra_json`` holds (empty for a real one)."""
    sim = extra.get("sim")
    return sim if isinstance(sim, Mapping) else {}


def simulated_robot(reader: EpisodeReader) -> type[SimRobot] | None:
    """The simulated robot a simulated episode names in its ``extra_json`` (None: a real episode)."""
    name = _sim_extra(reader.metadata.extra).get("robot")
    if not isinstance(name, str):
        return None
    return ROBOTS.get_or_raise(name, f"{reader.path}: extra_json sim.robot")


def _robot_for(
    reader: EpisodeReader, state: ArrayStreamSpec, commands: list[ArrayStreamSpec]
) -> type[SimRobot]:
    """The simulated robot the episode was recorded on, else the one that has all its joints."""
    recorded_on = simulated_robot(reader)
    if recorded_on is not None:
        return recorded_on
    needed = {*state.names, *(n for s in commands for n in s.names)}
    for robot in ROBOTS.values():
        if needed <= _joint_names(robot):
            return robot
    closest = max(ROBOTS.values(), key=lambda r: len(needed & _joint_names(r)))
    missing = sorted(needed - _joint_names(closest))
    raise SimError(
        f"{reader.path}: robot profile {reader.metadata.robot.profile!r} has no simulated model: "
        f"no simulated robot ({', '.join(ROBOTS)}) has all its joints (the closest, {closest.name!r}, "
        f"lacks {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}); "
        "replay needs a profile whose joint names and order are a simulated robot's (joint maps are not "
        "supported yet)"
    )


def _joint_names(robot: type[SimRobot]) -> set[str]:
    _, joints = build_humanoid(robot.spec)
    return {j.name for j in joints if j.type != "fixed"}


def _locked(reader: EpisodeReader, robot: type[SimRobot], first: Mapping[str, float]) -> dict[str, float]:
    """The profile's joints that never move, held where the recording has them (else the posture)."""
    profile = _profile(reader.metadata.robot.profile)
    if profile is None:
        return {}
    known = _joint_names(robot)
    return {
        j.name: first.get(j.name, robot.posture.get(j.name, 0.0))
        for j in profile.joints
        if not j.moves and j.name in known
    }


def _profile(name: str) -> RobotProfile | None:
    try:
        return load_profile(name)
    except UnknownProfileError:
        return None


def _actions(
    reader: EpisodeReader,
    specs: list[ArrayStreamSpec],
    robot: type[SimRobot],
    locked: Mapping[str, float],
    origin: int,
) -> tuple[tuple[_Action, ...], tuple[str, ...]]:
    """Every action stream the simulated robot can take, and notes on those it cannot."""
    actions, notes = [], []
    for spec in specs:
        if spec.role is not Role.ACTION or not reader.stream(spec.name).count:
            continue
        apply = _applier(spec, robot, locked)
        if apply is None:
            notes.append(
                f"action stream {spec.name!r} ({spec.kind.value}) not replayed: no simulated part takes it"
            )
            continue
        stamps = reader.times(spec.name) - origin
        actions.append(_Action(stamps, reader.values(spec.name, dtype=np.float64), apply))
    return tuple(actions), tuple(notes)


def _applier(
    spec: ArrayStreamSpec, robot: type[SimRobot], locked: Mapping[str, float]
) -> Callable[[SimWorld, FloatArray], None] | None:
    if spec.kind is StreamKind.JOINT_POSITION:
        names = spec.names
        keep = [i for i, n in enumerate(names) if n not in locked]

        def targets(world: SimWorld, row: FloatArray) -> None:
            world.set_targets({names[i]: float(row[i]) for i in keep})

        return targets
    if spec.kind is StreamKind.GRIPPER:
        by_name = {arm.gripper: arm for arm in robot.arms}
        # A real robot's grippers have their own names (left_claw): taken in the arms' order.
        arms = [by_name[n] for n in spec.names] if set(spec.names) <= by_name.keys() else None
        if arms is None and spec.dim == len(robot.arms):
            arms = list(robot.arms)
        if arms is None:
            return None
        chosen = arms

        def closures(world: SimWorld, row: FloatArray) -> None:
            for arm, closure in zip(chosen, row.tolist(), strict=True):
                world.set_gripper(arm, closure)

        return closures
    return None


def _scene(task: Any, seed: Any) -> tuple[str, int] | None:
    if isinstance(task, str) and task in TASKS and isinstance(seed, int):
        return task, seed
    return None


# ---------------------------------------------------------------- the simulation


def _simulate(plan: _Plan, options: ReplayOptions) -> FloatArray:
    """The compared joints' positions the simulation reaches at every recorded state stamp."""
    world = SimWorld(plan.robot, physics_hz=plan.physics_hz, renderer="tiny", locked=plan.locked)
    try:
        if plan.scene is not None:
            task, seed = plan.scene
            # The task lays out its objects from the seed's first generator, as in the recording.
            TASKS[task](world, np.random.default_rng([seed, 0]))
        _start_at(world, plan.start)
        return _run(world, plan, Pacer(options.speed))
    finally:
        world.close()


def _start_at(world: SimWorld, start: Mapping[str, float]) -> None:
    """Put the robot where the recording starts, holding there."""
    for name, q in start.items():
        pb.resetJointState(world.body, world.joint_index[name], q, physicsClientId=world.client)
    world.set_targets(start)


def _run(world: SimWorld, plan: _Plan, pacer: Pacer) -> FloatArray:
    """Step physics to the last state stamp, applying each action when its stamp comes."""
    out = np.empty((plan.state_ns.size, len(plan.compared)))
    next_action = [0] * len(plan.actions)
    taken, end = 0, int(plan.state_ns[-1])
    while True:
        now = world.time_ns
        for k, action in enumerate(plan.actions):
            i = next_action[k]
            due = int(np.searchsorted(action.stamps_ns, now, side="right"))
            if due > i:
                action.apply(world, action.values[due - 1])
                next_action[k] = due
        due = int(np.searchsorted(plan.state_ns, now, side="right"))
        if due > taken:
            out[taken:due] = world.joints(plan.compared).position
            taken = due
        if now >= end:
            return out
        pacer.wait(now)
        world.step()
