"""What an exporter reads: the selected episodes of a dataset on their common aligned grid.

Selection (filters, unreadable files skipped with a warning, mixed robots or stream
sets refused), the state and action columns and the aligned rows come from
``episodes._training``, the loader's module, so an export holds exactly what
``EpisodeDataset`` would train on. This module adds what a file format needs on top:
one whole frame rate shared by every episode, RGB cameras only, an optional resize.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from episodes._errors import CorruptEpisodeError, EpisodeError, EpisodeSkippedWarning
from episodes._export._errors import ExportError
from episodes._export._options import ExportOptions
from episodes._image_transform import DEPTH_SCALE_M
from episodes._reader import EpisodeReader
from episodes._spec import ImageStreamSpec, StreamKind
from episodes._splits import DEFAULT_VALID_FRACTION, Splits, load_splits, split_of
from episodes._training import (
    AlignedEpisode,
    EpisodeEntry,
    SampleLayout,
    Selection,
    load_aligned,
    sample_layout,
    select_episodes,
)

__all__ = [
    "DEPTH_VIDEO_STEP_M",
    "Camera",
    "ExportLayout",
    "Source",
    "camera_of",
    "exported_episodes",
    "frames",
    "load_episode",
    "open_source",
    "prompt",
    "split_state",
    "video_frame",
]


@dataclass(frozen=True)
class Camera:
    """An exported camera: its stream, the size its frames are written at, and what it holds:
    ``rgb`` (H, W, 3) uint8, ``mono`` (H, W) uint8 or ``depth`` (H, W) uint16 millimetres
    (datasets/FORMAT.md, ``DEPTH_SCALE_M``)."""

    stream: str
    height: int
    width: int
    kind: str = "rgb"


DEPTH_VIDEO_STEP_M = 0.01
"""Metres per grey level of a depth camera's 8-bit video (LeRobot): 0 (no reading) to 2.55 m."""


def camera_of(spec: ImageStreamSpec, size: tuple[int, int] | None) -> Camera:
    """The exported camera of an image stream, at ``size`` (height, width) or its own."""
    kind = "depth" if spec.kind is StreamKind.DEPTH else ("mono" if spec.channels == 1 else "rgb")
    return Camera(spec.name, *(size or (spec.height, spec.width)), kind)


