"""Small episodes with values that say where they came from, for the training loader tests.

State sample ``k`` holds ``k + column / 10``, action sample ``k`` holds
``1000 + k + column / 10``; camera frame ``k`` is ``textured_frame(k)`` stored
as lossless PNG, so a loaded window can be checked against the raw data exactly.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

import episodes
from episodes import ArrayStreamSpec, EpisodeInfo, ImageEncoding, ImageStreamSpec, RobotInfo, Role, StreamKind
from tests.episodes.conftest import textured_frame

JOINTS = ("shoulder", "elbow", "wrist")
RATE_HZ = 10
SIZE = (24, 32)  # height, width
# Each episode made here is a new recording: the same samples under another id would be a
# duplicate by content digest, which the loader skips.
_RECORDING = itertools.count()


def specs(*, robot_streams: bool = True) -> list[episodes.StreamSpec]:
    out: list[episodes.StreamSpec] = [
        ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, JOINTS, ("rad",), rate_hz=2 * RATE_HZ),
        ArrayStreamSpec("gripper_state", StreamKind.GRIPPER, ("left",), ("closure",), rate_hz=RATE_HZ),
        ArrayStreamSpec(
            "action_arm", StreamKind.JOINT_POSITION, JOINTS, ("rad",), role=Role.ACTION, rate_hz=RATE_HZ
        ),
        ArrayStreamSpec(
            "action_gripper", StreamKind.GRIPPER, ("left",), ("closure",), role=Role.ACTION, rate_hz=RATE_HZ
        ),
        ImageStreamSpec("head", width=SIZE[1], height=SIZE[0], rate_hz=RATE_HZ, encoding=ImageEncoding.PNG),
        ImageStreamSpec("wrist", width=SIZE[1] // 2, height=SIZE[0] // 2, rate_hz=RATE_HZ),
    ]
    return out if robot_streams else out[:1] + out[2:]


def make_episode(
    directory: Path,
    *,
    frames: int = 20,
    robot: str = "test_arm",
    task: str = "pick_place",
    instruction: str = "put the cube in the bin",
    operator: str = "alice",
    success: bool | None = True,
    streams: Sequence[episodes.StreamSpec] | None = None,
    late: Mapping[str, int] | None = None,
    qa: bool | None = True,
) -> Path:
    """An episode of ``frames`` aligned ticks at 10 Hz (the state stream runs at 20 Hz).

    ``late`` names streams that miss their first samples (and are then not required,
    so the aligned view starts without them). ``qa`` is the stored quality-gate result,
    as ``tg validate --write`` leaves it (the loaders use only passed episodes by
    default); None: never validated.
    """
    chosen = list(streams) if streams is not None else specs()
    info = EpisodeInfo(
        robot=RobotInfo(robot, joint_names=JOINTS),
        source="synthetic",
        task=task,
        instruction=instruction,
        operator=operator,
        extra={"recording": next(_RECORDING)},
    )
    events = []
    for i, spec in enumerate(chosen):
        rate = spec.rate_hz or RATE_HZ
        period = round(1e9 / rate)
        n = (frames - 1) * round(rate / RATE_HZ) + 1
        events += [(k * period, i, spec, k) for k in range((late or {}).get(spec.name, 0), n)]
    events.sort(key=lambda e: (e[0], e[1]))
    required = [s.name for s in chosen if s.name not in (late or {})]
    with episodes.EpisodeWriter(
        directory, streams=chosen, info=info, aligned_rate_hz=RATE_HZ, required=required
    ) as writer:
        for stamp, _, spec, k in events:
            if isinstance(spec, ImageStreamSpec):
                writer.append(spec.name, stamp, camera_frame(spec, k))
            else:
                base = 1000.0 if spec.role is Role.ACTION else 0.0
                writer.append(spec.name, stamp, base + k + np.arange(spec.dim) / 10)
        writer.set_labels(success=success)
    if qa is not None:
        mark_qa(writer.final_path, qa)
    return writer.final_path


def camera_frame(spec: ImageStreamSpec, k: int) -> np.ndarray:
    """Frame ``k`` of a camera: RGB, mono (its green channel) or depth (500 + 10 x red, in mm)."""
    rgb = textured_frame(k, spec.height, spec.width)
    if spec.kind is StreamKind.DEPTH:
        return 500 + 10 * rgb[:, :, 0].astype(np.uint16)
    return rgb[:, :, 1].copy() if spec.channels == 1 else rgb


def mark_qa(path: Path, passed: bool) -> None:
    """Store a quality-gate result as `tg validate --write` does (only the attribute loaders read)."""
    with h5py.File(path, "a") as f:
        g = f.require_group("annotations").require_group("qa")
        g.attrs["passed"] = passed


def mark_active(path: Path, first_tick: int, stop_tick: int) -> None:
    """Store an active range covering aligned ticks [first_tick, stop_tick) (as `tg annotate` would)."""
    with h5py.File(path, "a") as f:
        t = f["aligned/time_ns"][()]
        g = f.require_group("annotations").require_group("active_range")
        g.attrs["start_ns"] = np.int64(t[first_tick])
        g.attrs["stop_ns"] = np.int64(t[stop_tick - 1] + 1)
        g.attrs["motion_detected"] = True


def raw_rows(path: Path, stream: str) -> np.ndarray:
    """A stream's value at every aligned tick, read with plain h5py as datasets/FORMAT.md shows."""
    with h5py.File(path, "r") as f:
        index = f[f"aligned/streams/{stream}/index"][()]
        return f[f"streams/{stream}/data"][()][index]


def copy_dataset(source: Path, tmp_path: Path) -> Path:
    """A copy of a module's source dataset that a test may change."""
    copy = tmp_path / "dataset"
    shutil.copytree(source, copy)
    return copy
