"""What a writer is told before recording: the streams, the robot, the labels."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union

from episodes._errors import StreamSpecError

__all__ = [
    "REVIEW_STATES",
    "SOURCES",
    "ArrayStreamSpec",
    "CameraCalibration",
    "EpisodeInfo",
    "ImageEncoding",
    "ImageStreamSpec",
    "ImportOrigin",
    "JsonValue",
    "LabelChange",
    "ReviewState",
    "RobotInfo",
    "Role",
    "StreamKind",
    "StreamSpec",
]

JsonValue = Union[  # noqa: UP007 - a recursive alias needs Union on 3.10
    str, int, float, bool, None, Sequence["JsonValue"], Mapping[str, "JsonValue"]
]

REVIEW_STATES = ("pending", "approved", "rejected")
SOURCES = ("sim", "ros2", "bag", "synthetic", "import")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class StreamKind(str, Enum):
    """What physical quantity a stream holds; its unit follows from FORMAT.md."""

    JOINT_POSITION = "joint_position"  # rad (or m for prismatic joints)
    JOINT_VELOCITY = "joint_velocity"  # rad/s
    JOINT_EFFORT = "joint_effort"  # N·m, or A where only motor current is known
    GRIPPER = "gripper"  # closure, 0 fully open .. 1 fully closed
    IMU = "imu"  # quat x y z w, gyro rad/s, acc m/s²
    POSE = "pose"  # x y z m, quat x y z w
    WRENCH = "wrench"  # force N, torque N·m
    GENERIC = "generic"  # anything else; units per dimension in the spec
    CAMERA = "camera"  # RGB or mono 8-bit frames
    DEPTH = "depth"  # 16-bit depth frames, integer millimetres


IMAGE_KINDS = frozenset({StreamKind.CAMERA, StreamKind.DEPTH})


class Role(str, Enum):
    """Whether a stream is something the robot sensed or something it was told to do."""

    OBSERVATION = "observation"
    ACTION = "action"


class ImageEncoding(str, Enum):
    JPEG = "jpeg"
    PNG = "png"


def _check_name(name: str, what: str) -> None:
    if not _NAME_RE.match(name):
        raise StreamSpecError(
            f"{what} name {name!r} must match [a-z][a-z0-9_]* (it becomes an HDF5 group name)"
        )


def _check_rate(name: str, rate_hz: float | None) -> None:
    if rate_hz is not None and not (math.isfinite(rate_hz) and rate_hz > 0):
        raise StreamSpecError(f"stream {name!r}: rate_hz must be a positive number, got {rate_hz}")


@dataclass(frozen=True)
class ArrayStreamSpec:
    """A low-dimensional stream: one fixed-length numeric vector per sample.

    ``names`` gives one label per dimension (joint names, ``qx``...); ``units``
    either one unit per dimension or a single unit for all of them (it is then
    repeated, so ``units`` always ends up with one entry per dimension).
    """

    name: str
    kind: StreamKind
    names: tuple[str, ...]
    units: tuple[str, ...]
    role: Role = Role.OBSERVATION
    dtype: str = "float64"
    rate_hz: float | None = None
    required: bool = True
    topic: str = ""
    msg_type: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name, "stream")
        _check_rate(self.name, self.rate_hz)
        if self.kind in IMAGE_KINDS:
            raise StreamSpecError(
                f"stream {self.name!r}: kind {self.kind.value!r} is an image kind; "
                "declare it with ImageStreamSpec"
            )
        if not self.names:
            raise StreamSpecError(f"stream {self.name!r}: names must list at least one dimension")
        if len(set(self.names)) != len(self.names):
            raise StreamSpecError(f"stream {self.name!r}: names repeat: {list(self.names)}")
        if len(self.units) not in (1, len(self.names)):
            raise StreamSpecError(
                f"stream {self.name!r}: units must be one unit or one per dimension "
                f"({len(self.names)}), got {len(self.units)}"
            )
        if len(self.units) == 1:
            object.__setattr__(self, "units", self.units * len(self.names))
        if self.dtype not in ("float64", "float32", "int64", "int32", "uint8", "bool"):
            raise StreamSpecError(
                f"stream {self.name!r}: dtype {self.dtype!r} is not one of "
                "float64, float32, int64, int32, uint8, bool"
            )

    @property
    def dim(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class ImageStreamSpec:
    """A camera stream: encoded frames of a fixed size.

    ``channels`` is 3 for RGB (always stored in RGB order) or 1 for mono and
    depth. Depth (``kind=DEPTH``) is 16-bit and always PNG: lossy JPEG would
    invent distances.
    """

    name: str
    width: int
    height: int
    kind: StreamKind = StreamKind.CAMERA
    channels: int = 3
    encoding: ImageEncoding = ImageEncoding.JPEG
    quality: int = 90
    role: Role = Role.OBSERVATION
    rate_hz: float | None = None
    required: bool = True
    topic: str = ""
    msg_type: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name, "stream")
        _check_rate(self.name, self.rate_hz)
        if self.kind not in IMAGE_KINDS:
            raise StreamSpecError(
                f"stream {self.name!r}: kind {self.kind.value!r} is not an image kind "
                "(camera or depth); declare it with ArrayStreamSpec"
            )
        if self.width <= 0 or self.height <= 0:
            raise StreamSpecError(
                f"stream {self.name!r}: width and height must be positive, got {self.width}x{self.height}"
            )
        if self.kind is StreamKind.DEPTH:
            if self.channels != 1 or self.encoding is not ImageEncoding.PNG:
                raise StreamSpecError(
                    f"stream {self.name!r}: depth streams are 1-channel 16-bit PNG, "
                    f"got channels={self.channels} encoding={self.encoding.value}"
                )
        elif self.channels not in (1, 3):
            raise StreamSpecError(
                f"stream {self.name!r}: channels must be 1 (mono) or 3 (RGB), got {self.channels}"
            )
        if not 1 <= self.quality <= 100:
            raise StreamSpecError(
                f"stream {self.name!r}: JPEG quality must be within 1..100, got {self.quality}"
            )

    @property
    def dtype(self) -> str:
        return "uint16" if self.kind is StreamKind.DEPTH else "uint8"

    @property
    def frame_shape(self) -> tuple[int, ...]:
        if self.channels == 1:
            return (self.height, self.width)
        return (self.height, self.width, self.channels)


StreamSpec = Union[ArrayStreamSpec, ImageStreamSpec]  # noqa: UP007 - runtime alias, 3.10


@dataclass(frozen=True)
class RobotInfo:
    """The embodiment an episode was recorded on."""

    profile: str
    model: str = ""
    joint_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class CameraCalibration:
    """Intrinsics (pinhole ``K`` row-major, distortion as in ROS CameraInfo) and mount.

    ``mount_pose`` is ``x, y, z, qx, qy, qz, qw`` of the optical frame in
    ``mount_parent`` (a link of the robot description), metres.
    """

    width: int
    height: int
    camera_matrix: tuple[float, ...]
    distortion_model: str = "plumb_bob"
    distortion: tuple[float, ...] = ()
    mount_parent: str = ""
    mount_pose: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.camera_matrix) != 9:
            raise StreamSpecError(
                f"camera_matrix must hold 9 values (3x3 row-major), got {len(self.camera_matrix)}"
            )
        if self.mount_pose and len(self.mount_pose) != 7:
            raise StreamSpecError(
                f"mount_pose must hold 7 values (x y z qx qy qz qw), got {len(self.mount_pose)}"
            )

    def to_json(self) -> dict[str, JsonValue]:
        """The form stored in a camera stream's ``calibration_json`` attribute."""
        return {
            "width": self.width,
            "height": self.height,
            "camera_matrix": list(self.camera_matrix),
            "distortion_model": self.distortion_model,
            "distortion": list(self.distortion),
            "mount_parent": self.mount_parent,
            "mount_pose": list(self.mount_pose),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> CameraCalibration:
        return cls(
            width=int(value["width"]),
            height=int(value["height"]),
            camera_matrix=tuple(float(v) for v in value["camera_matrix"]),
            distortion_model=str(value["distortion_model"]),
            distortion=tuple(float(v) for v in value["distortion"]),
            mount_parent=str(value["mount_parent"]),
            mount_pose=tuple(float(v) for v in value["mount_pose"]),
        )


@dataclass(frozen=True)
class EpisodeInfo:
    """Labels known when recording starts. ``success`` and ``notes`` may be given at stop."""

    robot: RobotInfo
    source: str
    dataset: str = ""
    task: str = ""
    instruction: str = ""
    operator: str = ""
    station: str = ""
    notes: str = ""
    extra: Mapping[str, JsonValue] = field(default_factory=dict)
    origin: ImportOrigin | None = None
    """Where an imported episode came from (``source="import"``); None for our own recordings."""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise StreamSpecError(f"source must be one of {', '.join(SOURCES)}; got {self.source!r}")


@dataclass(frozen=True)
class ReviewState:
    """A reviewer's verdict on an episode (root attribute ``review_json``, datasets/FORMAT.md).

    ``state`` is one of :data:`REVIEW_STATES`; ``reason`` a short code (``"bad_grasp"``),
    ``note`` free text, ``at_ns`` Unix time in ns.

    >>> ReviewState.from_json(ReviewState("approved", reviewer="bo", at_ns=5).to_json()).state
    'approved'
    """

    state: str
    reason: str = ""
    note: str = ""
    reviewer: str = ""
    at_ns: int = 0

    def __post_init__(self) -> None:
        if self.state not in REVIEW_STATES:
            raise StreamSpecError(
                f"review state must be one of {', '.join(REVIEW_STATES)}; got {self.state!r}"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "note": self.note,
            "reviewer": self.reviewer,
            "at_ns": self.at_ns,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReviewState:
        at_ns = data.get("at_ns", 0)
        if isinstance(at_ns, bool) or not isinstance(at_ns, int):
            raise StreamSpecError(f"review at_ns must be an integer (ns), got {at_ns!r}")
        texts = {k: data.get(k, "") for k in ("reason", "note", "reviewer")}
        if not all(isinstance(v, str) for v in texts.values()):
            raise StreamSpecError(f"review reason, note and reviewer must be text, got {texts!r}")
        return cls(str(data.get("state", "")), at_ns=at_ns, **texts)


@dataclass(frozen=True)
class LabelChange:
    """One relabelling of a finished episode (root attribute ``label_history_json``, datasets/FORMAT.md).

    ``changes`` maps each label that changed (``task``, ``instruction``, ``success``, ``task_id``,
    ``notes``) to its ``(before, after)`` text as stored; ``by`` says who, ``reason`` why,
    ``at_ns`` when (Unix ns).

    >>> c = LabelChange({"success": ("unknown", "false")}, by="bo", reason="dropped it", at_ns=5)
    >>> LabelChange.from_json(c.to_json()) == c
    True
    """

    changes: Mapping[str, tuple[str, str]]
    by: str = ""
    reason: str = ""
    at_ns: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": {name: list(pair) for name, pair in sorted(self.changes.items())},
            "by": self.by,
            "reason": self.reason,
            "at_ns": self.at_ns,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelChange:
        at_ns = data.get("at_ns", 0)
        if isinstance(at_ns, bool) or not isinstance(at_ns, int):
            raise StreamSpecError(f"label change at_ns must be an integer (ns), got {at_ns!r}")
        changes = data.get("changes", {})
        if not isinstance(changes, Mapping) or not all(
            isinstance(v, list | tuple) and len(v) == 2 and all(isinstance(x, str) for x in v)
            for v in changes.values()
        ):
            raise StreamSpecError(f"label changes must map a label to [before, after] texts, got {changes!r}")
        return cls(
            {str(k): (v[0], v[1]) for k, v in changes.items()},
            by=str(data.get("by", "")),
            reason=str(data.get("reason", "")),
            at_ns=at_ns,
        )


@dataclass(frozen=True)
class ImportOrigin:
    """Where an imported episode came from (root attribute ``import_json``, datasets/FORMAT.md).

    ``format``: ``aloha`` or ``lerobot``; ``source``: the file or dataset directory read;
    ``source_episode``: the episode within it ("" for one file per episode);
    ``timestamps``: ``reconstructed`` when every stamp is ``k / rate_hz`` from a frame rate
    (the source has none), ``recorded`` when the source's own timestamps were kept;
    ``not_reconstructed``: what the source cannot give back (arrival times, ...).

    >>> o = ImportOrigin("aloha", "episode_0.hdf5", rate_hz=50.0, not_reconstructed=("arrival times",))
    >>> ImportOrigin.from_json(o.to_json()) == o
    True
    """

    format: str
    source: str
    source_episode: str = ""
    timestamps: str = "reconstructed"
    rate_hz: float = 0.0
    not_reconstructed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "source_episode": self.source_episode,
            "timestamps": self.timestamps,
            "rate_hz": self.rate_hz,
            "not_reconstructed": list(self.not_reconstructed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportOrigin:
        try:
            return cls(
                str(data["format"]),
                str(data["source"]),
                str(data.get("source_episode", "")),
                str(data.get("timestamps", "reconstructed")),
                float(data.get("rate_hz", 0.0)),
                tuple(str(v) for v in data.get("not_reconstructed", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StreamSpecError(f"import origin needs format and source: {exc}") from exc
