"""One simulated world: a ground, a table, a robot on a fixed base, and the task's objects.

Every episode gets a fresh PyBullet client, so an episode depends on its seed
only, never on the episodes before it. Time is the simulator's: ``time_ns``
advances by one physics step per :meth:`SimWorld.step`.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sim_envs._errors import SimError
from sim_envs._geometry import Pose, matrix_from_quat
from sim_envs._pybullet import connect, egl_available, pb, quiet
from sim_envs._robots import ArmSpec, SimRobot
from sim_envs._sim_bodies import TABLE_TOP_Z, Rgba, add_compound, build_room

__all__ = ["TABLE_TOP_Z", "CameraModel", "JointReading", "SimWorld"]

_FINGER_FRICTION = 1.6
_FINGER_FORCE_N = 30.0
_FINGER_SPEED = 0.12
_MARGIN = 0.005  # commands stay this far inside the joint limits (rad or m)


@dataclass(frozen=True)
class JointReading:
    """Positions, velocities and efforts of some joints, in the order asked for."""

    position: npt.NDArray[np.float64]
    velocity: npt.NDArray[np.float64]
    effort: npt.NDArray[np.float64]


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera fixed to a link: what to render and its calibration.

    ``mount`` is the optical frame (z forward, x right, y down) in the link's frame.
    """

    name: str
    width: int
    height: int
    fov_deg: float  # vertical
    link: str
    mount: Pose
    near: float = 0.01
    far: float = 4.0

    @property
    def focal_px(self) -> float:
        return self.height / (2.0 * math.tan(math.radians(self.fov_deg) / 2.0))

    @property
    def camera_matrix(self) -> tuple[float, ...]:
        """``K`` row-major; the principal point is the image centre (pixel centres at integers)."""
        f = self.focal_px
        return (f, 0.0, (self.width - 1) / 2.0, 0.0, f, (self.height - 1) / 2.0, 0.0, 0.0, 1.0)


