"""One simulated episode: world, task and operator, run on the simulator's clock.

The loop steps physics at ``physics_hz``, asks the operator for commands at
``control_hz`` and samples every recorded stream on its own schedule, all on
simulated time. Each sample carries the simulator's clock, so the recorded
data is the same whether the run was faster or slower than real time, and the
same seed gives the same episode. Without a sink nothing is sampled or
rendered (physics-only mode), and the motion and outcome are still the same:
rendering never changes the simulation, and sensor noise has its own random
generator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from episodes import (
    ArrayStreamSpec,
    CameraCalibration,
    ImageStreamSpec,
    JsonValue,
    Role,
    StreamKind,
    StreamSpec,
)
from sim_envs._errors import SimError
from sim_envs._geometry import Pose, matrix_from_quat
from sim_envs._ik import ArmIK
from sim_envs._operators import OPERATORS, Command, ScriptedOperator
from sim_envs._overrides import SimOverrides
from sim_envs._robots import ROBOTS, SimRobot, build_humanoid
from sim_envs._tasks import TASKS, Task
from sim_envs._world import CameraModel, SimWorld
from tg_config import ResolvedSession, RobotProfile

__all__ = [
    "EpisodeOutcome",
    "EpisodeTimings",
    "Sampler",
    "SimEpisode",
    "SimSetup",
    "Sink",
    "judge_outcome",
    "merge_extra",
]

Sink = Callable[[str, int, npt.NDArray[Any]], None]

_FAILURE_NOTES = {
    "missed_grasp": "scripted failure: missed grasp (the gripper closed too early, above the object)",
    "drop": "scripted failure: dropped the object while carrying it",
}
_GRAVITY = np.array([0.0, 0.0, 9.81])
_MIN_PHYSICS_HZ = 200.0
_MAX_AUTO_PHYSICS_HZ = 2000.0


@dataclass(frozen=True)
class SimSetup:
    """Everything that is the same for all episodes of a session."""

    robot: type[SimRobot]
    task: type[Task]
    operator: type[ScriptedOperator]
    streams: tuple[StreamSpec, ...]
    cameras: Mapping[str, CameraModel]
    locked: Mapping[str, float]
    physics_hz: float = 200.0
    control_hz: float = 100.0
    failure_rate: float = 0.0
    image_noise: float = 2.0
    renderer: str = "auto"
    max_duration_s: float = 120.0

    @classmethod
    def from_session(cls, run: ResolvedSession, overrides: SimOverrides | None = None) -> SimSetup:
        """The simulation of a resolved session; ``overrides`` change its ``sim:`` section.

        Raises :class:`UnknownNameError` (listing the known names) for an unknown
        robot, task or operator, and :class:`SimError` for a stream, joint or
        camera mount the simulated robot cannot provide; both name the file.
        """
        overrides = overrides or SimOverrides()
        session, profile = run.session, run.profile
        sim = session.sim
        where = str(session.source_path) if session.source_path is not None else "session"
        task = _task_for(run, overrides.task, where)
        operator = _operator_for(run, overrides.operator, where)
        robot = _robot_for(profile, sim.robot, where)
        renderer = overrides.renderer or sim.renderer
        physics_hz = sim.physics_hz or _physics_hz(run.streams)
        _check_streams(run.streams, robot, profile)
        cameras = _cameras(run, robot, physics_hz, where)
        if cameras and renderer == "none":
            raise SimError(
                f"{where}: sim.renderer: 'none' renders no images, but the session records cameras "
                f"{', '.join(cameras)}; disable them (cameras.<name>.enabled: false) or pick a renderer"
            )
        return cls(
            robot=robot,
            task=task,
            operator=operator,
            streams=run.streams,
            cameras=cameras,
            locked=_locked(profile, robot),
            physics_hz=physics_hz,
            control_hz=sim.control_hz,
            failure_rate=sim.failure_rate if overrides.failure_rate is None else overrides.failure_rate,
            image_noise=sim.image_noise,
            renderer=renderer,
            max_duration_s=session.episode.max_duration_s,
        )

    def calibrations(self) -> dict[str, CameraCalibration]:
        """Intrinsics (from the projection used to render) and mount of every camera."""
        out = {}
        for name, cam in self.cameras.items():
            mount = (*cam.mount.position.tolist(), *cam.mount.quat.tolist())
            out[name] = CameraCalibration(
                width=cam.width,
                height=cam.height,
                camera_matrix=cam.camera_matrix,
                distortion=(0.0, 0.0, 0.0, 0.0, 0.0),
                mount_parent=cam.link,
                mount_pose=tuple(round(v, 9) for v in mount),
            )
        return out


def _task_for(run: ResolvedSession, override: str | None, where: str) -> type[Task]:
    """The override's task, else ``sim.task``, else the session's task label."""
    session = run.session
    if override is not None:
        return TASKS.get_or_raise(override, "--task")
    if session.sim.task is not None:
        return TASKS.get_or_raise(session.sim.task, f"{where}: sim.task")
    return TASKS.get_or_raise(session.task.name, f"{where}: task.name")


def _operator_for(run: ResolvedSession, override: str | None, where: str) -> type[ScriptedOperator]:
    if override is not None:
        return OPERATORS.get_or_raise(override, "--operator")
    return OPERATORS.get_or_raise(run.session.sim.operator, f"{where}: sim.operator")


def _cameras(
    run: ResolvedSession, robot: type[SimRobot], physics_hz: float, where: str
) -> dict[str, CameraModel]:
    """The camera of every image stream; an array stream faster than physics is an error."""
    cameras: dict[str, CameraModel] = {}
    for spec in run.streams:
        if isinstance(spec, ImageStreamSpec):
            cameras[spec.name] = _camera(run.profile, spec, robot)
        elif spec.rate_hz is not None and spec.rate_hz > physics_hz:
            raise SimError(
                f"{where}: sim.physics_hz: {physics_hz:g} Hz is below the {spec.rate_hz:g} Hz of stream "
                f"{spec.name!r}; raise sim.physics_hz or lower the stream's rate (state_rate_hz)"
            )
    return cameras


def _locked(profile: RobotProfile, robot: type[SimRobot]) -> dict[str, float]:
    """The profile's joints that never move, at the robot's posture; the operator must not need them."""
    locked = {j.name: _lock_at(robot, j.name, j.lower, j.upper) for j in profile.joints if not j.moves}
    driven = {*robot.head_joints, *(j for arm in robot.arms for j in arm.joints)}
    if driven & locked.keys():
        raise SimError(
            f"{profile.source_path or profile.name}: joints: {', '.join(sorted(driven & locked.keys()))} "
            "are marked moves: false, but the scripted operator moves them"
        )
    return locked


def _physics_hz(streams: tuple[StreamSpec, ...]) -> float:
    """At least 200 Hz (stable grasps), and a whole multiple of every array stream's rate where
    that is practical, so that their samples fall exactly on physics steps."""
    rates = {s.rate_hz for s in streams if isinstance(s, ArrayStreamSpec) and s.rate_hz}
    base = max(rates, default=_MIN_PHYSICS_HZ)
    if rates and all(float(r).is_integer() for r in rates):
        common = math.lcm(*(int(r) for r in rates))
        if common <= _MAX_AUTO_PHYSICS_HZ:
            base = float(common)
    return float(base * math.ceil(_MIN_PHYSICS_HZ / base - 1e-9))


def _robot_for(profile: RobotProfile, name: str | None, where: str) -> type[SimRobot]:
    if name is not None:
        return ROBOTS.get_or_raise(name, f"{where}: sim.robot")
    urdf = profile.urdf_path
    for robot in ROBOTS.values():
        if urdf is not None and urdf.name == robot.urdf_path().name:
            return robot
    raise SimError(
        f"{where}: sim.robot: not set, and profile {profile.name!r} names no simulated robot's URDF "
        f"(urdf: {profile.urdf or '(none)'}); set sim.robot to one of: {', '.join(ROBOTS)}"
    )


def _lock_at(robot: type[SimRobot], joint: str, lower: float, upper: float) -> float:
    return min(max(robot.posture.get(joint, 0.0), lower), upper)


def _camera(profile: RobotProfile, spec: ImageStreamSpec, robot: type[SimRobot]) -> CameraModel:
    where = str(profile.source_path) if profile.source_path is not None else f"profile {profile.name!r}"
    index, camera = next((i, c) for i, c in enumerate(profile.cameras) if c.name == spec.name)
    if camera.mount_pose is None:
        raise SimError(
            f"{where}: cameras[{index}].mount_pose: the simulator needs the mount of camera {spec.name!r}"
        )
    links = _robot_links(robot)
    if camera.mount_parent not in links:
        raise SimError(
            f"{where}: cameras[{index}].mount_parent: {camera.mount_parent!r} is not a link of "
            f"simulated robot {robot.name!r}"
        )
    x, y, z, *quat = camera.mount_pose
    return CameraModel(
        spec.name,
        spec.width,
        spec.height,
        robot.fov_deg(spec.name),
        camera.mount_parent,
        Pose(np.array([x, y, z]), matrix_from_quat(quat)),
    )


def _robot_links(robot: type[SimRobot]) -> set[str]:
    links, _ = build_humanoid(robot.spec)
    return {link.name for link in links}


def _check_streams(streams: tuple[StreamSpec, ...], robot: type[SimRobot], profile: RobotProfile) -> None:
    where = str(profile.source_path) if profile.source_path is not None else f"profile {profile.name!r}"
    _, joints = build_humanoid(robot.spec)
    known = {j.name for j in joints if j.type != "fixed"}
    grippers = {arm.gripper for arm in robot.arms}
    for spec in streams:
        if isinstance(spec, ImageStreamSpec):
            continue
        kind = spec.kind
        if kind in (StreamKind.JOINT_POSITION, StreamKind.JOINT_VELOCITY, StreamKind.JOINT_EFFORT):
            if spec.role is Role.ACTION and kind is not StreamKind.JOINT_POSITION:
                raise SimError(f"{where}: stream {spec.name!r}: the simulator commands positions only")
            missing = [n for n in spec.names if n not in known]
            if missing:
                raise SimError(
                    f"{where}: stream {spec.name!r}: joint(s) {', '.join(missing)} are not joints of "
                    f"simulated robot {robot.name!r}; set sim.robot to the robot this profile describes "
                    f"(known robots: {', '.join(ROBOTS)})"
                )
        elif kind is StreamKind.GRIPPER:
            missing = [n for n in spec.names if n not in grippers]
            if missing:
                raise SimError(
                    f"{where}: stream {spec.name!r}: no gripper of simulated robot {robot.name!r} is called "
                    f"{', '.join(missing)} (its grippers: {', '.join(sorted(grippers))})"
                )
        elif kind is not StreamKind.IMU or spec.dim != 10:
            raise SimError(
                f"{where}: stream {spec.name!r}: the simulator cannot produce a {kind.value} stream of "
                f"{spec.dim} values (it provides joint states, grippers, a standard imu and cameras)"
            )


@dataclass
class EpisodeTimings:
    """Wall-clock seconds spent per activity in one episode (for the benchmark)."""

    setup: float = 0.0
    ik: float = 0.0
    physics: float = 0.0
    control: float = 0.0
    state: float = 0.0
    render: float = 0.0
    write: float = 0.0


@dataclass(frozen=True)
class EpisodeOutcome:
    """How an episode ended: the success label and why, and what was randomised."""

    seed: int
    task: str
    instruction: str
    success: bool
    failure: str  # "", missed_grasp, drop, unreachable, time_limit, not_achieved
    notes: str
    duration_ns: int
    scene: Mapping[str, JsonValue]
    timings: EpisodeTimings = field(compare=False)


class Sampler:
    """One recorded stream: when its next sample is due and how to take it."""

    def __init__(self, spec: StreamSpec, control_hz: float, take: Callable[[], npt.NDArray[Any]]) -> None:
        self.name = spec.name
        self.rate_hz = spec.rate_hz or control_hz
        self.count = 0
        self.due_ns = 0
        self.take = take
        self.is_camera = isinstance(spec, ImageStreamSpec)

    def advance(self) -> None:
        self.count += 1
        self.due_ns = round(self.count * 1e9 / self.rate_hz)


class SimEpisode:
    """One episode of ``setup`` with ``seed``: build it, :meth:`run` it, read the outcome.

    >>> from tg_config import load_session
    >>> run = load_session("launch/sim_pick_place.yaml").resolve()
    >>> setup = SimSetup.from_session(run, SimOverrides(renderer="tiny"))
    >>> with SimEpisode(setup, seed=3) as episode:  # doctest: +SKIP
    ...     outcome = episode.run()  # physics only: no sink, nothing rendered
    >>> outcome.success  # doctest: +SKIP
    True
    """

    def __init__(self, setup: SimSetup, seed: int, *, scripted: bool = True) -> None:
        self.setup = setup
        self.seed = seed
        self.timings = EpisodeTimings()
        start = time.perf_counter()
        self.world = SimWorld(
            setup.robot, physics_hz=setup.physics_hz, renderer=setup.renderer, locked=setup.locked
        )
        self.ik = ArmIK(setup.robot)
        self.task = setup.task(self.world, np.random.default_rng([seed, 0]))
        self.timings.setup = time.perf_counter() - start
        start = time.perf_counter()
        # Without a script the commands come from outside (the ROS bridge): the operator is
        # never built, and the world does not depend on it (it has its own generator).
        self.operator: ScriptedOperator | None = None
        if scripted:
            self.operator = setup.operator(
                self.world,
                self.ik,
                self.task,
                seed=seed,
                failure_rate=setup.failure_rate,
                rng=np.random.default_rng([seed, 1]),
            )
        self.timings.ik = time.perf_counter() - start
        self._noise = np.random.default_rng([seed, 2])
        self._arms = {arm.gripper: arm for arm in setup.robot.arms}
        self._reading_at = -1
        self._reading: dict[tuple[str, ...], Any] = {}
        self._next_control = 0

    @property
    def renderer(self) -> str:
        """The renderer the world uses: ``egl`` (GPU) or ``tiny`` (CPU)."""
        return self.world.renderer_name

    def __enter__(self) -> SimEpisode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.world.close()
        self.ik.close()

    # ------------------------------------------------------------------ sampling

    def _joints(self, names: tuple[str, ...]) -> Any:
        if self._reading_at != self.world.time_ns:
            self._reading_at = self.world.time_ns
            self._reading = {}
        reading = self._reading.get(names)
        if reading is None:
            reading = self._reading[names] = self.world.joints(names)
        return reading

    def _sampler(self, spec: StreamSpec) -> Sampler:
        take: Callable[[], npt.NDArray[Any]]
        if isinstance(spec, ImageStreamSpec):
            camera = self.setup.cameras[spec.name]
            take = self._camera_take(spec, camera)
        else:
            take = self._array_take(spec)
        return Sampler(spec, self.setup.control_hz, take)

    def _array_take(self, spec: ArrayStreamSpec) -> Callable[[], npt.NDArray[Any]]:
        names = spec.names
        world = self.world
        kind = spec.kind
        if spec.role is Role.ACTION:
            if kind is StreamKind.GRIPPER:
                arms = [self._arms[n] for n in names]
                return lambda: np.array([world.commanded_closure(a) for a in arms])
            return lambda: np.array([world.targets.get(n, world.locked.get(n, 0.0)) for n in names])
        if kind is StreamKind.JOINT_POSITION:
            return lambda: self._joints(names).position
        if kind is StreamKind.JOINT_VELOCITY:
            return lambda: self._joints(names).velocity
        if kind is StreamKind.JOINT_EFFORT:
            return lambda: self._joints(names).effort
        if kind is StreamKind.GRIPPER:
            arms = [self._arms[n] for n in names]
            return lambda: np.array([world.closure(a) for a in arms])
        return self._imu

    def _imu(self) -> npt.NDArray[np.float64]:
        # The base is fixed: the IMU feels gravity (as an upward acceleration) and sensor noise.
        base = self.world.link_pose(self.setup.robot.spec.base_link)
        gyro = self._noise.normal(0.0, 0.002, 3)
        acc = base.rotation.T @ _GRAVITY + self._noise.normal(0.0, 0.02, 3)
        return np.concatenate([base.quat, gyro, acc])

    def capture(self, stream: str) -> npt.NDArray[Any]:
        """What camera stream ``stream`` records now: the rendered frame with sensor noise."""
        for spec in self.setup.streams:
            if spec.name == stream and isinstance(spec, ImageStreamSpec):
                return self._camera_take(spec, self.setup.cameras[stream])()
        raise SimError(
            f"no camera stream {stream!r} in this session; cameras: {', '.join(self.setup.cameras)}"
        )

    def _camera_take(self, spec: ImageStreamSpec, camera: CameraModel) -> Callable[[], npt.NDArray[Any]]:
        sigma = self.setup.image_noise

        def take() -> npt.NDArray[Any]:
            if spec.kind is StreamKind.DEPTH:
                depth_m = self.world.render_depth(camera)
                mm = depth_m * 1000.0 + self._noise.normal(0.0, sigma, depth_m.shape)
                return np.clip(np.where(depth_m < camera.far * 0.999, mm, 0.0), 0, 65535).astype(np.uint16)
            rgb = self.world.render(camera).astype(np.float32)
            if spec.channels == 1:
                rgb = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            # Real sensors never give two identical frames of a still scene.
            noisy = rgb + self._noise.standard_normal(rgb.shape, dtype=np.float32) * sigma
            return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

        return take

    # ------------------------------------------------------------------ running

    def samplers(self, streams: Sequence[StreamSpec]) -> list[Sampler]:
        """A sampler per stream of ``streams`` (a subset of the session's), each due at time 0."""
        return [self._sampler(s) for s in streams]

    def apply(self, command: Command) -> None:
        """Set joint targets and gripper closures (by arm side), as a teleoperator's command does."""
        self.world.set_targets(command.joints)
        for side, closure in command.closures.items():
            self.world.set_gripper(self.setup.robot.arm(side), closure)

    def tick(self, samplers: Sequence[Sampler], sink: Sink) -> None:
        """Everything due at the current instant: the script's command (if scripted), then the samples.

        ``sink(stream, stamp_ns, value)`` receives the samples in time order,
        stamped with the episode's clock (``world.time_ns``). The same core serves
        the direct recording (:meth:`run`) and the ROS bridge (``tg_sim``), which
        applies commands from topics and steps on its own pace.
        """
        world, timings, clock = self.world, self.timings, time.perf_counter
        now = world.time_ns
        if self.operator is not None and now >= self._next_control:
            start = clock()
            self.apply(self.operator.command(now))
            self._next_control += round(1e9 / self.setup.control_hz)
            timings.control += clock() - start
        for sampler in samplers:
            if now >= sampler.due_ns:
                start = clock()
                value = sampler.take()
                taken = clock()
                sink(sampler.name, now, value)
                if sampler.is_camera:
                    timings.render += taken - start
                else:
                    timings.state += taken - start
                timings.write += clock() - taken
                sampler.advance()

    def step(self) -> None:
        """One physics step: the clock advances by ``1 / physics_hz``."""
        start = time.perf_counter()
        self.world.step()
        self.timings.physics += time.perf_counter() - start

    def run(self, sink: Sink | None = None) -> EpisodeOutcome:
        """Run to the end of the operator's script (or the episode length limit).

        ``sink(stream, stamp_ns, value)`` receives every sample in time order;
        without one nothing is sampled (physics only).
        """
        operator = self._scripted()
        samplers = self.samplers(self.setup.streams) if sink is not None else []
        limit_ns = round(self.setup.max_duration_s * 1e9)
        end_ns = min(operator.end_ns, limit_ns)
        while True:
            self.tick(samplers, sink or _discard)
            if self.world.time_ns >= end_ns:
                break
            self.step()
        return self._outcome(limit_ns)

    def _scripted(self) -> ScriptedOperator:
        if self.operator is None:
            raise SimError("this episode was built with scripted=False: its commands come from outside")
        return self.operator

    def _outcome(self, limit_ns: int) -> EpisodeOutcome:
        operator = self._scripted()
        failure, notes = judge_outcome(
            achieved=self.task.success(),
            injected=operator.injected,
            unreachable=operator.unreachable,
            truncated=operator.end_ns > limit_ns,
            max_duration_s=self.setup.max_duration_s,
        )
        return EpisodeOutcome(
            seed=self.seed,
            task=self.setup.task.name,
            instruction=self.task.instruction,
            success=not failure,
            failure=failure,
            notes=notes,
            duration_ns=self.world.time_ns,
            scene=self.task.scene(),
            timings=self.timings,
        )

    def world_extra(self) -> dict[str, JsonValue]:
        """The simulator's part of :meth:`extra`: seed, robot, task, renderer, rates, scene."""
        setup = self.setup
        return {
            "seed": self.seed,
            "sim": {
                "robot": setup.robot.name,
                "task": setup.task.name,
                "renderer": self.renderer,
                "physics_hz": setup.physics_hz,
                "image_noise": setup.image_noise,
            },
            "scene": dict(self.task.scene()),
        }

    def operator_extra(self, *, origin_ns: int = 0) -> dict[str, JsonValue]:
        """The operator's part of :meth:`extra`; ``origin_ns`` puts the script on the recording's clock."""
        setup, operator = self.setup, self._scripted()
        return {
            "sim": {
                "operator": setup.operator.name,
                "control_hz": setup.control_hz,
                "failure_rate": setup.failure_rate,
                "injected_failure": operator.injected,
            },
            "script": operator.script(origin_ns=origin_ns),
        }

    def extra(self) -> dict[str, JsonValue]:
        """Episode metadata for ``extra_json``: the seed, the simulation settings, the scene, the script."""
        return merge_extra(self.world_extra(), self.operator_extra())


def _discard(stream: str, stamp_ns: int, value: npt.NDArray[Any]) -> None:
    """The sink of a physics-only run: there are no samplers, so it is never called."""


def merge_extra(world: Mapping[str, JsonValue], operator: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """One episode's ``extra_json`` from the simulator's part and the operator's part.

    The ROS session gets the two parts from different nodes (the bridge and the
    teleoperator); the direct path from one :class:`SimEpisode`. Both merge here.

    >>> merge_extra({"seed": 1, "sim": {"robot": "r"}}, {"sim": {"operator": "o"}, "script": []})
    {'seed': 1, 'sim': {'robot': 'r', 'operator': 'o'}, 'script': []}
    """
    merged = {**world, **operator}
    world_sim, operator_sim = world.get("sim"), operator.get("sim")
    if isinstance(world_sim, Mapping) and isinstance(operator_sim, Mapping):
        merged["sim"] = {**world_sim, **operator_sim}
    return merged


def judge_outcome(
    *, achieved: bool, injected: str, unreachable: str, truncated: bool, max_duration_s: float
) -> tuple[str, str]:
    """The failure reason ("" on success) and the notes of an episode, from what the task and operator say.

    >>> judge_outcome(achieved=False, injected="drop", unreachable="", truncated=False, max_duration_s=60)
    ('drop', 'scripted failure: dropped the object while carrying it')
    """
    failure, notes = "", ""
    if unreachable:
        failure, notes = "unreachable", f"inverse kinematics: {unreachable}"
    elif not achieved:
        failure = "time_limit" if truncated else (injected or "not_achieved")
        notes = _FAILURE_NOTES.get(failure, "the task was not achieved")
    if truncated:
        notes = "; ".join(
            n for n in (notes, f"stopped at the episode length limit ({max_duration_s:g} s)") if n
        )
    return failure, notes
