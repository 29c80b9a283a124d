"""MP4 video through PyAV, encoded as LeRobot encodes it; frames are stamped exactly ``k / fps``."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from episodes._export._errors import ExportError

__all__ = ["VideoWriter", "pick_codec", "video_info"]

# LeRobot's default (lerobot/datasets/video_utils.py: encode_video_frames): AV1 through SVT-AV1,
# yuv420p, a keyframe every 2 frames (cheap random access), crf 30, preset 12. The others are
# what a PyAV build without SVT-AV1 still has.
_CODECS = ("libsvtav1", "libx264", "mpeg4")
_OPTIONS: dict[str, dict[str, str]] = {
    "libsvtav1": {"g": "2", "crf": "30", "preset": "12"},
    "libx264": {"g": "2", "crf": "23"},
    "mpeg4": {"g": "2", "qscale": "3"},
}
_PIX_FMT = "yuv420p"


def pick_codec() -> str:
    """The first of LeRobot's default encoder and its fallbacks that this PyAV build has."""
    for name in _CODECS:
        try:
            av.codec.Codec(name, "w")
        except (av.error.FFmpegError, ValueError):  # an encoder the build leaves out
            continue
        return name
    raise ExportError(f"PyAV {av.__version__} has none of the video encoders {', '.join(_CODECS)}")


class VideoWriter:
    """Frames of equal size into one MP4 file; frame ``k`` has presentation time ``k / fps``.

    >>> import tempfile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "cam.mp4"
    >>> with VideoWriter(path, fps=10, height=32, width=64) as video:
    ...     for k in range(3):
    ...         video.write(np.full((32, 64, 3), 40 * k, dtype=np.uint8))
    >>> video.frames, video_info(path)["video.fps"]
    (3, 10)
    """

    def __init__(self, path: Path, *, fps: int, height: int, width: int, codec: str | None = None) -> None:
        if height % 2 or width % 2:
            raise ExportError(
                f"{path}: frames of {height}x{width} pixels (height x width); {_PIX_FMT} video needs an even "
                "height and width (export with an image size that is, e.g. --image-size 240x320)"
            )
        self.path = path
        self.codec = codec or pick_codec()
        self.frames = 0
        self.bytes = 0
        """Bytes of the packets muxed so far (the muxer writes them out in its own time)."""
        # SVT-AV1 prints its configuration to stderr unless told to log errors only.
        os.environ.setdefault("SVT_LOG", "1")
        self._time_base = Fraction(1, fps)
        self._container: Any = av.open(str(path), "w")
        stream = self._container.add_stream(self.codec, fps, options=_OPTIONS.get(self.codec, {}))
        if not isinstance(stream, av.VideoStream):
            self._container.close()
            raise ExportError(f"{self.codec!r} is not a video encoder")
        stream.width = width
        stream.height = height
        stream.pix_fmt = _PIX_FMT
        self._stream = stream

    def write(self, rgb: npt.NDArray[np.uint8]) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self.bytes += packet.size
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self.bytes += packet.size
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def video_info(path: Path) -> dict[str, Any]:
    """A video feature's ``info`` in LeRobot's info.json, read off the file as LeRobot reads it
    (lerobot/datasets/video_utils.py: get_video_info)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        return {
            "video.height": stream.height,
            "video.width": stream.width,
            "video.codec": stream.codec.canonical_name,
            "video.pix_fmt": stream.pix_fmt,
            "video.is_depth_map": False,
            "video.fps": int(stream.base_rate),
            "video.channels": 3,
            "has_audio": has_audio,
        }