class SimWorld:
    """A PyBullet world holding one robot standing at a table.

    >>> from sim_envs import KuavoHumanoid
    >>> world = SimWorld(KuavoHumanoid, physics_hz=200)
    >>> world.step()
    >>> world.time_ns, round(world.closure(KuavoHumanoid.arm("left")), 2)
    (5000000, 0.0)
    >>> world.close()
    """

    def __init__(
        self,
        robot: type[SimRobot],
        *,
        physics_hz: float,
        renderer: str = "tiny",
        locked: Mapping[str, float] | None = None,
    ) -> None:
        self.robot = robot
        # Joints held still for the whole episode are fixed joints in the simulated copy.
        self.locked = dict(locked or {})
        self.client = connect()
        self.step_ns = round(1e9 / physics_hz)
        self.time_ns = 0
        c = self.client
        pb.setGravity(0.0, 0.0, -9.81, physicsClientId=c)
        pb.setTimeStep(self.step_ns / 1e9, physicsClientId=c)
        # 15 solver iterations hold a two-finger friction grasp (tested over 40 seeds per task and
        # robot) at two thirds of the cost of 30.
        pb.setPhysicsEngineParameter(
            numSolverIterations=15, deterministicOverlappingPairs=1, physicsClientId=c
        )
        self._renderer, self.renderer_name = _pick_renderer(renderer, c)
        build_room(c)
        self.joint_index: dict[str, int] = {}
        self.link_index: dict[str, int] = {robot.spec.base_link: -1}
        self.limits: dict[str, tuple[float, float]] = {}
        self.max_velocity: dict[str, float] = {}
        self.max_effort: dict[str, float] = {}
        self.body = self._load_robot()
        self.targets: dict[str, float] = {}
        self._closure: dict[str, float] = {}
        self._stand_ready()

    def _load_robot(self) -> int:
        """Load the robot on its fixed base and index its joints and links by name."""
        c, robot = self.client, self.robot
        with quiet():
            body = int(
                pb.loadURDF(
                    str(sim_urdf(robot, self.locked)),
                    robot.base_position(),
                    useFixedBase=True,
                    flags=pb.URDF_USE_INERTIA_FROM_FILE,
                    physicsClientId=c,
                )
            )
        for j in range(pb.getNumJoints(body, physicsClientId=c)):
            info = pb.getJointInfo(body, j, physicsClientId=c)
            name, link = info[1].decode(), info[12].decode()
            self.link_index[link] = j
            if info[2] != pb.JOINT_FIXED:
                self.joint_index[name] = j
                self.limits[name] = (float(info[8]), float(info[9]))
                self.max_effort[name] = float(info[10])
                self.max_velocity[name] = float(info[11])
        for arm in robot.arms:
            for finger in arm.fingers:
                pb.changeDynamics(
                    body,
                    self.joint_index[finger],
                    lateralFriction=_FINGER_FRICTION,
                    spinningFriction=0.002,
                    frictionAnchor=1,
                    physicsClientId=c,
                )
        return body

    def _stand_ready(self) -> None:
        """The robot in its resting posture, arms ready, grippers open, holding there."""
        c, robot = self.client, self.robot
        start = {n: q for n, q in robot.posture.items() if n not in self.locked}
        for arm in robot.arms:
            start.update(zip(arm.joints, arm.ready, strict=True))
        for name, q in start.items():
            pb.resetJointState(self.body, self.joint_index[name], q, physicsClientId=c)
        self.set_targets(start)
        for arm in robot.arms:
            for finger in arm.fingers:
                pb.resetJointState(
                    self.body, self.joint_index[finger], arm.finger_travel_m, physicsClientId=c
                )
            self.set_gripper(arm, 0.0)

    # ------------------------------------------------------------------ scene

    def add_box(
        self,
        size: Sequence[float],
        position: Sequence[float],
        color: Rgba,
        *,
        mass: float,
        yaw: float = 0.0,
        friction: float = 0.8,
    ) -> int:
        """A box body; ``mass=0`` makes it static."""
        return add_compound(
            self.client, [(size, (0.0, 0.0, 0.0))], position, color, mass=mass, yaw=yaw, friction=friction
        )

    def add_compound(
        self,
        boxes: Sequence[tuple[Sequence[float], Sequence[float]]],
        position: Sequence[float],
        color: Rgba,
        *,
        mass: float,
        yaw: float = 0.0,
        friction: float = 0.8,
        visual_only: bool = False,
    ) -> int:
        """One rigid body made of boxes ``(size, offset)``, e.g. a bin from a floor and four walls."""
        return add_compound(
            self.client,
            boxes,
            position,
            color,
            mass=mass,
            yaw=yaw,
            friction=friction,
            visual_only=visual_only,
        )

    # ------------------------------------------------------------------ control

    def set_targets(self, targets: Mapping[str, float]) -> None:
        """Position targets for joints, clipped inside their limits; velocity and effort as the URDF."""
        c = self.client
        names = list(targets)
        indices, values, forces, speeds = [], [], [], []
        for name in names:
            lo, hi = self.limits[name]
            q = min(max(float(targets[name]), lo + _MARGIN), hi - _MARGIN)
            self.targets[name] = q
            indices.append(self.joint_index[name])
            values.append(q)
            forces.append(self.max_effort[name])
            speeds.append(self.max_velocity[name])
        for i, q, f, v in zip(indices, values, forces, speeds, strict=True):
            pb.setJointMotorControl2(
                self.body,
                i,
                pb.POSITION_CONTROL,
                targetPosition=q,
                force=f,
                maxVelocity=v,
                positionGain=0.3,
                velocityGain=1.0,
                physicsClientId=c,
            )

    def set_gripper(self, arm: ArmSpec, closure: float) -> None:
        """Command a gripper's closure (0 open .. 1 closed); the fingers squeeze with a limited force."""
        closure = min(max(closure, 0.0), 1.0)
        self._closure[arm.side] = closure
        opening = (1.0 - closure) * arm.finger_travel_m
        for finger in arm.fingers:
            pb.setJointMotorControl2(
                self.body,
                self.joint_index[finger],
                pb.POSITION_CONTROL,
                targetPosition=opening,
                force=_FINGER_FORCE_N,
                maxVelocity=_FINGER_SPEED,
                positionGain=0.3,
                velocityGain=1.0,
                physicsClientId=self.client,
            )

    def commanded_closure(self, arm: ArmSpec) -> float:
        return self._closure[arm.side]

    def step(self) -> None:
        pb.stepSimulation(physicsClientId=self.client)
        self.time_ns += self.step_ns

    # ------------------------------------------------------------------ state

    def joints(self, names: Sequence[str]) -> JointReading:
        """Readings of ``names``; a locked joint reads its locked position, at rest, without effort."""
        moving = [n for n in names if n not in self.locked]
        states = pb.getJointStates(
            self.body, [self.joint_index[n] for n in moving], physicsClientId=self.client
        )
        by_name = dict(zip(moving, states, strict=True))
        position = np.empty(len(names))
        velocity = np.zeros(len(names))
        effort = np.zeros(len(names))
        for i, name in enumerate(names):
            state = by_name.get(name)
            if state is None:
                position[i] = self.locked[name]
            else:
                position[i], velocity[i], effort[i] = state[0], state[1], state[3]
        return JointReading(position, velocity, effort)

    def closure(self, arm: ArmSpec) -> float:
        """Measured closure: the mean finger opening against the full travel."""
        reading = self.joints(arm.fingers)
        return float(np.clip(1.0 - float(np.mean(reading.position)) / arm.finger_travel_m, 0.0, 1.0))

    def link_pose(self, link: str) -> Pose:
        index = self.link_index[link]
        if index >= 0:
            return self.link_pose_by_index(index)
        pos, orn = pb.getBasePositionAndOrientation(self.body, physicsClientId=self.client)
        return Pose(np.array(pos, dtype=np.float64), matrix_from_quat(orn))

    def joint_frame(self, joint: str) -> Pose:
        """Where a joint sits in the world (the frame of the link it moves)."""
        return self.link_pose_by_index(self.joint_index[joint])

    def link_pose_by_index(self, index: int) -> Pose:
        state = pb.getLinkState(self.body, index, computeForwardKinematics=True, physicsClientId=self.client)
        return Pose(np.array(state[4], dtype=np.float64), matrix_from_quat(state[5]))

    def body_pose(self, body: int) -> Pose:
        pos, orn = pb.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return Pose(np.array(pos, dtype=np.float64), matrix_from_quat(orn))

    def in_contact(self, body: int, arm: ArmSpec) -> bool:
        """Whether ``body`` touches either finger of ``arm``."""
        return any(
            pb.getContactPoints(self.body, body, self.joint_index[f], -1, physicsClientId=self.client)
            for f in arm.fingers
        )

    # ------------------------------------------------------------------ cameras

    def _view(self, camera: CameraModel) -> tuple[list[float], list[float]]:
        pose = self.link_pose(camera.link).compose(camera.mount)
        eye = pose.position
        forward, down = pose.rotation[:, 2], pose.rotation[:, 1]
        view = pb.computeViewMatrix(list(eye), list(eye + forward), list(-down), physicsClientId=self.client)
        projection = pb.computeProjectionMatrixFOV(
            camera.fov_deg, camera.width / camera.height, camera.near, camera.far, physicsClientId=self.client
        )
        return list(view), list(projection)

    def _capture(self, camera: CameraModel, *, renderer: int | None = None, **options: Any) -> Any:
        """PyBullet's camera image tuple (width, height, rgba, depth buffer, segmentation)."""
        view, projection = self._view(camera)
        return pb.getCameraImage(
            camera.width,
            camera.height,
            view,
            projection,
            renderer=self._renderer if renderer is None else renderer,
            physicsClientId=self.client,
            **options,
        )

    def render(self, camera: CameraModel) -> npt.NDArray[np.uint8]:
        """The camera's RGB frame, (height, width, 3) uint8, without sensor noise."""
        _, _, rgba, _, _ = self._capture(
            camera,
            flags=pb.ER_NO_SEGMENTATION_MASK,
            shadow=0,
            lightDirection=[0.4, 0.3, 1.0],
            lightAmbientCoeff=0.55,
            lightDiffuseCoeff=0.45,
            lightSpecularCoeff=0.05,
        )
        image = np.asarray(rgba, dtype=np.uint8).reshape(camera.height, camera.width, 4)
        return np.ascontiguousarray(image[:, :, :3])

    def render_depth(self, camera: CameraModel) -> npt.NDArray[np.float64]:
        """Metres along the optical axis for every pixel, ``camera.far`` where nothing is seen."""
        _, _, _, zbuffer, _ = self._capture(camera, flags=pb.ER_NO_SEGMENTATION_MASK)
        z = np.asarray(zbuffer, dtype=np.float64).reshape(camera.height, camera.width)
        near, far = camera.near, camera.far
        return np.asarray(far * near / (far - (far - near) * z), dtype=np.float64)

    def segmentation(self, camera: CameraModel) -> npt.NDArray[np.int32]:
        """Which body each pixel of the camera's frame shows (-1: nothing)."""
        _, _, _, _, seg = self._capture(camera, renderer=pb.ER_TINY_RENDERER)
        return np.asarray(seg, dtype=np.int32).reshape(camera.height, camera.width)

    def close(self) -> None:
        if self.client >= 0:
            pb.disconnect(physicsClientId=self.client)
            self.client = -1


def _pick_renderer(renderer: str, client: int) -> tuple[int, str]:
    """PyBullet's renderer for the ``sim.renderer`` setting, and its name: ``egl`` (GPU) or ``tiny``."""
    if renderer in ("egl", "auto") and egl_available(client):
        return pb.ER_BULLET_HARDWARE_OPENGL, "egl"
    if renderer == "egl":
        raise SimError("sim.renderer: 'egl' needs a GPU with EGL; none was found (use auto or tiny)")
    return pb.ER_TINY_RENDERER, "tiny"


def sim_urdf(robot: type[SimRobot], locked: Mapping[str, float]) -> Path:
    """A file with the robot's URDF for simulation, ``locked`` joints fixed (cached per process)."""
    text = robot.urdf(locked)
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"tg-sim-{robot.spec.name}-{digest}.urdf"
    if not path.exists():
        # Written beside and renamed: a parallel process never loads half a file.
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    return path
