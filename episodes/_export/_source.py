"""What an exporter reads: the episodes of a dataset directory on their common aligned grid.

Every exporter writes the same thing: per episode, the aligned ticks (the active
range when asked), the observation and action streams sampled on them, the camera
frame each tick shows, and the episode's task, instruction and success label.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from episodes._errors import EpisodeError
from episodes._export._errors import ExportError
from episodes._maintenance import list_episodes
from episodes._qa._annotate import read_annotations
from episodes._reader import ArraySamples, EpisodeReader
from episodes._spec import ArrayStreamSpec, ImageStreamSpec, Role, StreamKind

__all__ = ["Camera", "ExportOptions", "Layout", "SourceEpisode", "frames", "load_dataset"]

Float64Array = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ExportOptions:
    """Which episodes, ticks and cameras an export takes (keyword-only in the public functions).

    ``cameras``: RGB camera streams to export (None: all of them); ``image_size``:
    ``(height, width)`` every camera is resized to (None: as recorded);
    ``active_range``: only the ticks inside the annotated active range (``tg annotate``).
    """

    cameras: Sequence[str] | None = None
    image_size: tuple[int, int] | None = None
    active_range: bool = False


@dataclass(frozen=True)
class Camera:
    """An exported camera: its stream and the size its frames are written at."""

    stream: str
    height: int
    width: int


@dataclass(frozen=True)
class Layout:
    """What every exported episode has in common (checked across the dataset)."""

    robot: str
    fps: int
    observation: tuple[tuple[str, tuple[str, ...]], ...]
    """Observation array streams in stored order, with their column names."""
    action: tuple[tuple[str, tuple[str, ...]], ...]
    """Action array streams in stored order: the action vector is them concatenated."""
    cameras: tuple[Camera, ...]

    @property
    def state_names(self) -> list[str]:
        return [f"{stream}.{column}" for stream, columns in self.observation for column in columns]

    @property
    def action_names(self) -> list[str]:
        return [f"{stream}.{column}" for stream, columns in self.action for column in columns]


@dataclass(frozen=True)
class SourceEpisode:
    """One episode's exported ticks: ``values[s][t]`` is stream ``s`` at tick ``time_ns[t]``."""

    path: Path
    episode_id: str
    task: str
    instruction: str
    success: bool | None
    time_ns: Int64Array
    values: Mapping[str, Float64Array]
    frame_index: Mapping[str, Int64Array]
    """Per camera: the stored frame each tick shows."""

    @property
    def length(self) -> int:
        return int(self.time_ns.shape[0])

    @property
    def prompt(self) -> str:
        """The language instruction, or the task name when the episode has none."""
        return self.instruction or self.task

    def concat(self, streams: Sequence[tuple[str, tuple[str, ...]]]) -> Float64Array:
        out: Float64Array = np.concatenate([self.values[name] for name, _ in streams], axis=1)
        return out


def load_dataset(
    directory: str | os.PathLike[str],
    options: ExportOptions,
    *,
    on_skip: Callable[[Path], None] | None = None,
) -> tuple[Layout, list[SourceEpisode]]:
    """Read every exportable episode of ``directory``; unreadable ones are skipped with a warning
    (and reported to ``on_skip``)."""
    root = Path(directory)
    paths = list_episodes(root)
    if not paths:
        raise ExportError(f"{root}: no episodes (*.h5) to export")
    layout: Layout | None = None
    first = ""
    loaded: list[SourceEpisode] = []
    for path in paths:
        try:
            with EpisodeReader(path) as reader:
                found = _layout(reader, options)
                if layout is None:
                    layout, first = found, path.name
                else:
                    _check_same(layout, found, path, first)
                episode = _load(reader, layout, options)
        except ExportError:
            raise
        except (EpisodeError, OSError, KeyError, ValueError) as exc:
            warnings.warn(f"{path}: skipped, unreadable ({exc})", UserWarning, stacklevel=2)
            episode = None
        if episode is not None:
            loaded.append(episode)
        elif on_skip is not None:
            on_skip(path)
    if layout is None or not loaded:
        raise ExportError(f"{root}: none of the {len(paths)} episode file(s) could be exported")
    return layout, loaded


def frames(reader: EpisodeReader, camera: Camera, episode: SourceEpisode) -> Iterator[npt.NDArray[np.uint8]]:
    """The episode's frames of ``camera``, one per tick, decoded to RGB at the export size."""
    if episode.length == 0:
        return
    start, stop = int(episode.time_ns[0]), int(episode.time_ns[-1]) + 1
    for frame in reader.iter_aligned(start, stop, streams=[camera.stream], block=64):
        rgb = frame.images[camera.stream].decode()
        if rgb.shape[:2] != (camera.height, camera.width):
            rgb = cv2.resize(rgb, (camera.width, camera.height), interpolation=cv2.INTER_AREA)
        yield rgb


