"""How a profile's stream reads its topic: one binding for bag ingestion and the live recorder.

A *binding* is a stream compiled against the message type its topic carries:
an array stream's field reader and episode spec, or a camera's frame reader.
Both :mod:`collectors._ingest` (messages from a bag) and :mod:`collectors._live`
(messages from rclpy) build their topic → streams map from these, so a profile
reads the same values from a bag and from a live robot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

from collectors._errors import FieldError, TopicError
from collectors._fields import (
    FieldReader,
    Schemas,
    StampReader,
    compile_fields,
    header_stamp_reader,
    standard_fields,
)
from collectors._frames import compressed_frame, raw_frame
from episodes._spec import ArrayStreamSpec, ImageStreamSpec
from tg_config import Camera, ConfigError, RobotProfile, Stream

__all__ = [
    "COMPRESSED_IMAGE",
    "RAW_IMAGE",
    "ArrayBinding",
    "CameraBinding",
    "FrameReader",
    "bind_array",
    "bind_camera",
]

COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
RAW_IMAGE = "sensor_msgs/msg/Image"

FrameReader = Callable[[Any], "bytes | npt.NDArray[Any]"]


@dataclass(frozen=True)
class ArrayBinding:
    """An array stream read from its topic: values by ``reader``, stamps by ``stamp`` (None: arrival)."""

    spec: ArrayStreamSpec
    reader: FieldReader
    stamp: StampReader | None


@dataclass(frozen=True)
class CameraBinding:
    """A camera read from its topic: a frame (encoded bytes kept as they came, or pixels) per message."""

    spec: ImageStreamSpec
    frame: FrameReader
    stamp: StampReader | None


def bind_array(
    profile: RobotProfile, stream: Stream, msg_type: str, schemas: Schemas, *, where: str
) -> ArrayBinding:
    """Compile ``stream`` of ``profile`` against ``msg_type``; raise :class:`FieldError` naming ``where``."""
    stamp = _stamp(stream, msg_type, schemas, where)
    fields = stream.field_paths or standard_fields(msg_type, stream.kind)
    if not fields:
        raise FieldError(f"{where}: {msg_type} has no standard layout for a {stream.kind} stream; set field")
    scale, offset = stream.conversion()
    reader = compile_fields(
        fields,
        msg_type,
        schemas,
        dim=len(stream.dimension_names),
        where=where,
        scale=scale,
        offset=offset,
        name_field=stream.name_field,
        source_names=stream.source_keys,
    )
    try:
        spec = profile.array_spec(stream, source_field=reader.source_field)
    except ConfigError as exc:
        raise FieldError(f"{where}: field {reader.resolved}: {exc}") from None
    return ArrayBinding(spec, reader, stamp)


def bind_camera(
    camera: Camera, spec: ImageStreamSpec, msg_type: str, schemas: Schemas, *, where: str
) -> CameraBinding:
    """Read frames of ``camera`` (stored as ``spec``, which a session may have resized) from ``msg_type``."""
    return CameraBinding(spec, frame_reader(msg_type, spec, where), _stamp(camera, msg_type, schemas, where))


def frame_reader(msg_type: str, spec: ImageStreamSpec, where: str) -> FrameReader:
    """The frame of one ``CompressedImage`` or ``Image`` message, as ``spec`` stores it."""
    if msg_type == COMPRESSED_IMAGE:
        return lambda msg: compressed_frame(bytes(msg.data), msg.format, spec, where=where)
    if msg_type == RAW_IMAGE:
        return lambda msg: raw_frame(
            height=int(msg.height),
            width=int(msg.width),
            encoding=msg.encoding,
            step=int(msg.step),
            data=msg.data,
            is_bigendian=bool(msg.is_bigendian),
            spec=spec,
            where=where,
        )
    raise TopicError(f"{where}: a camera needs {COMPRESSED_IMAGE} or {RAW_IMAGE}, not {msg_type}")


def _stamp(item: Camera | Stream, msg_type: str, schemas: Schemas, where: str) -> StampReader | None:
    if item.stamp != "header":
        return None
    return header_stamp_reader(msg_type, schemas, where=where)
