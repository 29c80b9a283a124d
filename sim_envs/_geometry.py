"""Rigid-body poses: positions in metres, quaternions ``x y z w`` (the episode format's order)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Pose",
    "axis_angle",
    "matrix_from_quat",
    "quat_from_matrix",
    "rot_x",
    "rot_y",
    "rot_z",
    "rotation_error",
]

Mat3 = npt.NDArray[np.float64]


def rot_x(angle: float) -> Mat3:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle: float) -> Mat3:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle: float) -> Mat3:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def matrix_from_quat(q: npt.ArrayLike) -> Mat3:
    x, y, z, w = (float(v) for v in np.asarray(q, dtype=np.float64))
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def quat_from_matrix(m: Mat3) -> npt.NDArray[np.float64]:
    """``x y z w`` of a rotation matrix, with ``w >= 0``.

    >>> quat_from_matrix(rot_z(math.pi / 2)).round(4).tolist()
    [0.0, 0.0, 0.7071, 0.7071]
    """
    trace = float(m[0, 0] + m[1, 1] + m[2, 2])
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    out = np.array(q, dtype=np.float64)
    out /= np.linalg.norm(out)
    return -out if out[3] < 0 else out


def rotation_error(target: Mat3, current: Mat3) -> npt.NDArray[np.float64]:
    """The rotation vector (axis times angle, world frame) that turns ``current`` into ``target``."""
    r = target @ current.T
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    norm = float(np.linalg.norm(axis))
    # atan2 keeps small angles exact, where acos of the trace would round them to zero.
    angle = math.atan2(0.5 * norm, (float(np.trace(r)) - 1.0) / 2.0)
    if norm < 1e-9:
        if angle < 1e-6:
            return np.zeros(3)
        # A half turn: the axis is the eigenvector of eigenvalue 1.
        values, vectors = np.linalg.eigh((r + r.T) / 2)
        return np.asarray(vectors[:, int(np.argmax(values))] * angle, dtype=np.float64)
    return np.asarray(axis / norm * angle, dtype=np.float64)


def axis_angle(vector: npt.NDArray[np.float64]) -> Mat3:
    """The rotation matrix of a rotation vector (Rodrigues' formula)."""
    angle = float(np.linalg.norm(vector))
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = vector / angle
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.asarray(np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k), dtype=np.float64)


@dataclass(frozen=True)
class Pose:
    """A position and an orientation (rotation matrix) in the world."""

    position: npt.NDArray[np.float64]
    rotation: Mat3

    @property
    def quat(self) -> npt.NDArray[np.float64]:
        return quat_from_matrix(self.rotation)

    def translated(self, offset: npt.ArrayLike) -> Pose:
        return Pose(self.position + np.asarray(offset, dtype=np.float64), self.rotation)

    def compose(self, local: Pose) -> Pose:
        """``local`` (a pose in this pose's frame) in the world."""
        return Pose(self.position + self.rotation @ local.position, self.rotation @ local.rotation)

    def interpolate(self, other: Pose, fraction: float) -> Pose:
        """The pose ``fraction`` of the way to ``other``: straight line, shortest rotation."""
        turn = rotation_error(other.rotation, self.rotation) * fraction
        return Pose(
            self.position * (1.0 - fraction) + other.position * fraction,
            axis_angle(turn) @ self.rotation,
        )

    def distance(self, other: Pose) -> tuple[float, float]:
        """Distance in metres and angle in radians between two poses."""
        dp = float(np.linalg.norm(self.position - other.position))
        return dp, float(np.linalg.norm(rotation_error(other.rotation, self.rotation)))
