"""Robot profile: what a robot has (joints, cameras, grippers) and what a recording takes from it.

One YAML file per robot. Shipped profiles live in ``tg_config/profiles/``;
``tg_config/PROFILES.md`` documents every field. The shape::

    name: my_arm                  # [a-z][a-z0-9_-]*; equals the file name (my_arm.yaml)
    model: Example Arm 7
    description: free text
    urdf: urdf/my_arm.urdf        # relative to this file; "" when there is none
    joints:                       # order matters: it is the order of every joint stream
      - {name: joint1, type: revolute, lower: -2.9, upper: 2.9, velocity: 2.2, effort: 87}
      - {name: finger, type: prismatic, lower: 0, upper: 0.04, velocity: 0.2, moves: true}
    cameras:
      - name: wrist               # [a-z][a-z0-9_]*; camera and stream names share one space
        width: 640
        height: 480
        rate_hz: 30
        kind: camera              # camera (8-bit RGB/mono) | depth (16-bit mm, PNG)
        encoding: jpeg            # jpeg | png; default jpeg for camera, png for depth
        quality: 90
        channels: 3               # 3 RGB | 1 mono; default 3 for camera, 1 for depth
        mount_parent: hand_link
        mount_pose: [0.05, 0, 0.02, 0, 0, 0, 1]   # x y z qx qy qz qw in mount_parent
        topic: /camera/color/image_raw/compressed
        msg_type: sensor_msgs/msg/CompressedImage
    grippers:                     # closure convention: 0 fully open .. 1 fully closed
      - {name: gripper, joints: [finger]}
    streams:
      - name: joint_position
        kind: joint_position      # joint_position | joint_velocity | joint_effort | gripper
                                  # | imu | pose | wrench | generic
        role: observation         # observation | action
        joints: [joint1, finger]  # joint_* kinds: declared joint names
        rate_hz: 500
        topic: /joint_states
        msg_type: sensor_msgs/msg/JointState
        field: position           # e.g. joint_data.joint_q[12:26], joint_data[3] (4th field),
                                  # status.pos (each element), or a list, concatenated
        name_field: name          # optional: match values by name (JointState) or id
        source_names: [j1, j2]    # optional: names in the message; default the joints
        units_by_field: {}        # optional: units by the name of the field read
        convert: none             # none | deg_to_rad | percent_to_closure | scale
        stamp: header             # header | arrival
      - name: gripper_state
        kind: gripper
        names: [gripper]          # other kinds: dimension names
        units: [closure]          # optional: defaults follow from kind and joint type
        field: position[7]
        convert: scale            # value * scale + offset
        scale: -25.0
        offset: 1.0
    master_stream: wrist          # default: first camera, else first stream
    aligned_rate_hz: 30
    msg_definitions:              # custom message type -> .msg text, for bag ingestion
      my_msgs/msg/Foo: |
        float64[] q
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, Field, PositiveInt, model_validator

from episodes._errors import StreamSpecError
from episodes._spec import (
    ArrayStreamSpec,
    ImageEncoding,
    ImageStreamSpec,
    RobotInfo,
    Role,
    StreamKind,
    StreamSpec,
)
from tg_config._base import (
    ConfigFile,
    ConfigModel,
    FieldExpr,
    FieldExprs,
    Finite,
    Ident,
    Loc,
    LocatedError,
    MsgType,
    NameOrId,
    PositiveFinite,
    StreamName,
    Topic,
    Unit,
    is_msg_type,
)
from tg_config._errors import ConfigError
from tg_config._qa_settings import QaSettings

__all__ = ["Camera", "Gripper", "Joint", "RobotProfile", "Stream"]

ArrayKind = Literal[
    "joint_position",
    "joint_velocity",
    "joint_effort",
    "gripper",
    "imu",
    "pose",
    "wrench",
    "generic",
]
JOINT_KINDS = frozenset({"joint_position", "joint_velocity", "joint_effort"})

_JOINT_UNITS: dict[str, dict[str, str]] = {
    "joint_position": {"revolute": "rad", "prismatic": "m"},
    "joint_velocity": {"revolute": "rad/s", "prismatic": "m/s"},
    "joint_effort": {"revolute": "N·m", "prismatic": "N"},
}
# Kinds whose dimensions are fixed by the episode format unless the profile says otherwise.
_STANDARD_DIMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "imu": (
        ("qx", "qy", "qz", "qw", "gx", "gy", "gz", "ax", "ay", "az"),
        ("1",) * 4 + ("rad/s",) * 3 + ("m/s^2",) * 3,
    ),
    "pose": (("x", "y", "z", "qx", "qy", "qz", "qw"), ("m",) * 3 + ("1",) * 4),
    "wrench": (("fx", "fy", "fz", "tx", "ty", "tz"), ("N",) * 3 + ("N·m",) * 3),
}

_PROFILE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")

_CONVERSIONS: dict[str, tuple[float, float]] = {
    "none": (1.0, 0.0),
    "deg_to_rad": (math.pi / 180.0, 0.0),
    "percent_to_closure": (0.01, 0.0),
}


def _profile_name(value: str) -> str:
    if not _PROFILE_NAME_RE.match(value):
        raise ValueError(f"profile name {value!r} must match [a-z][a-z0-9_-]*")
    return value


ProfileName = Annotated[str, AfterValidator(_profile_name)]


class Joint(ConfigModel):
    """One joint. Positions are rad (revolute) or m (prismatic)."""

    name: Ident
    type: Literal["revolute", "prismatic"] = "revolute"
    lower: Finite
    upper: Finite
    velocity: PositiveFinite = Field(description="maximum absolute velocity, rad/s or m/s")
    effort: PositiveFinite | None = Field(default=None, description="maximum N·m or N")
    # Locked legs of a humanoid standing at a table are declared with moves: false
    # so that checks for "did the robot move" look only at joints meant to move.
    moves: bool = True

    @model_validator(mode="after")
    def _check_range(self) -> Joint:
        if self.lower > self.upper:
            raise ValueError(
                f"joint {self.name!r}: lower ({self.lower}) is greater than upper ({self.upper})"
            )
        return self


class Camera(ConfigModel):
    """One camera; it becomes an image stream of the episode."""

    name: StreamName
    width: PositiveInt
    height: PositiveInt
    rate_hz: PositiveFinite
    kind: Literal["camera", "depth"] = "camera"
    encoding: Literal["jpeg", "png"] | None = None
    quality: int = Field(default=90, ge=1, le=100)
    channels: Literal[1, 3] | None = None
    mount_parent: str = ""
    mount_pose: tuple[Finite, Finite, Finite, Finite, Finite, Finite, Finite] | None = None
    topic: Topic = ""
    msg_type: MsgType = ""
    # Where the live recorder reads the intrinsics (sensor_msgs/CameraInfo); "" derives it from topic.
    info_topic: Topic = ""
    required: bool = True
    stamp: Literal["header", "arrival"] = "header"

    @property
    def camera_info_topic(self) -> str:
        """``info_topic``, else the image_transport convention: ``camera_info`` next to the image topic.

        >>> Camera(name="head", width=8, height=6, rate_hz=30,
        ...        topic="/cam_h/color/image_raw/compressed").camera_info_topic
        '/cam_h/color/camera_info'
        """
        if self.info_topic or not self.topic:
            return self.info_topic
        base = self.topic.rstrip("/")
        for transport in ("/compressed", "/compressedDepth"):
            base = base.removesuffix(transport)
        parent = base.rsplit("/", 1)[0]
        return f"{parent}/camera_info"

    @model_validator(mode="after")
    def _check(self) -> Camera:
        if self.mount_pose is not None and not self.mount_parent:
            raise ValueError(f"camera {self.name!r}: mount_pose needs mount_parent (a link)")
        try:
            self.stream_spec()
        except StreamSpecError as exc:
            raise ValueError(str(exc)) from None
        return self

    def stream_spec(self) -> ImageStreamSpec:
        depth = self.kind == "depth"
        return ImageStreamSpec(
            name=self.name,
            width=self.width,
            height=self.height,
            kind=StreamKind(self.kind),
            channels=self.channels if self.channels is not None else (1 if depth else 3),
            encoding=ImageEncoding(self.encoding or ("png" if depth else "jpeg")),
            quality=self.quality,
            rate_hz=self.rate_hz,
            required=self.required,
            topic=self.topic,
            msg_type=self.msg_type,
        )


class Gripper(ConfigModel):
    """A gripper or hand. Its closure is 0 fully open .. 1 fully closed."""

    name: Ident
    joints: tuple[Ident, ...] = ()


class Stream(ConfigModel):
    """A low-dimensional stream and where its values come from."""

    name: StreamName
    kind: ArrayKind
    role: Literal["observation", "action"] = "observation"
    joints: tuple[Ident, ...] = ()
    names: tuple[Ident, ...] = ()
    units: tuple[Unit, ...] = ()
    rate_hz: PositiveFinite | None = None
    required: bool = True
    topic: Topic = ""
    msg_type: MsgType = ""
    field: FieldExprs = ""
    name_field: FieldExpr = ""
    source_names: tuple[NameOrId, ...] = ()
    units_by_field: dict[Ident, tuple[Unit, ...]] = Field(default_factory=dict)
    convert: Literal["none", "deg_to_rad", "percent_to_closure", "scale"] = "none"
    scale: Finite | None = None
    offset: Finite | None = None
    stamp: Literal["header", "arrival"] = "header"

    @model_validator(mode="after")
    def _check(self) -> Stream:
        problems: list[tuple[Loc, str]] = []
        if self.kind in JOINT_KINDS:
            if not self.joints:
                problems.append((("joints",), f"a {self.kind} stream must list its joints"))
            if self.names:
                problems.append((("names",), f"a {self.kind} stream is named by its joints; use joints"))
        else:
            if self.joints:
                problems.append((("joints",), f"only joint_* streams take joints; use names for {self.kind}"))
            if not self.dimension_names:
                problems.append((("names",), f"a {self.kind} stream must list its names"))
        for what, values in (("joints", self.joints), ("names", self.names)):
            seen: set[str] = set()
            for i, value in enumerate(values):
                if value in seen:
                    problems.append(((what, i), f"{value!r} appears twice"))
                seen.add(value)
        dim = len(self.dimension_names)
        if self.units and len(self.units) not in (1, dim):
            problems.append(
                (("units",), f"give one unit or one per dimension ({dim}), got {len(self.units)}")
            )
        if not self.units and not self._default_units_known():
            problems.append(
                (("units",), f"a {self.kind} stream with names {list(self.names)} must give units")
            )
        if self.source_names and not self.name_field:
            problems.append((("source_names",), "source_names are matched against name_field; set it too"))
        if self.source_names and len(self.source_names) != dim:
            problems.append(
                (
                    ("source_names",),
                    f"give one source name per dimension ({dim}), got {len(self.source_names)}",
                )
            )
        if self.units_by_field and len(self.field_paths) != 1:
            problems.append((("units_by_field",), "needs exactly one field expression in field"))
        for key, units in self.units_by_field.items():
            if len(units) not in (1, dim):
                problems.append(
                    (("units_by_field", key), f"give one unit or one per dimension ({dim}), got {len(units)}")
                )
        if self.convert == "scale" and self.scale is None:
            problems.append((("scale",), "convert: scale needs a scale (and optionally offset)"))
        if self.convert != "scale":
            for key in ("scale", "offset"):
                if getattr(self, key) is not None:
                    problems.append(((key,), f"{key} is used only with convert: scale"))
        if problems:
            raise LocatedError(problems)
        return self

    def _default_units_known(self) -> bool:
        if self.kind in JOINT_KINDS or self.kind == "gripper":
            return True
        standard = _STANDARD_DIMS.get(self.kind)
        return standard is not None and self.dimension_names == standard[0]

    @property
    def field_paths(self) -> tuple[str, ...]:
        """``field`` as a tuple of expressions; empty for the message type's standard layout."""
        if isinstance(self.field, str):
            return (self.field,) if self.field else ()
        return self.field

    @property
    def source_keys(self) -> tuple[str, ...]:
        """The names matched against ``name_field``: ``source_names``, else the dimension names."""
        return self.source_names or self.dimension_names

    @property
    def dimension_names(self) -> tuple[str, ...]:
        """The joints, the names, or the kind's standard names (imu, pose, wrench)."""
        if self.kind in JOINT_KINDS:
            return self.joints
        if self.names:
            return self.names
        standard = _STANDARD_DIMS.get(self.kind)
        return standard[0] if standard else ()

    def conversion(self) -> tuple[float, float]:
        """``(scale, offset)``: a stored value is ``source value * scale + offset``."""
        if self.convert == "scale":
            return (self.scale if self.scale is not None else 1.0, self.offset or 0.0)
        return _CONVERSIONS[self.convert]