def video_frame(camera: Camera, frame: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """A frame of :func:`frames` as the (H, W, 3) uint8 a video holds: mono as grey, depth as grey
    levels of :data:`DEPTH_VIDEO_STEP_M` (clipped), the convention LeRobot's ``is_depth_map`` marks."""
    if camera.kind == "rgb":
        return frame.astype(np.uint8, copy=False)
    if camera.kind == "depth":
        levels = np.round(frame.astype(np.float64) * (DEPTH_SCALE_M / DEPTH_VIDEO_STEP_M))
        frame = np.clip(levels, 0, 255).astype(np.uint8)
    return np.repeat(frame[:, :, None], 3, axis=2).astype(np.uint8, copy=False)


@dataclass(frozen=True)
class ExportLayout:
    """What every exported episode has in common."""

    robot: str
    fps: int
    sample: SampleLayout
    cameras: tuple[Camera, ...]


@dataclass(frozen=True)
class Source:
    """The selected episodes of a dataset directory and how they are laid out."""

    root: Path
    entries: tuple[EpisodeEntry, ...]
    layout: ExportLayout
    splits: Splits | None
    """The dataset's ``splits.json``, if it has one."""
    excluded: Mapping[str, int]
    """Why episodes of the directory were left out -> how many (:attr:`Selection.excluded`)."""

    def split(self, episode_id: str) -> str:
        """``train`` or ``valid``: the split :class:`EpisodeDataset` puts the episode in."""
        if self.splits is not None:
            return self.splits.of(episode_id)
        return split_of(episode_id, DEFAULT_VALID_FRACTION)

    def episodes(self, *, active_range: bool) -> Iterator[tuple[AlignedEpisode, EpisodeReader]]:
        """Each episode's rows with its open file; one whose data cannot be read (or that has no
        usable tick) is skipped with a warning naming it."""
        for entry in self.entries:
            loaded = load_episode(entry, self.layout, active_range=active_range)
            if isinstance(loaded, str):
                warnings.warn(loaded, EpisodeSkippedWarning, stacklevel=2)
                continue
            episode, reader = loaded
            with reader:
                yield episode, reader


def load_episode(
    entry: EpisodeEntry, layout: ExportLayout, *, active_range: bool
) -> tuple[AlignedEpisode, EpisodeReader] | str:
    """``entry``'s rows and its open file (the caller closes it), or why it is skipped: a message
    naming the file, for an :class:`EpisodeSkippedWarning` (an unreadable file, or no usable tick).

    Exporters that run episodes on other processes return the message to the caller, who warns.
    """
    try:
        reader = EpisodeReader(entry.path)
    except (EpisodeError, OSError) as exc:
        return f"{entry.path}: skipped, unreadable ({exc})"
    try:
        episode = load_aligned(entry, layout.sample, active_only=active_range, reader=reader)
    except (OSError, KeyError, ValueError, CorruptEpisodeError) as exc:
        reader.close()
        return f"{entry.path}: skipped, unreadable ({exc})"
    except BaseException:
        reader.close()
        raise
    if len(episode) == 0:
        reader.close()
        return f"{entry.path}: skipped, no aligned tick where every exported stream has a sample"
    return episode, reader


def exported_episodes(
    selected: Source, options: ExportOptions
) -> Iterator[tuple[AlignedEpisode, EpisodeReader]]:
    """:meth:`Source.episodes` for an exporter: ``options.on_episode`` is called with each episode's
    id once the exporter has written it (asked for the next), and none at all is an :class:`ExportError`."""
    count = 0
    for episode, reader in selected.episodes(active_range=options.active_range):
        yield episode, reader
        count += 1
        if options.on_episode is not None:
            options.on_episode(episode.episode_id)
    if not count:
        raise ExportError(f"{selected.root}: none of the selected episodes could be read")


def prompt(episode: AlignedEpisode) -> str:
    """The task string a language-conditioned policy sees: the instruction, else the task name."""
    return episode.instruction or episode.task


def open_source(source: str | os.PathLike[str] | Selection, options: ExportOptions) -> Source:
    """Select the episodes of ``source`` (a directory, or a selection already made) and fix the layout."""
    selection = (
        source
        if isinstance(source, Selection)
        else select_episodes(source, options.filter, on_mixed=options.on_mixed)
    )
    cameras, image_size = options.cameras, options.image_size
    first = selection.episodes[0]
    images = {s.name: s for s in first.streams if isinstance(s, ImageStreamSpec)}
    chosen = list(cameras) if cameras is not None else list(images)
    unknown = [c for c in chosen if c not in images]
    if unknown:
        raise ExportError(
            f"{first.path}: no camera {', '.join(map(repr, unknown))}; cameras: {', '.join(images) or 'none'}"
        )
    if image_size is not None and min(image_size) < 1:
        raise ExportError(
            f"image size must be positive, got {image_size[0]}x{image_size[1]} (height x width)"
        )
    sample = sample_layout(first, state_streams=options.state, action_streams=options.action, cameras=chosen)
    layout = ExportLayout(
        robot=first.robot,
        fps=_fps(selection.episodes),
        sample=sample,
        cameras=tuple(camera_of(images[name], image_size) for name in chosen),
    )
    return Source(selection.root, selection.episodes, layout, load_splits(selection.root), selection.excluded)


def _fps(entries: Sequence[EpisodeEntry]) -> int:
    """The aligned rate of the selection (which refuses mixed rates), as whole frames per second."""
    first = entries[0]
    rate = first.aligned_rate_hz
    if not (math.isfinite(rate) and rate > 0 and abs(rate - round(rate)) < 1e-9):
        raise ExportError(
            f"{first.path}: aligned rate {rate:g} Hz is not a whole number of frames per second, which "
            f"LeRobot and video files need; realign first, e.g. tg realign {first.path.parent} --rate 30"
        )
    return round(rate)


def split_state(layout: ExportLayout, state: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
    """The concatenated state back into its streams' columns."""
    return {name: state[:, layout.sample.columns(name)] for name in layout.sample.state_streams}


def frames(
    reader: EpisodeReader, camera: Camera, episode: AlignedEpisode
) -> Iterator[npt.NDArray[np.generic]]:
    """The episode's frames of ``camera``, one per tick, decoded at the export size: RGB (H, W, 3),
    mono (H, W) or depth (H, W) uint16 (resized to the nearest pixel: averaging depths invents some)."""
    if len(episode) == 0:
        return
    start, stop = int(episode.time_ns[0]), int(episode.time_ns[-1]) + 1
    resize = cv2.INTER_NEAREST if camera.kind == "depth" else cv2.INTER_AREA
    for frame in reader.iter_aligned(start, stop, streams=[camera.stream], block=64):
        pixels = frame.images[camera.stream].decode()
        if pixels.shape[:2] != (camera.height, camera.width):
            pixels = cv2.resize(pixels, (camera.width, camera.height), interpolation=resize)
        yield pixels
