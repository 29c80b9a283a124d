"""Frame encoding and decoding. Frames are RGB in memory; OpenCV's BGR never leaks out."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from episodes._errors import CorruptEpisodeError, SampleError
from episodes._spec import ImageEncoding, ImageStreamSpec

__all__ = ["FrameHeader", "decode_frame", "encode_frame", "read_header"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# PNG colour type -> channels (grey, RGB, palette, grey+alpha, RGBA).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


def encode_frame(frame: npt.NDArray[Any], spec: ImageStreamSpec) -> npt.NDArray[np.uint8]:
    """Encode one frame (RGB, mono or 16-bit depth) to JPEG or PNG bytes."""
    if spec.encoding is ImageEncoding.JPEG:
        params = [cv2.IMWRITE_JPEG_QUALITY, spec.quality]
        ext = ".jpg"
    else:
        # Level 1: most of PNG's gain at a fraction of level 9's CPU, which recording cannot spare.
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
        ext = ".png"
    pixels = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if frame.ndim == 3 else frame
    ok, buf = cv2.imencode(ext, pixels, params)
    if not ok:
        raise SampleError(f"stream {spec.name!r}: OpenCV could not encode a {frame.shape} frame")
    encoded: npt.NDArray[np.uint8] = buf.reshape(-1)
    return encoded


_REDUCED = {
    (3, 2): cv2.IMREAD_REDUCED_COLOR_2,
    (3, 4): cv2.IMREAD_REDUCED_COLOR_4,
    (3, 8): cv2.IMREAD_REDUCED_COLOR_8,
    (1, 2): cv2.IMREAD_REDUCED_GRAYSCALE_2,
    (1, 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
    (1, 8): cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


# OpenCV >= 4.10 has libjpeg write RGB itself, saving a BGR-to-RGB pass over every frame.
_RGB_FLAG: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)


def decode_frame(
    data: bytes | npt.NDArray[np.uint8], *, channels: int, where: str, reduce: int = 1
) -> npt.NDArray[np.generic]:
    """Decode JPEG/PNG bytes into an RGB (H, W, 3), mono (H, W) or uint16 depth (H, W) array.

    ``reduce`` (2, 4 or 8) decodes at that fraction of the size (rounded up): libjpeg
    scales in the DCT domain, skipping much of the inverse transform and colour
    conversion, which a loader that wants a small image would throw away. Only for
    8-bit frames (not depth).
    """
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    flags = cv2.IMREAD_UNCHANGED if channels == 1 else cv2.IMREAD_COLOR
    if reduce != 1:
        flags = _REDUCED[(1 if channels == 1 else 3, reduce)]
    rgb = False
    if channels == 3 and _RGB_FLAG is not None:
        flags, rgb = (flags & ~cv2.IMREAD_COLOR) | _RGB_FLAG, True
    pixels = cv2.imdecode(buf, flags)
    if pixels is None:
        raise CorruptEpisodeError(f"{where}: frame does not decode ({buf.shape[0]} bytes)")
    if channels == 3:
        decoded: npt.NDArray[np.generic] = pixels if rgb else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
        return decoded
    if pixels.ndim == 3:  # a colour image in a mono stream: keep the stream's promise of (H, W)
        mono: npt.NDArray[np.generic] = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
        return mono
    return pixels


@dataclass(frozen=True)
class FrameHeader:
    """What a JPEG (SOF marker) or PNG (IHDR chunk) header says about its frame."""

    encoding: ImageEncoding
    width: int
    height: int
    channels: int
    end: int
    """Offset just past the bytes the header was read from."""


def read_header(data: bytes) -> FrameHeader | None:
    """Encoding, size and channels from a frame's header, or None if it is neither JPEG nor PNG.

    Reading the header costs microseconds where decoding costs milliseconds, so
    pre-encoded frames (a ROS CompressedImage) can be checked on arrival and the
    quality gate can check every frame of a stream.

    >>> ok, jpg = cv2.imencode(".jpg", np.zeros((6, 8, 3), np.uint8))
    >>> header = read_header(jpg.tobytes())
    >>> header.encoding.value, header.width, header.height, header.channels
    ('jpeg', 8, 6, 3)
    """
    if data[:8] == _PNG_MAGIC and len(data) >= 26 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        channels = _PNG_CHANNELS.get(data[25])
        return FrameHeader(ImageEncoding.PNG, width, height, channels, 26) if channels else None
    if not data.startswith(b"\xff\xd8"):
        return None
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in _JPEG_SOF:
            if pos + 10 > end:
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return FrameHeader(ImageEncoding.JPEG, width, height, data[pos + 9], pos + 10)
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return None
