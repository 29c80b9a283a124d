"""How the training loader turns a camera's stored frames into a sample's images.

Encoded frame bytes are decoded (JPEG at 1/2, 1/4 or 1/8 scale when that still
covers the requested size), resized to ``size`` (``cv2.INTER_AREA``; depth with
nearest neighbour, so no depth is invented between surfaces), laid out
channel-first or channel-last, and kept as stored (``uint8``, depth ``uint16``) or
made ``float32`` (colour in [0, 1], depth in metres).

>>> import cv2, numpy as np
>>> from episodes._spec import ImageStreamSpec
>>> spec = ImageStreamSpec("head", width=8, height=6)
>>> _, jpeg = cv2.imencode(".jpg", np.full((6, 8, 3), 128, np.uint8))
>>> transform = ImageTransform(size=(3, 4), dtype="float32")
>>> images = transform.stack(spec, np.array([0, 0]), lambda source, spec, index: (jpeg, source), "head")
>>> images.shape, images.dtype, round(float(images.mean()), 1)
((2, 3, 3, 4), dtype('float32'), 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from episodes._errors import CorruptEpisodeError, DatasetError
from episodes._images import decode_frame
from episodes._spec import ImageEncoding, ImageStreamSpec, StreamKind

__all__ = ["DEPTH_SCALE_M", "ImageDtype", "ImageTransform"]

ImageDtype = Literal["uint8", "float32"]
Source = TypeVar("Source")
DEPTH_SCALE_M = 0.001  # FORMAT.md: depth is integer millimetres


@dataclass(frozen=True)
class ImageTransform:
    """The requested image ``size`` ``(height, width)`` (None: as stored), layout and ``dtype``."""

    size: tuple[int, int] | None = None
    channels_first: bool = True
    dtype: ImageDtype = "uint8"

    def __post_init__(self) -> None:
        size = self.size
        if size is not None:
            if len(size) != 2 or min(size) < 1:
                raise DatasetError(f"image_size must be (height, width) with positive sizes, got {size}")
            object.__setattr__(self, "size", (int(size[0]), int(size[1])))
        if self.dtype not in ("uint8", "float32"):
            raise DatasetError(f"image_dtype must be 'uint8' or 'float32', got {self.dtype!r}")

    def stack(
        self,
        spec: ImageStreamSpec,
        indices: npt.NDArray[np.int64],
        read: Callable[[Source, ImageStreamSpec, int], tuple[npt.NDArray[np.uint8], str]],
        source: Source,
    ) -> npt.NDArray[Any]:
        """Frames ``indices`` of camera ``spec`` as one array, ``(n, C, H, W)`` or ``(n, H, W, C)``.

        ``read(source, spec, index)`` gives a frame's encoded bytes and a name for messages
        (file, stream, frame). It takes ``source`` rather than being bound to it, which
        would cost a new callable per sample and camera.
        """
        height, width = self.size or (spec.height, spec.width)
        depth = spec.kind is StreamKind.DEPTH
        dtype = np.float32 if self.dtype == "float32" else (np.uint16 if depth else np.uint8)
        shape = (len(indices), spec.channels, height, width)
        if not self.channels_first:
            shape = (len(indices), height, width, spec.channels)
        out = np.empty(shape, dtype=dtype)
        scale = np.float32(DEPTH_SCALE_M if depth else 1 / 255)
        done: dict[int, int] = {}
        for row, index in enumerate(indices.tolist()):
            if index in done:  # a padded history repeats its first frame: decode it once
                out[row] = out[done[index]]
                continue
            done[index] = row
            buf, where = read(source, spec, index)
            pixels = self.decode(spec, buf, where, (height, width))
            view = pixels.transpose(2, 0, 1) if self.channels_first else pixels
            if dtype == np.float32:
                np.multiply(view, scale, out=out[row], dtype=np.float32)  # converts and lays out in one pass
            else:
                out[row] = view
        return out

    def arrange(self, spec: ImageStreamSpec, frames: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Decoded frames ``(n, H, W, C)`` at this size (a prepared cache's), laid out as :meth:`stack`.

        Channel-first output is a transposed view of channel-last memory (as ACT's
        ``einsum`` gives it): writing each value to its plane while converting costs more
        than the conversion, and a batch is copied into one block when collated anyway.

        >>> ImageTransform(dtype="float32").arrange(ImageStreamSpec("c", width=2, height=1),
        ...     np.full((1, 1, 2, 3), 255, np.uint8)).shape
        (1, 3, 1, 2)
        """
        pixels = np.asarray(frames)
        if self.dtype == "float32":
            scale = DEPTH_SCALE_M if spec.kind is StreamKind.DEPTH else 1 / 255
            pixels = np.multiply(pixels, np.float32(scale), dtype=np.float32)
        return pixels.transpose(0, 3, 1, 2) if self.channels_first else pixels

    def decode(
        self, spec: ImageStreamSpec, buf: npt.NDArray[np.uint8], where: str, size: tuple[int, int]
    ) -> npt.NDArray[Any]:
        """One frame as (height, width, channels): uint8 or uint16, or float32 (unscaled) if resized."""
        resize = self.size is not None
        reduce = 1
        if resize and spec.encoding is ImageEncoding.JPEG and spec.kind is not StreamKind.DEPTH:
            for factor in (8, 4, 2):
                if math.ceil(spec.height / factor) >= size[0] and math.ceil(spec.width / factor) >= size[1]:
                    reduce = factor
                    break
        pixels: npt.NDArray[Any] = decode_frame(buf, channels=spec.channels, where=where, reduce=reduce)
        if resize and pixels.shape[:2] != size:
            if spec.kind is StreamKind.DEPTH:
                pixels = cv2.resize(pixels, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
            else:
                # OpenCV's area filter runs faster on float32 than on uint8 at non-integer ratios.
                floats = self.dtype == "float32"
                source = pixels.astype(np.float32) if floats else pixels
                pixels = cv2.resize(source, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        elif not resize and pixels.shape[:2] != size:
            raise CorruptEpisodeError(
                f"{where}: decodes to {pixels.shape[1]}x{pixels.shape[0]}, "
                f"the stream declares {spec.width}x{spec.height}"
            )
        return pixels.reshape(size[0], size[1], spec.channels)
