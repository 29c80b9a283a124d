"""Recorded streams into a Rerun recording: numeric streams as time series, cameras as images.

Everything is sent in columns (``send_columns``), one block of samples at a time,
on the ``time`` timeline: seconds since the episode's start on the source-stamp
clock. Camera frames go in still encoded (JPEG/PNG), so nothing is decoded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import rerun as rr

from episodes import ArraySamples, ArrayStreamSpec, EpisodeReader, ImageSamples, ImageStreamSpec, StreamKind

__all__ = ["TIMELINE", "StreamCounts", "camera_entity", "log_streams", "stream_entity", "time_column"]

TIMELINE = "time"
_BLOCK_ROWS = 1024
_MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
_MM_PER_METRE = 1000.0  # depth frames are uint16 millimetres (datasets/FORMAT.md)


@dataclass(frozen=True)
class StreamCounts:
    """How many samples of each stream went into the recording, by stream name."""

    samples: dict[str, int]


def stream_entity(name: str) -> str:
    return f"streams/{name}"


def camera_entity(name: str) -> str:
    return f"cameras/{name}"


def time_column(stamps_ns: npt.NDArray[np.int64], origin_ns: int) -> rr.TimeColumn:
    """The ``time`` index of samples stamped ``stamps_ns``: nanoseconds since ``origin_ns``."""
    return rr.TimeColumn(TIMELINE, duration=(stamps_ns - origin_ns).astype("timedelta64[ns]"))


def log_streams(reader: EpisodeReader, recording: rr.RecordingStream) -> StreamCounts:
    """Every stream of the episode into ``recording``; the sample count of each."""
    origin = reader.origin_ns()
    counts: dict[str, int] = {}
    for name in reader.stream_names:
        spec = reader.spec(name)
        if isinstance(spec, ArrayStreamSpec):
            recording.log(stream_entity(name), rr.SeriesLines(names=_series_names(spec)), static=True)
        counts[name] = 0
        for block in reader.iter_samples(name, max_rows=_BLOCK_ROWS):
            if isinstance(block, ArraySamples):
                _send_values(recording, name, block, origin)
            elif isinstance(spec, ImageStreamSpec):
                _send_frames(recording, spec, block, origin)
            counts[name] += len(block)
    return StreamCounts(counts)


def _series_names(spec: ArrayStreamSpec) -> list[str]:
    """One legend entry per column: its name and unit ("l_arm_pitch [rad]")."""
    units = spec.units if len(spec.units) == spec.dim else spec.units[:1] * spec.dim
    return [f"{n} [{u}]" if u else n for n, u in zip(spec.names, units, strict=True)]


def _send_values(recording: rr.RecordingStream, name: str, block: ArraySamples, origin: int) -> None:
    values: npt.NDArray[Any] = np.asarray(block.data, dtype=np.float64).reshape(len(block), -1)
    recording.send_columns(
        stream_entity(name),
        indexes=[time_column(block.stamp_ns, origin)],
        columns=rr.Scalars.columns(scalars=values),
    )


def _send_frames(
    recording: rr.RecordingStream, spec: ImageStreamSpec, block: ImageSamples, origin: int
) -> None:
    blobs = [image.data for image in block.images]
    media = [_MEDIA_TYPES[spec.encoding.value]] * len(blobs)
    if spec.kind is StreamKind.DEPTH:
        columns = rr.EncodedDepthImage.columns(
            blob=blobs, media_type=media, meter=[_MM_PER_METRE] * len(blobs)
        )
    else:
        columns = rr.EncodedImage.columns(blob=blobs, media_type=media)
    recording.send_columns(
        camera_entity(spec.name), indexes=[time_column(block.stamp_ns, origin)], columns=columns
    )
