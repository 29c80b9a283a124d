"""What the live recorder is given: the session's topics, episode labels, camera intrinsics, publishers.

ROS-free: the ``tg_recorder`` node turns its parameters and messages into
these plain values before it hands them to :class:`collectors.LiveRecorder`.

>>> from collectors import SessionConfig
>>> run = SessionConfig.for_profile("generic_ros2_arm").resolve()
>>> topic_types(run)["/joint_states"]
'sensor_msgs/msg/JointState'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors._errors import RecorderError
from collectors._fields import normalize_msg_type
from episodes._spec import CameraCalibration, EpisodeInfo, ImageStreamSpec, JsonValue, StreamSpec
from tg_config import Camera, ConfigError, ResolvedSession, Stream

__all__ = [
    "CameraIntrinsics",
    "EpisodeLabels",
    "Publisher",
    "SideInputs",
    "TopicPlan",
    "config_source",
    "recorded_items",
    "scaled_calibration",
    "topic_types",
]


@dataclass(frozen=True)
class EpisodeLabels:
    """Labels of the next episode (the node's parameters at ``~/start``); empty means the session's."""

    task: str = ""
    instruction: str = ""
    operator: str = ""
    station: str = ""
    extra: Mapping[str, JsonValue] = field(default_factory=dict)

    @staticmethod
    def parse_extra(text: str) -> dict[str, JsonValue]:
        """``extra_json`` as given on the command line: a JSON object, or "" for none."""
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise RecorderError(f"extra_json is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise RecorderError(f"extra_json must be a JSON object, got {type(value).__name__}")
        return value

    @classmethod
    def of_session(cls, run: ResolvedSession) -> EpisodeLabels:
        """The labels the session gives every episode."""
        session = run.session
        return cls(
            task=session.task.name,
            instruction=session.task.instruction,
            operator=session.operator,
            station=session.station,
        )

    def episode_info(self, run: ResolvedSession, defaults: EpisodeLabels) -> EpisodeInfo:
        """The episode's metadata: these labels, ``defaults`` where they are empty (``extra``: merged)."""
        return EpisodeInfo(
            robot=run.robot,
            source="ros2",
            dataset=run.dataset,
            task=self.task or defaults.task,
            instruction=self.instruction or defaults.instruction,
            operator=self.operator or defaults.operator,
            station=self.station or defaults.station,
            extra={**defaults.extra, **self.extra},
        )


@dataclass(frozen=True)
class CameraIntrinsics:
    """The fields of a ``sensor_msgs/CameraInfo`` the episode keeps."""

    width: int
    height: int
    k: tuple[float, ...]
    distortion_model: str
    d: tuple[float, ...]


@dataclass(frozen=True)
class Publisher:
    """A publisher of a topic, as the ROS graph reports it; ``endpoint`` identifies it uniquely."""

    node: str
    msg_type: str
    endpoint: str = ""


@dataclass(frozen=True)
class TopicPlan:
    """A subscription the node makes: ``callback`` takes each message of ``topic``."""

    topic: str
    msg_type: str
    depth: int
    callback: Callable[[Any], None]


def topic_types(run: ResolvedSession) -> dict[str, str]:
    """The topic → message type of every stream the session records live.

    Raises :class:`ConfigError` for a recorded stream without a topic or type, or
    a topic given two types.
    """
    out: dict[str, str] = {}
    for item in recorded_items(run):
        if not item.msg_type:
            raise ConfigError(
                f"{config_source(run)}: stream {item.name!r} ({item.topic}) has no msg_type; "
                "live recording subscribes by type"
            )
        msg_type = normalize_msg_type(item.msg_type)
        if out.setdefault(item.topic, msg_type) != msg_type:
            raise ConfigError(
                f"{config_source(run)}: topic {item.topic} is given two message types: "
                f"{out[item.topic]} and {msg_type}"
            )
    return out


def recorded_items(run: ResolvedSession) -> list[Camera | Stream]:
    """The profile's cameras and streams the session records, each with a topic."""
    names = {s.name for s in run.streams}
    items: list[Camera | Stream] = [*run.profile.cameras, *run.profile.streams]
    kept = [i for i in items if i.name in names]
    untopical = [i.name for i in kept if not i.topic and i.required]
    if untopical:
        raise ConfigError(
            f"{config_source(run)}: required stream(s) {', '.join(untopical)} have no topic; "
            "live recording needs one for each"
        )
    return [i for i in kept if i.topic]


def config_source(run: ResolvedSession) -> str:
    """The file a configuration problem is in, for messages: the session's, else the profile's."""
    source = run.session.source_path or run.profile.source_path
    return str(source) if source else f"profile {run.profile.name!r}"


def scaled_calibration(spec: StreamSpec, camera: Camera, info: CameraIntrinsics) -> CameraCalibration | None:
    """``info`` scaled to the size ``spec`` stores; None when ``info`` is not usable (no size or matrix)."""
    if not isinstance(spec, ImageStreamSpec) or info.width <= 0 or info.height <= 0 or len(info.k) != 9:
        return None
    sx, sy = spec.width / info.width, spec.height / info.height
    k = list(info.k)
    k[0], k[2], k[4], k[5] = k[0] * sx, k[2] * sx, k[4] * sy, k[5] * sy
    return CameraCalibration(
        width=spec.width,
        height=spec.height,
        camera_matrix=tuple(k),
        distortion_model=info.distortion_model,
        distortion=info.d,
        mount_parent=camera.mount_parent,
        mount_pose=tuple(camera.mount_pose or ()),
    )


class SideInputs:
    """What episodes get besides messages: the robot's description and the cameras' calibrations.

    Both outlive an episode: each new episode starts with the latest. Not
    thread-safe: the recorder calls it under its lock.
    """

    def __init__(self, run: ResolvedSession) -> None:
        self.run = run
        self.urdf = run.profile.urdf_text()
        self.urdf_source = "profile" if self.urdf is not None else "none"
        self.calibrations: dict[str, CameraCalibration] = {}
        self.intrinsics: dict[str, CameraIntrinsics] = {}

    def camera_info(self, camera: str, info: CameraIntrinsics) -> CameraCalibration | None:
        """Note ``camera``'s intrinsics; return its new calibration, or None when ``info`` is not usable."""
        self.intrinsics[camera] = info
        item = next(c for c in self.run.profile.cameras if c.name == camera)
        calibration = scaled_calibration(self.run.stream(camera), item, info)
        if calibration is not None:
            self.calibrations[camera] = calibration
        return calibration

    def robot_description(self, urdf: str) -> None:
        """The robot's own description, from its ``/robot_description`` topic."""
        self.urdf = urdf
        self.urdf_source = "topic"

    def diagnostics(self) -> dict[str, JsonValue]:
        """What the episode keeps of them (in ``extra_json["recorder"]``)."""
        return {"robot_description": self.urdf_source, "calibrated_cameras": sorted(self.calibrations)}