def _layout(reader: EpisodeReader, options: ExportOptions) -> Layout:
    meta = reader.metadata
    view = reader.aligned
    rate = view.rate_hz
    if not (math.isfinite(rate) and rate > 0 and abs(rate - round(rate)) < 1e-9):
        raise ExportError(
            f"{reader.path}: aligned rate {rate} Hz is not a whole number of frames per second, which "
            f"LeRobot and video files need; realign first: tg realign {reader.path.parent} --rate HZ"
        )
    infos = reader.streams
    arrays = {n: i.spec for n, i in infos.items() if isinstance(i.spec, ArrayStreamSpec) and n in view.index}
    rgb = {
        n: i.spec
        for n, i in infos.items()
        if isinstance(i.spec, ImageStreamSpec)
        and i.spec.kind is StreamKind.CAMERA
        and i.spec.channels == 3
        and n in view.index
    }
    chosen = list(options.cameras) if options.cameras is not None else rgb
    unknown = [c for c in chosen if c not in rgb]
    if unknown:
        raise ExportError(
            f"{reader.path}: no RGB camera {', '.join(map(repr, unknown))}; "
            f"RGB cameras: {', '.join(rgb) or 'none'}"
        )
    cameras = []
    for name in chosen:
        height, width = options.image_size or (rgb[name].height, rgb[name].width)
        cameras.append(Camera(name, height, width))
    return Layout(
        robot=meta.robot.profile,
        fps=round(rate),
        observation=tuple((n, s.names) for n, s in arrays.items() if s.role is Role.OBSERVATION),
        action=tuple((n, s.names) for n, s in arrays.items() if s.role is Role.ACTION),
        cameras=tuple(cameras),
    )


def _check_same(layout: Layout, found: Layout, path: Path, first: str) -> None:
    if found.robot != layout.robot:
        raise ExportError(
            f"{path}: robot {found.robot!r}, but {first} is {layout.robot!r}; "
            "one export holds one robot: put each robot's episodes in its own directory"
        )
    for what in ("fps", "observation", "action", "cameras"):
        mine, theirs = getattr(found, what), getattr(layout, what)
        if mine != theirs:
            raise ExportError(
                f"{path}: {what} {_describe(mine)} differ from {first}'s {_describe(theirs)}; "
                "one export holds episodes with the same streams and rate"
            )


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return (
            "["
            + ", ".join(v[0] if isinstance(v, tuple) else getattr(v, "stream", str(v)) for v in value)
            + "]"
        )
    return str(value)


def _load(reader: EpisodeReader, layout: Layout, options: ExportOptions) -> SourceEpisode | None:
    meta = reader.metadata
    view = reader.aligned
    ticks = np.arange(view.num_frames)
    if options.active_range:
        annotations = read_annotations(reader.path)
        if annotations is None:
            raise ExportError(f"{reader.path}: not annotated; run `tg annotate {reader.path.parent}` first")
        inside = (view.time_ns >= annotations.active_start_ns) & (view.time_ns < annotations.active_stop_ns)
        ticks = ticks[inside]
    streams = [name for name, _ in (*layout.observation, *layout.action)] + [c.stream for c in layout.cameras]
    # A stream the grid does not wait for may start after it: keep the ticks where every stream has a sample.
    valid = np.all([view.index[name][ticks] >= 0 for name in streams], axis=0) if streams else ticks >= 0
    ticks = ticks[valid]
    if ticks.size == 0:
        warnings.warn(f"{reader.path}: skipped, no aligned tick to export", UserWarning, stacklevel=3)
        return None
    values: dict[str, Float64Array] = {}
    for name, _ in (*layout.observation, *layout.action):
        rows = view.index[name][ticks]
        samples = reader.read(name)
        if not isinstance(samples, ArraySamples):
            raise ExportError(f"{reader.path}: stream {name!r} holds images, not an array")
        data = np.asarray(samples.data, dtype=np.float64)
        values[name] = data[rows] if rows.size else np.empty((0, data.shape[1]))
    return SourceEpisode(
        path=reader.path,
        episode_id=meta.episode_id,
        task=meta.task,
        instruction=meta.instruction,
        success=meta.success,
        time_ns=view.time_ns[ticks],
        values=values,
        frame_index={c.stream: view.index[c.stream][ticks] for c in layout.cameras},
    )
