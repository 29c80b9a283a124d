"""Camera frames from ROS image messages: kept as they came when the stream allows, converted otherwise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from collectors import FieldError, compressed_frame, raw_frame
from episodes import ImageEncoding, ImageStreamSpec, StreamKind

RGB = ImageStreamSpec("head", width=32, height=24)
MONO = ImageStreamSpec("mono", width=32, height=24, channels=1)
DEPTH = ImageStreamSpec(
    "depth", width=32, height=24, kind=StreamKind.DEPTH, channels=1, encoding=ImageEncoding.PNG
)


def _gradient() -> np.ndarray:
    yy, xx = np.mgrid[0:24, 0:32]
    return np.stack([xx * 8, yy * 10, 255 - xx * 8], axis=-1).astype(np.uint8)


def _depth() -> np.ndarray:
    yy, xx = np.mgrid[0:24, 0:32]
    return (500 + 7 * xx + 3 * yy).astype(np.uint16)


def test_compressed_depth_envelope_is_unwrapped_and_stored_as_is():
    ok, png = cv2.imencode(".png", _depth())
    assert ok
    stored = compressed_frame(bytes(12) + png.tobytes(), "16UC1; compressedDepth png", DEPTH, where="/d")
    assert stored == png.tobytes()
    with pytest.raises(FieldError, match=r"/d: 32-bit float compressedDepth .* is not supported"):
        compressed_frame(bytes(12) + png.tobytes(), "32FC1; compressedDepth", DEPTH, where="/d")


def test_depth_of_another_size_is_resized_by_picking_pixels():
    big = cv2.resize(_depth(), (64, 48), interpolation=cv2.INTER_NEAREST)
    png = cv2.imencode(".png", big)[1]
    frame = compressed_frame(png.tobytes(), "png", DEPTH, where="/d")
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint16 and frame.shape == (24, 32)
    assert set(np.unique(frame)) <= set(np.unique(big))  # no invented in-between distances


def test_frames_a_stream_cannot_hold():
    jpeg = cv2.imencode(".jpg", _gradient())[1]
    with pytest.raises(FieldError, match=r"/d: depth frame is uint8 .*expected 16-bit mono"):
        compressed_frame(jpeg.tobytes(), "jpeg", DEPTH, where="/d")
    with pytest.raises(FieldError, match=r"/c: frame is neither JPEG nor PNG \(format 'jpeg', 5 bytes\)"):
        compressed_frame(b"hello", "jpeg", RGB, where="/c")
    with pytest.raises(FieldError, match=r"/c: frame does not decode"):
        compressed_frame(jpeg.tobytes()[:200] + bytes(10), "jpeg", ImageStreamSpec("c", 16, 16), where="/c")


def test_raw_images():
    rgb = _gradient()
    frame = raw_frame(
        height=24,
        width=32,
        encoding="rgb8",
        step=32 * 3 + 4,
        data=np.pad(rgb.reshape(24, -1), ((0, 0), (0, 4))).tobytes(),
        is_bigendian=False,
        spec=RGB,
        where="/c",
    )
    np.testing.assert_array_equal(frame, rgb)  # row padding (step) dropped
    mono = raw_frame(
        height=24,
        width=32,
        encoding="rgb8",
        step=96,
        data=rgb.tobytes(),
        is_bigendian=False,
        spec=MONO,
        where="/c",
    )
    np.testing.assert_array_equal(mono, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    depth = _depth()
    big_endian = raw_frame(
        height=24,
        width=32,
        encoding="16UC1",
        step=64,
        data=depth.astype(">u2").tobytes(),
        is_bigendian=True,
        spec=DEPTH,
        where="/d",
    )
    np.testing.assert_array_equal(big_endian, depth)


def test_raw_images_that_do_not_fit():
    rgb = _gradient().tobytes()
    with pytest.raises(
        FieldError, match=r"/c: image encoding 'yuv422' is not supported; expected one of rgb8"
    ):
        raw_frame(
            height=24,
            width=32,
            encoding="yuv422",
            step=64,
            data=rgb,
            is_bigendian=False,
            spec=RGB,
            where="/c",
        )
    with pytest.raises(FieldError, match=r"/c: 32x24 rgb8 image with step 96 has 100 bytes"):
        raw_frame(
            height=24,
            width=32,
            encoding="rgb8",
            step=96,
            data=rgb[:100],
            is_bigendian=False,
            spec=RGB,
            where="/c",
        )
    with pytest.raises(FieldError, match=r"/c: a rgb8 image cannot go into depth stream 'depth'"):
        raw_frame(
            height=24,
            width=32,
            encoding="rgb8",
            step=96,
            data=rgb,
            is_bigendian=False,
            spec=DEPTH,
            where="/c",
        )
