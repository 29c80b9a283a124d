"""What `tg info` shows: a typed summary of an episode, convertible to JSON."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from episodes._reader import EpisodeMetadata, EpisodeReader, StreamInfo

__all__ = ["EpisodeSummary", "StreamSummary", "summarize"]


@dataclass(frozen=True)
class StreamSummary:
    name: str
    kind: str
    role: str
    sample_shape: tuple[int, ...]
    dtype: str
    count: int
    expected_rate_hz: float | None
    measured_rate_hz: float
    duration_s: float
    encoding: str
    topic: str

    @classmethod
    def of(cls, info: StreamInfo) -> StreamSummary:
        spec = info.spec
        return cls(
            name=info.name,
            kind=spec.kind.value,
            role=spec.role.value,
            sample_shape=info.sample_shape,
            dtype=spec.dtype,
            count=info.count,
            expected_rate_hz=spec.rate_hz,
            measured_rate_hz=round(info.measured_rate_hz, 3),
            duration_s=round(info.duration_s, 3),
            encoding=getattr(getattr(spec, "encoding", None), "value", ""),
            topic=spec.topic,
        )


@dataclass(frozen=True)
class EpisodeSummary:
    path: str
    size_bytes: int
    partial: bool
    metadata: EpisodeMetadata
    streams: tuple[StreamSummary, ...]
    aligned_rate_hz: float
    aligned_frames: int
    aligned_reason: str
    annotations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-safe structure (what `tg info --json` prints)."""
        out = dataclasses.asdict(self)
        meta = out["metadata"]
        meta["robot"]["joint_names"] = list(meta["robot"]["joint_names"])
        meta["duration_s"] = round(self.metadata.duration_s, 3)
        meta["extra"] = dict(self.metadata.extra)
        for stream in out["streams"]:
            stream["sample_shape"] = list(stream["sample_shape"])
        out["annotations"] = list(self.annotations)
        return out


def summarize(path: str | os.PathLike[str]) -> EpisodeSummary:
    """Read an episode's metadata, stream statistics and aligned view size."""
    p = Path(path)
    with EpisodeReader(p) as reader:
        aligned = reader.aligned
        return EpisodeSummary(
            path=str(p),
            size_bytes=p.stat().st_size,
            partial=reader.is_partial,
            metadata=reader.metadata,
            streams=tuple(StreamSummary.of(info) for info in reader.streams.values()),
            aligned_rate_hz=aligned.rate_hz,
            aligned_frames=aligned.num_frames,
            aligned_reason=aligned.reason,
            annotations=reader.annotations,
        )
