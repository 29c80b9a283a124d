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

__all__ = ["VideoJoiner", "VideoWriter", "pick_codec", "video_info"]

# LeRobot's default (lerobot/datasets/video_utils.py: encode_video_frames): AV1 through SVT-AV1,
# yuv420p, a keyframe every 2 frames (cheap random access), crf 30, preset 12. The others are
# what a PyAV build without SVT-AV1 still has.
_CODECS = ("libsvtav1", "libx264", "mpeg4")
# Threads pinned where the bytes depend on them: x264's output changes with its thread count,
# which by default follows the machine's cores, and an export must give the same bytes whichever
# worker (or Ray node) encodes an episode. SVT-AV1's output does not depend on its threads; its
# level of parallelism is 1 all the same (about 20 threads per encoder instead of 40): an export
# runs one encoder per core, and one with the automatic level once hung for good in
# svt_av1_enc_get_packet on a loaded machine (SVT-AV1 4.1.0 in PyAV 18, 49 threads all waiting).
_OPTIONS: dict[str, dict[str, str]] = {
    "libsvtav1": {"g": "2", "crf": "30", "preset": "12", "svtav1-params": "lp=1"},
    "libx264": {"g": "2", "crf": "23", "threads": "4"},
    "mpeg4": {"g": "2", "qscale": "3", "threads": "1"},
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


class VideoJoiner:
    """MP4 files of one encoding (as :class:`VideoWriter` makes them) back to back in one file,
    their packets copied, never re-encoded (as lerobot's ``concatenate_video_files`` joins them).

    Each file's timestamps are shifted by the frames before it, so frame ``k`` of the whole is
    at ``k / fps`` as if one writer had written them all; every file starts with a keyframe, so
    each one decodes exactly from its first frame on.

    >>> import tempfile, numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("a", "b"):
    ...     with VideoWriter(folder / f"{name}.mp4", fps=10, height=32, width=64) as video:
    ...         for k in range(3):
    ...             video.write(np.full((32, 64, 3), 40 * k, dtype=np.uint8))
    >>> with VideoJoiner(folder / "ab.mp4", fps=10) as joined:
    ...     joined.append(folder / "a.mp4"), joined.append(folder / "b.mp4")
    (3, 3)
    >>> joined.frames
    6
    """

    def __init__(self, path: Path, *, fps: int) -> None:
        self.path = path
        self.frames = 0
        self.bytes = 0
        """Bytes of the packets muxed so far."""
        self._fps = fps
        self._container: Any = av.open(str(path), "w")
        self._stream: Any = None
        self._encoding: tuple[Any, ...] = ()

    def append(self, fragment: Path) -> int:
        """Copy ``fragment``'s packets to the end; the number of frames it held."""
        with av.open(str(fragment)) as source:
            video = source.streams.video[0]
            stream = self._output_for(video, fragment)
            # Shift by the frames already written, in the fragment's own time base.
            shift = Fraction(self.frames, self._fps) / video.time_base
            if shift.denominator != 1:
                raise ExportError(
                    f"{fragment}: time base {video.time_base} cannot place frames at k / {self._fps}"
                )
            count = 0
            for packet in source.demux(video):
                if packet.dts is None:  # the demuxer's empty packet at the end
                    continue
                packet.pts += int(shift)
                packet.dts += int(shift)
                packet.stream = stream
                self.bytes += packet.size
                self._container.mux(packet)
                count += 1
        self.frames += count
        return count

    def _output_for(self, video: Any, fragment: Path) -> Any:
        """The output stream, made from the first fragment; a later one must be encoded the same way."""
        encoding = (video.codec_context.name, video.width, video.height, video.codec_context.extradata)
        if self._stream is None:
            # Opaque: the packets' codec parameters copied as they are, no encoder opened.
            self._stream = self._container.add_stream_from_template(video, opaque=True)
            self._encoding = encoding
        elif encoding != self._encoding:
            raise ExportError(
                f"{fragment}: encoded as {video.codec_context.name} {video.width}x{video.height} with other "
                f"settings than the video it joins ({self.path}); every episode of an export must be encoded "
                "by the same PyAV build: install one version on every worker and export again"
            )
        return self._stream

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoJoiner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