class RobotProfile(ConfigFile):
    """A robot: its joints, cameras, grippers and the streams a recording takes from it."""

    name: ProfileName
    model: str = ""
    description: str = ""
    urdf: str = ""
    joints: tuple[Joint, ...] = ()
    cameras: tuple[Camera, ...] = ()
    grippers: tuple[Gripper, ...] = ()
    streams: tuple[Stream, ...] = ()
    master_stream: str | None = None
    aligned_rate_hz: PositiveFinite = 30.0
    msg_definitions: dict[str, str] = Field(default_factory=dict)
    qa: QaSettings = QaSettings()
    """Quality-gate thresholds for this robot (episodes/QA.md lists the keys)."""

    @model_validator(mode="after")
    def _check(self) -> RobotProfile:
        problems = list(_cross_check(self))
        if problems:
            raise LocatedError(problems)
        return self

    @property
    def master(self) -> str:
        """The stream every other is aligned to: ``master_stream``, else the first camera
        or, without cameras, the first stream."""
        if self.master_stream:
            return self.master_stream
        return (self.cameras or self.streams)[0].name

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def moving_joints(self) -> tuple[str, ...]:
        """Joints expected to move during manipulation (``moves: true``), in joint order."""
        return tuple(j.name for j in self.joints if j.moves)

    def stream_specs(self) -> list[StreamSpec]:
        """The episode streams: cameras in declared order, then the low-dimensional streams."""
        specs: list[StreamSpec] = [c.stream_spec() for c in self.cameras]
        specs.extend(self._array_spec(s) for s in self.streams)
        return specs

    def robot_info(self) -> RobotInfo:
        return RobotInfo(profile=self.name, model=self.model, joint_names=self.joint_names)

    def joint_limits(
        self, joints: Sequence[str] | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(lower, upper)`` position limits of ``joints`` (default: all, in joint order)."""
        by_name = {j.name: j for j in self.joints}
        names = self.joint_names if joints is None else tuple(joints)
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ConfigError(f"profile {self.name!r} declares no joint {', '.join(unknown)}")
        lower = np.array([by_name[n].lower for n in names], dtype=np.float64)
        upper = np.array([by_name[n].upper for n in names], dtype=np.float64)
        return lower, upper

    @property
    def urdf_path(self) -> Path | None:
        """The URDF file, relative paths taken from the profile file's folder."""
        if not self.urdf:
            return None
        path = Path(self.urdf)
        if not path.is_absolute() and self.source_path is not None:
            path = self.source_path.parent / path
        return path

    def urdf_text(self) -> str | None:
        """The URDF's text, or ``None`` when the profile names none."""
        path = self.urdf_path
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            where = self.source_path or f"profile {self.name!r}"
            raise ConfigError(f"{where}: urdf: cannot read {path}: {exc.strerror}") from None

    def array_spec(self, stream: Stream, *, source_field: str = "") -> ArrayStreamSpec:
        """The episode stream of ``stream``; ``source_field`` is the message field its values were
        read from, which picks the units when the stream has ``units_by_field``."""
        units = stream.units or self._default_units(stream)
        if stream.units_by_field:
            if source_field not in stream.units_by_field:
                where = self.source_path or f"profile {self.name!r}"
                raise ConfigError(
                    f"{where}: stream {stream.name!r}: units_by_field has no units for field "
                    f"{source_field!r}; it lists {', '.join(stream.units_by_field)}"
                )
            units = stream.units_by_field[source_field]
        return self._array_spec(stream, units)

    def _array_spec(self, stream: Stream, units: tuple[str, ...] | None = None) -> ArrayStreamSpec:
        return ArrayStreamSpec(
            name=stream.name,
            kind=StreamKind(stream.kind),
            names=stream.dimension_names,
            units=units or stream.units or self._default_units(stream),
            role=Role(stream.role),
            rate_hz=stream.rate_hz,
            required=stream.required,
            topic=stream.topic,
            msg_type=stream.msg_type,
        )

    def _default_units(self, stream: Stream) -> tuple[str, ...]:
        if stream.kind in JOINT_KINDS:
            types = {j.name: j.type for j in self.joints}
            return tuple(_JOINT_UNITS[stream.kind][types[n]] for n in stream.joints)
        if stream.kind == "gripper":
            return ("closure",)
        return _STANDARD_DIMS[stream.kind][1]


def _cross_check(profile: RobotProfile) -> list[tuple[Loc, str]]:
    """Problems that need more than one field to see, each at the field to fix."""
    problems: list[tuple[Loc, str]] = []
    problems += _duplicates("joints", [j.name for j in profile.joints], "joint")
    problems += _duplicates("grippers", [g.name for g in profile.grippers], "gripper")
    # Cameras and streams become sibling groups of one episode, so they share names.
    named = [("cameras", i, c.name) for i, c in enumerate(profile.cameras)]
    named += [("streams", i, s.name) for i, s in enumerate(profile.streams)]
    seen: dict[str, str] = {}
    for section, i, name in named:
        if name in seen:
            problems.append(((section, i, "name"), f"duplicate stream name {name!r} (also {seen[name]})"))
        else:
            seen[name] = f"{section}[{i}]"
    joints = {j.name for j in profile.joints}
    for i, stream in enumerate(profile.streams):
        for k, name in enumerate(stream.joints):
            if name not in joints:
                problems.append((("streams", i, "joints", k), f"unknown joint {name!r}"))
    for i, gripper in enumerate(profile.grippers):
        for k, name in enumerate(gripper.joints):
            if name not in joints:
                problems.append((("grippers", i, "joints", k), f"unknown joint {name!r}"))
    if not profile.cameras and not profile.streams:
        problems.append((("streams",), "a profile must declare at least one stream or camera"))
    elif profile.master_stream is not None and profile.master_stream not in seen:
        problems.append(
            (
                ("master_stream",),
                f"unknown stream {profile.master_stream!r}; declared: {', '.join(seen)}",
            )
        )
    for key in profile.msg_definitions:
        if not is_msg_type(key):
            problems.append((("msg_definitions", key), "a message type must look like pkg/msg/Type"))
    if not problems:
        # The episode format has the last word on what a stream may be.
        for i, stream in enumerate(profile.streams):
            try:
                profile._array_spec(stream)
            except StreamSpecError as exc:
                problems.append((("streams", i), str(exc)))
    return problems


def _duplicates(section: str, names: list[str], what: str) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for i, name in enumerate(names):
        if name in first:
            problems.append(
                (
                    (section, i, "name"),
                    f"duplicate {what} name {name!r} (also {section}[{first[name]}])",
                )
            )
        else:
            first.setdefault(name, i)
    return problems
