"""The robot in 3D: the episode's URDF (or one given), posed by the recorded joint positions.

Rerun's URDF support logs the model (geometry and the joints' fixed transforms)
once; each joint then moves by a ``Transform3D`` between its parent and child
frames, computed by Rerun from the joint's value (``UrdfJoint.compute_transform_columns``),
one column per recorded joint position sample.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import numpy as np
import rerun as rr
from rerun.urdf import UrdfJoint, UrdfTree

from episodes import ArraySamples, ArrayStreamSpec, EpisodeReader, Role, StreamKind
from tg_view._errors import ViewError
from tg_view._streams import time_column

__all__ = ["ROBOT_ENTITY", "RobotView", "joint_entity", "log_robot"]

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
        # Unclamped: a recorded value past a limit is shown where it was, not where it should be.
        transforms = joints[joint].compute_transform_columns(values[:, column].tolist(), clamp=False)
        recording.send_columns(joint_entity(joint), indexes=index, columns=transforms)
