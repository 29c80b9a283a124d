"""Camera intrinsics from a bag's ``CameraInfo`` topics, stored in episodes as live recording does.

A camera's info topic is its profile's ``info_topic``, else ``camera_info`` beside its image
topic (image_transport's convention). The first usable message gives the calibration,
scaled to the size the stream stores (the intrinsics do not change within a recording).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from collectors._bags import Bag, BagTopic
from collectors._fields import normalize_msg_type
from collectors._live_inputs import CameraIntrinsics, scaled_calibration
from episodes._spec import CameraCalibration, ImageStreamSpec
from tg_config import Camera, Stream

__all__ = ["CAMERA_INFO", "camera_info_topics", "intrinsics_of", "read_calibrations"]

CAMERA_INFO = normalize_msg_type("sensor_msgs/msg/CameraInfo")


def camera_info_topics(bag: Bag, used: Sequence[tuple[Camera | Stream, BagTopic]]) -> dict[str, Camera]:
    """Info topic -> camera, for the recorded cameras whose ``CameraInfo`` topic the bag has."""
    found = {}
    for item, _ in used:
        if isinstance(item, Camera) and item.camera_info_topic:
            topic = bag.topics.get(item.camera_info_topic)
            if topic is not None and topic.count and topic.msg_type == CAMERA_INFO:
                found[topic.name] = item
    return found


def intrinsics_of(msg: Any) -> CameraIntrinsics:
    """A ROS 2 (``k``, ``d``) or ROS 1 (``K``, ``D``) ``CameraInfo`` message's intrinsics."""
    k = getattr(msg, "k", None)
    d = getattr(msg, "d", None)
    return CameraIntrinsics(
        width=int(msg.width),
        height=int(msg.height),
        k=tuple(float(v) for v in (msg.K if k is None else k)),
        distortion_model=str(msg.distortion_model),
        d=tuple(float(v) for v in (msg.D if d is None else d)),
    )


def read_calibrations(
    bag: Bag, topics: Mapping[str, Camera], specs: Mapping[str, ImageStreamSpec]
) -> dict[str, CameraCalibration]:
    """Stream name -> calibration: the first usable message of each info topic (after ``bag.schemas``)."""
    out: dict[str, CameraCalibration] = {}
    for topic, camera in topics.items():
        decode = bag.decoder(topic)
        for _, _, raw in bag.messages({topic}):
            calibration = scaled_calibration(specs[camera.name], camera, intrinsics_of(decode(raw)))
            if calibration is not None:
                out[camera.name] = calibration
                break
    return out
