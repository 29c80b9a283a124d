"""Camera frames out of ROS image messages, for a camera stream of the episode format.

ROS-free, like :mod:`collectors._fields`: it takes the fields of a
``sensor_msgs/CompressedImage`` or ``sensor_msgs/Image`` however they were
deserialised. A compressed frame whose encoding and size are what the stream
stores is returned as it came (bytes, never re-encoded: JPEG is lossy); only a
frame the stream cannot hold as is (a PNG on a JPEG stream, another size) is
decoded, and the writer encodes it again.

A ``compressedDepth`` frame (image_transport's depth plugin) is a 12-byte
header followed by a 16-bit PNG in millimetres: the header is dropped and the
PNG stored as is.

>>> import cv2, numpy as np
>>> from episodes import ImageStreamSpec
>>> spec = ImageStreamSpec("head", width=32, height=24)
>>> ok, jpeg = cv2.imencode(".jpg", np.zeros((24, 32, 3), np.uint8))
>>> frame = compressed_frame(jpeg.tobytes(), "jpeg", spec, where="/cam")
>>> isinstance(frame, bytes)  # stored as it came
True
>>> ok, png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
>>> compressed_frame(png.tobytes(), "png", spec, where="/cam").shape  # decoded and resized
(24, 32, 3)
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from collectors._errors import FieldError
from episodes._images import read_header
from episodes._spec import ImageEncoding, ImageStreamSpec

__all__ = ["compressed_frame", "raw_frame"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_COMPRESSED_DEPTH_HEADER = 12
# sensor_msgs/Image encodings: (channels, dtype) of the pixel buffer.
_RAW_ENCODINGS: dict[str, tuple[int, str]] = {
    "rgb8": (3, "uint8"),
    "bgr8": (3, "uint8"),
    "mono8": (1, "uint8"),
    "8UC1": (1, "uint8"),
    "mono16": (1, "uint16"),
    "16UC1": (1, "uint16"),
}

Frame = npt.NDArray[Any]


def compressed_frame(data: bytes, fmt: str, spec: ImageStreamSpec, *, where: str) -> bytes | Frame:
    """``data`` as is when ``spec`` can store it, else the decoded frame (RGB, mono or uint16)."""
    payload = data
    if not (payload.startswith(_PNG_MAGIC) or payload.startswith(b"\xff\xd8")):
        if payload[_COMPRESSED_DEPTH_HEADER:].startswith(_PNG_MAGIC):
            if "32FC1" in fmt:
                raise FieldError(
                    f"{where}: 32-bit float compressedDepth (format {fmt!r}) is not supported; "
                    "record 16UC1 depth (millimetres)"
                )
            payload = payload[_COMPRESSED_DEPTH_HEADER:]
        else:
            raise FieldError(f"{where}: frame is neither JPEG nor PNG (format {fmt!r}, {len(data)} bytes)")
    header = read_header(payload)
    if header is None:
        raise FieldError(f"{where}: frame header is damaged (format {fmt!r}, {len(data)} bytes)")
    same_size = (header.width, header.height) == (spec.width, spec.height)
    if spec.dtype == "uint16":
        if same_size and header.encoding is ImageEncoding.PNG and _png_is_mono16(payload):
            return payload
    elif same_size and header.encoding is spec.encoding and header.channels == spec.channels:
        return payload
    return _fit(_decode(payload, spec, where), spec)


def raw_frame(
    *,
    height: int,
    width: int,
    encoding: str,
    step: int,
    data: Any,
    is_bigendian: bool,
    spec: ImageStreamSpec,
    where: str,
) -> Frame:
    """The pixels of a ``sensor_msgs/Image`` as the stream's frame (RGB, mono or uint16 depth)."""
    layout = _RAW_ENCODINGS.get(encoding)
    if layout is None:
        raise FieldError(
            f"{where}: image encoding {encoding!r} is not supported; "
            f"expected one of {', '.join(_RAW_ENCODINGS)}"
        )
    channels, dtype = layout
    item = np.dtype(dtype).newbyteorder(">" if is_bigendian else "<")
    row_bytes = width * channels * item.itemsize
    buf = np.frombuffer(memoryview(data), dtype=np.uint8)
    if step < row_bytes or buf.shape[0] < step * height:
        raise FieldError(
            f"{where}: {width}x{height} {encoding} image with step {step} has {buf.shape[0]} bytes"
        )
    rows = buf[: step * height].reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(item).astype(dtype, copy=False)
    pixels = pixels.reshape(height, width, channels) if channels == 3 else pixels.reshape(height, width)
    if (spec.dtype == "uint16") != (dtype == "uint16"):
        raise FieldError(f"{where}: a {encoding} image cannot go into {spec.kind.value} stream {spec.name!r}")
    if encoding == "bgr8":
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    return _fit(_channels(pixels, spec.channels), spec)


def _png_is_mono16(png: bytes) -> bool:
    # IHDR: bit depth at byte 24, colour type at 25 (0 = greyscale).
    return len(png) > 25 and png[24] == 16 and png[25] == 0


def _decode(payload: bytes, spec: ImageStreamSpec, where: str) -> Frame:
    buf = np.frombuffer(payload, dtype=np.uint8)
    if spec.dtype == "uint16":
        pixels = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if pixels is not None and (pixels.dtype != np.uint16 or pixels.ndim != 2):
            raise FieldError(
                f"{where}: depth frame is {pixels.dtype} with shape {pixels.shape}; expected 16-bit mono (mm)"
            )
    else:
        flag = cv2.IMREAD_COLOR if spec.channels == 3 else cv2.IMREAD_GRAYSCALE
        pixels = cv2.imdecode(buf, flag)
        if pixels is not None and spec.channels == 3:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if pixels is None:
        raise FieldError(f"{where}: frame does not decode ({len(payload)} bytes)")
    frame: Frame = pixels
    return frame


def _channels(pixels: Frame, channels: int) -> Frame:
    if pixels.ndim == 3 and channels == 1:
        mono: Frame = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        return mono
    if pixels.ndim == 2 and channels == 3:
        rgb: Frame = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
        return rgb
    return pixels


def _fit(pixels: Frame, spec: ImageStreamSpec) -> Frame:
    if pixels.shape[:2] == (spec.height, spec.width):
        return pixels
    # Depth is resampled by picking, never averaging: a mean of a near and a far pixel is a
    # distance where nothing is.
    interpolation = cv2.INTER_NEAREST if spec.dtype == "uint16" else cv2.INTER_AREA
    resized: Frame = cv2.resize(pixels, (spec.width, spec.height), interpolation=interpolation)
    return resized
