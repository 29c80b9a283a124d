"""The robot in 3D: the episode's URDF (or one given), posed by the recorded joint positions.

Rerun's URDF support logs the model (geometry and the joints' fixed transforms)
once; each joint then moves by a ``Transform3D`` between its parent and child
frames, one row per recorded joint position sample. The rows are what Rerun's
``UrdfJoint.compute_transform_columns`` gives (the tests compare the two), computed
here with numpy: Rerun's goes through Python lists and costs ten times as much,
most of the time of a whole episode's ``tg view --save``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import numpy as np
import numpy.typing as npt
import rerun as rr
from rerun.urdf import UrdfJoint, UrdfTree

from episodes import ArraySamples, ArrayStreamSpec, EpisodeReader, Role, StreamKind
from tg_view._errors import ViewError
from tg_view._streams import time_column

__all__ = ["ROBOT_ENTITY", "RobotView", "joint_entity", "joint_transform_columns", "log_robot"]

FloatArray = npt.NDArray[np.float64]

ROBOT_ENTITY = "robot"
_BLOCK_ROWS = 4096


@dataclass(frozen=True)
class RobotView:
    """What of the robot went into the recording: the URDF's source, the joints posed, why not."""

    urdf: str  # "episode", the --urdf file, or "" when there is none
    name: str  # the URDF's robot name: its model is under robot/<name>
    posed_joints: tuple[str, ...]
    note: str = ""


def joint_entity(joint: str) -> str:
    return f"{ROBOT_ENTITY}/joint_transforms/{joint}"


def log_robot(reader: EpisodeReader, recording: rr.RecordingStream, urdf_file: Path | None) -> RobotView:
    """Log the robot model and pose it; without any URDF the robot is left out with a note."""
    text, source = _urdf_text(reader, urdf_file)
    if not text.strip():
        return RobotView(
            "",
            "",
            (),
            f"{reader.path}: the episode stores no URDF; the robot is left out (give one with --urdf FILE)",
        )
    tree = _load_tree(text, source)
    tree.log_urdf_to_recording(recording)
    return RobotView(source, tree.name, _pose(reader, recording, tree))


def _urdf_text(reader: EpisodeReader, urdf_file: Path | None) -> tuple[str, str]:
    if urdf_file is None:
        return reader.urdf, "episode"
    try:
        return urdf_file.read_text(encoding="utf-8"), str(urdf_file)
    except OSError as exc:
        raise ViewError(f"{urdf_file}: cannot read the URDF ({exc.strerror or exc}); check --urdf") from None


def _load_tree(text: str, source: str) -> UrdfTree:
    """Rerun parses URDF from a file: the text goes through a temporary one."""
    with tempfile.TemporaryDirectory(prefix="tg-view-") as folder:
        path = Path(folder) / "robot.urdf"
        path.write_text(text, encoding="utf-8")
        try:
            return UrdfTree.from_file_path(path, entity_path_prefix=ROBOT_ENTITY)
        except (ValueError, RuntimeError, OSError) as exc:
            where = "the episode's URDF" if source == "episode" else source
            raise ViewError(f"{where}: not a URDF Rerun can read ({exc})") from None


def _pose(reader: EpisodeReader, recording: rr.RecordingStream, tree: UrdfTree) -> tuple[str, ...]:
    """Every moving URDF joint that a recorded joint_position stream has, moved sample by sample."""
    movable = {j.name: j for j in tree.joints() if j.joint_type != "fixed"}
    origin = reader.origin_ns()
    posed: list[str] = []
    for name in reader.stream_names:
        spec = reader.spec(name)
        if not _is_state(spec):
            continue
        columns = {j: i for i, j in enumerate(spec.names) if j in movable and j not in posed}
        for block in reader.iter_samples(name, max_rows=_BLOCK_ROWS):
            if isinstance(block, ArraySamples):
                _send_joints(recording, block, columns, movable, origin)
        posed += columns
    return tuple(posed)


def _is_state(spec: object) -> TypeGuard[ArrayStreamSpec]:
    return (
        isinstance(spec, ArrayStreamSpec)
        and spec.kind is StreamKind.JOINT_POSITION
        and spec.role is Role.OBSERVATION
    )


def _send_joints(
    recording: rr.RecordingStream,
    block: ArraySamples,
    columns: dict[str, int],
    joints: dict[str, UrdfJoint],
    origin: int,
) -> None:
    index = [time_column(block.stamp_ns, origin)]
    values = np.asarray(block.data, dtype=np.float64)
    for joint, column in columns.items():
        transforms = joint_transform_columns(joints[joint], values[:, column])
        recording.send_columns(joint_entity(joint), indexes=index, columns=transforms)


def joint_transform_columns(joint: UrdfJoint, values: FloatArray) -> rr.ComponentColumnList:
    """The joint's child frame in its parent frame at each value (rad, or m for a prismatic joint).

    URDF: translate by the origin, rotate by its roll-pitch-yaw, then move along
    or about the axis. Values are not clamped to the limits: a recorded value past
    a limit is shown where it was.
    """
    n = values.shape[0]
    origin = _quat_from_rpy(*joint.origin_rpy)
    axis = np.asarray(joint.axis, dtype=np.float64)
    axis = axis / (np.linalg.norm(axis) or 1.0)
    translation = np.tile(np.asarray(joint.origin_xyz, dtype=np.float64), (n, 1))
    if joint.joint_type == "prismatic":
        translation += np.outer(values, _rotate(origin, axis))
        quaternion = np.tile(origin, (n, 1))
    else:  # revolute, continuous
        motion = np.column_stack([np.outer(np.sin(values / 2), axis), np.cos(values / 2)])
        quaternion = _quat_multiply(origin, motion)
    return rr.Transform3D.columns(
        translation=translation.astype(np.float32),
        quaternion=quaternion.astype(np.float32),
        parent_frame=[joint.parent_link] * n,
        child_frame=[joint.child_link] * n,
    )


def _quat_from_rpy(roll: float, pitch: float, yaw: float) -> FloatArray:
    """``x, y, z, w`` of the fixed-axis rotation Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr = np.cos(roll / 2), np.sin(roll / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    return np.array(
        [
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy,
        ]
    )


def _quat_multiply(a: FloatArray, b: FloatArray) -> FloatArray:
    """Hamilton products ``a * b[i]`` (``x, y, z, w``) of one quaternion and rows of them."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    return np.column_stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def _rotate(q: FloatArray, v: FloatArray) -> FloatArray:
    """``v`` rotated by the unit quaternion ``q``."""
    u, w = q[:3], q[3]
    return np.asarray(v + 2 * w * np.cross(u, v) + 2 * np.cross(u, np.cross(u, v)), dtype=np.float64)
