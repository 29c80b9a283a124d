"""Episodes given as rows at one frame rate, as imported datasets hold them, written as ours.

ALOHA/ACT files and LeRobot datasets keep one row per control step and no clock of
their own (LeRobot's ``timestamp`` column is ``frame_index / fps``): row ``k`` gets
``stamp_ns = arrival_ns = round(k * 1e9 / rate_hz)`` from the episode's start, which
the episode records in ``import_json`` (``timestamps = "reconstructed"``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from episodes._spec import ArrayStreamSpec, EpisodeInfo, ImageStreamSpec
from episodes._writer import EpisodeWriter, WriterOptions

__all__ = ["FramedEpisode", "Frames", "frame_stamps", "write_framed"]

Frames = Callable[[], Iterator[npt.NDArray[Any]]]
"""A camera's frames, decoded on demand, one per row: (H, W, 3) or (H, W) uint8, (H, W) uint16 depth."""


@dataclass(frozen=True)
class FramedEpisode:
    """One episode as rows at ``rate_hz``: each array stream's (N, D) values and each camera's frames."""

    info: EpisodeInfo
    rate_hz: float
    arrays: Mapping[str, tuple[ArrayStreamSpec, npt.NDArray[np.float64]]]
    cameras: Mapping[str, tuple[ImageStreamSpec, Frames]] = field(default_factory=dict)
    urdf: str = ""
    success: bool | None = None


def frame_stamps(rows: int, rate_hz: float) -> npt.NDArray[np.int64]:
    """Row ``k``'s time in ns, ``k / rate_hz`` rounded.

    >>> frame_stamps(3, 50.0).tolist()
    [0, 20000000, 40000000]
    """
    return np.round(np.arange(rows) * (1e9 / rate_hz)).astype(np.int64)


def write_framed(directory: str | os.PathLike[str], episode: FramedEpisode) -> Path:
    """Write ``episode`` into the dataset ``directory`` through the writer; returns the file."""
    specs = [spec for spec, _ in episode.arrays.values()] + [spec for spec, _ in episode.cameras.values()]
    options = WriterOptions(urdf=episode.urdf or None)
    with EpisodeWriter(
        Path(directory), streams=specs, info=episode.info, aligned_rate_hz=episode.rate_hz, options=options
    ) as writer:
        for name, (_, values) in episode.arrays.items():
            stamps = frame_stamps(len(values), episode.rate_hz)
            writer.append_block(name, stamps, values, arrivals_ns=stamps)
        for name, (_, frames) in episode.cameras.items():
            for k, frame in enumerate(frames()):
                stamp = round(k * 1e9 / episode.rate_hz)
                writer.append(name, stamp, frame, arrival_ns=stamp)
        if episode.success is not None:
            writer.set_labels(success=episode.success)
    return writer.final_path
