"""Inverse kinematics for one arm, on a private kinematic copy of the robot.

The solver runs in its own PyBullet client holding only the robot, so solving
never disturbs the simulation and depends only on its inputs (the seed
posture and the target), which keeps episodes reproducible. It is damped least
squares on the arm's seven joints, with joint limits enforced on every
iteration and a gentle pull towards the arm's resting posture in the null space.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sim_envs._errors import UnreachableError
from sim_envs._geometry import Pose, matrix_from_quat, rotation_error
from sim_envs._pybullet import connect, pb, quiet
from sim_envs._robots import ArmSpec, SimRobot

__all__ = ["ArmIK"]

_POSITION_TOL_M = 0.004
_ANGLE_TOL_RAD = 0.08
_DAMPING = 0.05
_ORIENTATION_WEIGHT = 0.35  # metres per radian: a 1 cm miss matters like a 1.6° twist
_MAX_STEP_RAD = 0.25
_MARGIN = 0.02
_PATIENCE = 15  # iterations without progress before a solve gives up


class ArmIK:
    """Solve for the seven joints of each arm of ``robot`` that put its tool frame at a pose.

    >>> from sim_envs import KuavoHumanoid
    >>> ik = ArmIK(KuavoHumanoid)
    >>> arm = KuavoHumanoid.arm("left")
    >>> target = ik.forward(arm, arm.ready).translated((-0.05, -0.05, -0.1))
    >>> q = ik.solve(arm, target, seed=arm.ready)
    >>> ik.forward(arm, q).distance(target)[0] < 0.004
    True
    >>> ik.close()
    """

    def __init__(self, robot: type[SimRobot]) -> None:
        self.robot = robot
        self.client = connect()
        with quiet():
            self.body = int(
                pb.loadURDF(
                    str(robot.urdf_path()),
                    robot.base_position(),
                    useFixedBase=True,
                    physicsClientId=self.client,
                )
            )
        self._dof: list[int] = []
        self._index: dict[str, int] = {}
        self._link: dict[str, int] = {}
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        for j in range(pb.getNumJoints(self.body, physicsClientId=self.client)):
            info = pb.getJointInfo(self.body, j, physicsClientId=self.client)
            self._link[info[12].decode()] = j
            if info[2] != pb.JOINT_FIXED:
                name = info[1].decode()
                self._index[name] = len(self._dof)
                self._dof.append(j)
                lower[name], upper[name] = float(info[8]), float(info[9])
        self._lower = lower
        self._upper = upper

    def limits(self, arm: ArmSpec) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        lo = np.array([self._lower[n] + _MARGIN for n in arm.joints])
        hi = np.array([self._upper[n] - _MARGIN for n in arm.joints])
        return lo, hi

    def _set(self, arm: ArmSpec, q: npt.NDArray[np.float64]) -> None:
        for name, value in zip(arm.joints, q, strict=True):
            pb.resetJointState(
                self.body, self._dof[self._index[name]], float(value), physicsClientId=self.client
            )

    def forward(self, arm: ArmSpec, q: Sequence[float] | npt.NDArray[np.float64]) -> Pose:
        """The tool frame's pose with the arm's joints at ``q``."""
        self._set(arm, np.asarray(q, dtype=np.float64))
        state = pb.getLinkState(
            self.body, self._link[arm.tcp_link], computeForwardKinematics=True, physicsClientId=self.client
        )
        return Pose(np.array(state[4], dtype=np.float64), matrix_from_quat(state[5]))

    def solve(
        self,
        arm: ArmSpec,
        target: Pose,
        seed: Sequence[float] | npt.NDArray[np.float64],
        *,
        max_iterations: int = 150,
    ) -> npt.NDArray[np.float64]:
        """Joint positions reaching ``target``; :class:`UnreachableError` when none is found.

        A solve that stalls from ``seed`` is tried again from the resting posture.
        """
        best = self._descend(arm, target, np.asarray(seed, dtype=np.float64), max_iterations)
        if isinstance(best, tuple) and not np.allclose(seed, arm.ready):
            best = self._descend(arm, target, np.asarray(arm.ready, dtype=np.float64), max_iterations)
        if not isinstance(best, tuple):
            return best
        pose = self.forward(arm, best[1])
        pos_err, ang_err = pose.distance(target)
        raise UnreachableError(
            f"{arm.side} arm of {self.robot.name!r} cannot reach position "
            f"{np.round(target.position, 3).tolist()} m: best posture is {pos_err * 100:.1f} cm "
            f"and {np.degrees(ang_err):.0f}° away"
        )

    def _descend(
        self, arm: ArmSpec, target: Pose, seed: npt.NDArray[np.float64], max_iterations: int
    ) -> npt.NDArray[np.float64] | tuple[float, npt.NDArray[np.float64]]:
        """The solution, or ``(score, posture)`` of the best miss."""
        lo, hi = self.limits(arm)
        rest = np.clip(np.asarray(arm.ready, dtype=np.float64), lo, hi)
        columns = [self._index[n] for n in arm.joints]
        q = np.clip(np.asarray(seed, dtype=np.float64), lo, hi)
        all_q = [0.0] * len(self._dof)
        best = (np.inf, q.copy())
        since_best = 0
        for _ in range(max_iterations):
            pose = self.forward(arm, q)
            dp = target.position - pose.position
            dr = rotation_error(target.rotation, pose.rotation)
            pos_err, ang_err = float(np.linalg.norm(dp)), float(np.linalg.norm(dr))
            score = pos_err + _ORIENTATION_WEIGHT * ang_err
            if pos_err < _POSITION_TOL_M and ang_err < _ANGLE_TOL_RAD:
                return q
            if score < best[0] - 1e-4:
                best, since_best = (score, q.copy()), 0
            else:
                since_best += 1
                if since_best > _PATIENCE:
                    break
            for k, col in enumerate(columns):
                all_q[col] = float(q[k])
            lin, ang = pb.calculateJacobian(
                self.body,
                self._link[arm.tcp_link],
                [0.0, 0.0, 0.0],
                all_q,
                [0.0] * len(all_q),
                [0.0] * len(all_q),
                physicsClientId=self.client,
            )
            jac = np.vstack([np.asarray(lin)[:, columns], _ORIENTATION_WEIGHT * np.asarray(ang)[:, columns]])
            err = np.concatenate([dp, _ORIENTATION_WEIGHT * dr])
            jjt = jac @ jac.T + (_DAMPING**2) * np.eye(6)
            dq = jac.T @ np.linalg.solve(jjt, err)
            # Null space: drift towards the resting posture without disturbing the tool.
            pinv = jac.T @ np.linalg.inv(jjt)
            dq += (np.eye(7) - pinv @ jac) @ (0.1 * (rest - q))
            step = float(np.max(np.abs(dq)))
            if step > _MAX_STEP_RAD:
                dq *= _MAX_STEP_RAD / step
            q = np.clip(q + dq, lo, hi)
        return best

    def close(self) -> None:
        if self.client >= 0:
            pb.disconnect(physicsClientId=self.client)
            self.client = -1
