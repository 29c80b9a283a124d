"""A small robot profile and plain message objects for the live recorder's tests (with and without ROS)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as Msg

import cv2
import numpy as np

from collectors import FieldType

PROFILE_YAML = """
name: live_test
joints:
  - {name: j1, lower: -3, upper: 3, velocity: 5}
  - {name: j2, lower: -3, upper: 3, velocity: 5}
  - {name: j3, lower: -3, upper: 3, velocity: 5}
cameras:
  - {name: cam, width: 32, height: 24, rate_hz: 30, topic: /cam/image_raw,
     msg_type: sensor_msgs/msg/Image, mount_parent: base}
  - {name: jcam, width: 32, height: 24, rate_hz: 30, topic: /jcam/image_raw/compressed,
     msg_type: sensor_msgs/msg/CompressedImage}
streams:
  - {name: joint_position, kind: joint_position, joints: [j1, j2, j3], rate_hz: 100,
     topic: /joint_states, msg_type: sensor_msgs/msg/JointState, field: position, name_field: name}
  - {name: imu, kind: imu, rate_hz: 100, topic: /imu, msg_type: sensor_msgs/msg/Imu}
  - {name: pose, kind: pose, rate_hz: 30, required: false, topic: /pose,
     msg_type: geometry_msgs/msg/PoseStamped}
aligned_rate_hz: 10
"""

# A session over that profile: other labels, a smaller camera.
SESSION_YAML = """
profile: live_test.yaml
task: {name: stack, instruction: stack the cubes}
dataset: stacking
cameras:
  cam: {width: 16, height: 12}
operator: ben
"""

NAMES = ("j1", "j2", "j3")


def write_profile(directory: Path) -> Path:
    path = directory / "live_test.yaml"
    path.write_text(PROFILE_YAML, encoding="utf-8")
    (directory / "session.yaml").write_text(SESSION_YAML, encoding="utf-8")
    return path


def _f(name: str, seq: bool = False, length: int | None = None) -> FieldType:
    return FieldType(name, sequence=seq, length=length)


_HEADER = ("header", _f("std_msgs/msg/Header"))
SCHEMAS = {
    "std_msgs/msg/Header": [("stamp", _f("builtin_interfaces/msg/Time")), ("frame_id", _f("string"))],
    "builtin_interfaces/msg/Time": [("sec", _f("int32")), ("nanosec", _f("uint32"))],
    "sensor_msgs/msg/JointState": [
        _HEADER,
        ("name", _f("string", True)),
        ("position", _f("float64", True)),
        ("velocity", _f("float64", True)),
        ("effort", _f("float64", True)),
    ],
    "sensor_msgs/msg/Image": [
        _HEADER,
        ("height", _f("uint32")),
        ("width", _f("uint32")),
        ("encoding", _f("string")),
        ("is_bigendian", _f("uint8")),
        ("step", _f("uint32")),
        ("data", _f("uint8", True)),
    ],
    "sensor_msgs/msg/CompressedImage": [_HEADER, ("format", _f("string")), ("data", _f("uint8", True))],
    "sensor_msgs/msg/Imu": [
        _HEADER,
        ("orientation", _f("geometry_msgs/msg/Quaternion")),
        ("orientation_covariance", _f("float64", True, 9)),
        ("angular_velocity", _f("geometry_msgs/msg/Vector3")),
        ("angular_velocity_covariance", _f("float64", True, 9)),
        ("linear_acceleration", _f("geometry_msgs/msg/Vector3")),
        ("linear_acceleration_covariance", _f("float64", True, 9)),
    ],
    "geometry_msgs/msg/PoseStamped": [_HEADER, ("pose", _f("geometry_msgs/msg/Pose"))],
    "geometry_msgs/msg/Pose": [
        ("position", _f("geometry_msgs/msg/Point")),
        ("orientation", _f("geometry_msgs/msg/Quaternion")),
    ],
    "geometry_msgs/msg/Point": [(a, _f("float64")) for a in "xyz"],
    "geometry_msgs/msg/Vector3": [(a, _f("float64")) for a in "xyz"],
    "geometry_msgs/msg/Quaternion": [(a, _f("float64")) for a in "xyzw"],
}


def header(stamp_ns: int) -> Msg:
    return Msg(stamp=Msg(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000), frame_id="")


def joint_state(stamp_ns: int, values: tuple[float, ...], names: tuple[str, ...] = NAMES) -> Msg:
    return Msg(header=header(stamp_ns), name=list(names), position=list(values), velocity=[], effort=[])


def imu(stamp_ns: int, gz: float) -> Msg:
    return Msg(
        header=header(stamp_ns),
        orientation=Msg(x=0.0, y=0.0, z=0.0, w=1.0),
        angular_velocity=Msg(x=0.0, y=0.0, z=gz),
        linear_acceleration=Msg(x=0.0, y=0.0, z=9.81),
    )


def pose(stamp_ns: int, x: float) -> Msg:
    return Msg(
        header=header(stamp_ns),
        pose=Msg(position=Msg(x=x, y=0.0, z=0.0), orientation=Msg(x=0.0, y=0.0, z=0.0, w=1.0)),
    )


def pixels(k: int, width: int = 32, height: int = 24) -> np.ndarray:
    """A textured RGB frame that differs per k (flat frames would hide a mix-up)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 8 + k) % 256, (y * 10) % 256, np.full_like(x, (k * 40) % 256)], axis=-1).astype(
        np.uint8
    )


def raw_image(stamp_ns: int, frame: np.ndarray, encoding: str = "rgb8") -> Msg:
    h, w = frame.shape[:2]
    return Msg(
        header=header(stamp_ns),
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=w * 3,
        data=frame.tobytes(),
    )


def jpeg(frame: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(data.tobytes())


def compressed_image(stamp_ns: int, data: bytes) -> Msg:
    return Msg(header=header(stamp_ns), format="jpeg", data=data)
