"""One episode of a LeRobot export, run wherever the executor puts it: its fragments and facts.

:func:`export_episode` reads one episode, encodes its video once per camera and writes its
data rows, each into the export's work directory under ``.parts/<index>/``: written under a
temporary name and renamed, so a task retried after its worker died rewrites the same names
(nothing is duplicated) and a fragment is whole or absent. It returns an
:class:`EpisodePart`, small enough to travel back by pickle: lengths, task, statistics, what
the video fragments hold. The calling process then packs the fragments in episode order into
LeRobot's files (``_lerobot.py``).

A job's paths are absolute: on a Ray cluster the task runs on another machine that mounts
the same filesystem.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from episodes._export._errors import ExportError
from episodes._export._source import Camera, ExportLayout, frames, load_episode, prompt, video_frame
from episodes._export._video import VideoWriter
from episodes._qa._stats import StreamStats, stream_stats
from episodes._reader import EpisodeReader
from episodes._training import AlignedEpisode, EpisodeEntry

__all__ = [
    "ACTION",
    "DATA_FRAGMENT",
    "STATE",
    "EpisodeJob",
    "EpisodePart",
    "VideoPart",
    "arrow_column",
    "camera_key",
    "export_episode",
    "fragment_folder",
    "fragment_schema",
    "stop_marker",
    "vector_stats",
    "vector_type",
    "video_fragment",
]

STATE, ACTION = "observation.state", "action"
DATA_FRAGMENT = "data.parquet"
"""An episode's rows in its fragment folder: the columns that do not depend on other episodes."""
_STOP = ".stop"
_IMAGE_STAT_FRAMES = 100  # frames per episode and camera the image statistics sample (LeRobot: >= 100)
_IMAGE_STAT_SIDE = 150  # larger frames are subsampled to about this side for them (as LeRobot does)


def camera_key(stream: str) -> str:
    return f"observation.images.{stream}"


def stop_marker(parts: Path) -> Path:
    """The file whose presence tells jobs not yet started that the export failed: they return at once."""
    return parts / _STOP


@dataclass(frozen=True)
class EpisodeJob:
    """One episode to export: its entry, its place in the export's order, what every episode shares."""

    entry: EpisodeEntry
    index: int
    """Its position among the selected episodes; names its fragment folder."""
    layout: ExportLayout
    parts: Path
    """The work directory's ``.parts`` folder (absolute)."""
    active_range: bool

    @property
    def folder(self) -> Path:
        return fragment_folder(self.parts, self.index)


def fragment_folder(parts: Path, index: int) -> Path:
    """Where the fragments of the export's ``index``-th selected episode are."""
    return parts / f"{index:06d}"


@dataclass(frozen=True)
class VideoPart:
    """One camera's video fragment of an episode: ``<folder>/<camera>.mp4``."""

    camera: str
    frames: int
    bytes: int
    """The encoded packets' bytes: what the packed file grows by."""
    codec: str


def video_fragment(folder: Path, camera: str) -> Path:
    """Where an episode's video of ``camera`` is, in its fragment folder."""
    return folder / f"{camera}.mp4"


@dataclass(frozen=True)
class EpisodePart:
    """What a job did: the episode's facts and fragments, or why it has none.

    Exactly one of these holds: it was exported (``length`` > 0), ``skipped`` (why, naming
    the file: unreadable, as a serial export skips it), ``error`` (what stopped it; the
    caller raises it, so an export fails with the type and message a serial one had), or
    ``cancelled`` (it did not start because another episode had failed).
    """

    index: int
    path: Path
    episode_id: str
    length: int = 0
    task: str = ""
    stats: tuple[StreamStats, ...] = ()
    """``observation.state``, ``action``, ``timestamp``, ``frame_index``, then each camera's."""
    videos: tuple[VideoPart, ...] = ()
    skipped: str = ""
    error: BaseException | None = None
    cancelled: bool = False

    @classmethod
    def of(cls, job: EpisodeJob, **facts: Any) -> EpisodePart:
        return cls(job.index, job.entry.path, job.entry.episode_id, **facts)


def export_episode(job: EpisodeJob) -> EpisodePart:
    """Write ``job``'s fragments into ``job.folder``; what they hold (module-level: it is pickled).

    Failures come back in the result rather than as an exception: the caller raises the
    exception itself, with its type, where an executor would pass on only a line of text.
    """
    if stop_marker(job.parts).exists():
        return EpisodePart.of(job, cancelled=True)
    try:
        loaded = load_episode(job.entry, job.layout, active_range=job.active_range)
        if isinstance(loaded, str):
            return EpisodePart.of(job, skipped=loaded)
        episode, reader = loaded
        with reader:
            return _write_fragments(job, episode, reader)
    except Exception as exc:
        return EpisodePart.of(job, error=exc)


def _write_fragments(job: EpisodeJob, episode: AlignedEpisode, reader: EpisodeReader) -> EpisodePart:
    n = len(episode)
    # Not parents=True: a job that outlives a failed export must not bring its work directory back.
    job.folder.mkdir(exist_ok=True)
    frame_index = np.arange(n, dtype=np.int64)
    columns: dict[str, npt.NDArray[Any]] = {
        STATE: episode.state,
        ACTION: episode.action,
        "timestamp": (frame_index / job.layout.fps).astype(np.float32),
        "frame_index": frame_index,
    }
    schema = fragment_schema(job.layout)
    table = pa.Table.from_arrays([arrow_column(columns[f.name], f.type) for f in schema], schema=schema)
    _replace_into(job.folder / DATA_FRAGMENT, lambda path: pq.write_table(table, path, compression="snappy"))
    stats = [vector_stats(key, np.asarray(value, dtype=np.float64)) for key, value in columns.items()]
    videos = []
    for camera in job.layout.cameras:
        rgb = (video_frame(camera, f) for f in frames(reader, camera, episode))
        video, sampled = _encode(job, camera, rgb, n)
        videos.append(video)
        stats.append(_image_stats(camera_key(camera.stream), sampled))
    return EpisodePart.of(job, length=n, task=prompt(episode), stats=tuple(stats), videos=tuple(videos))


def _encode(
    job: EpisodeJob, camera: Camera, rgb_frames: Iterable[npt.NDArray[np.uint8]], n: int
) -> tuple[VideoPart, npt.NDArray[np.uint8]]:
    """The camera's frames as the episode's video fragment, and the frames its statistics sample."""
    stream = camera.stream
    final = video_fragment(job.folder, stream)
    temporary = _temporary(final)
    keep = set(np.linspace(0, n - 1, min(n, _IMAGE_STAT_FRAMES)).round().astype(int).tolist())
    sampled = []
    try:
        with VideoWriter(temporary, fps=job.layout.fps, height=camera.height, width=camera.width) as video:
            for k, rgb in enumerate(rgb_frames):
                video.write(rgb)
                if k in keep:
                    sampled.append(_subsample(rgb))
        if video.frames != n:
            raise ExportError(
                f"{job.entry.path}: camera {stream!r} has {video.frames} frames for {n} ticks; the episode "
                "file changed while it was exported"
            )
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    return VideoPart(stream, video.frames, video.bytes, video.codec), np.stack(sampled)


def _temporary(final: Path) -> Path:
    """A name next to ``final`` no other attempt of the same job uses (one may still run elsewhere),
    keeping its suffix, from which PyAV and pyarrow pick the format."""
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex}.tmp{final.suffix}")


def _replace_into(final: Path, write: Callable[[Path], None]) -> None:
    temporary = _temporary(final)
    try:
        write(temporary)
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def _subsample(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    step = max(1, max(rgb.shape[:2]) // _IMAGE_STAT_SIDE) if max(rgb.shape[:2]) >= 2 * _IMAGE_STAT_SIDE else 1
    return rgb[::step, ::step]


def fragment_schema(layout: ExportLayout) -> pa.Schema:
    """The columns of an episode's data fragment: the first of LeRobot's data file, in its order."""
    return pa.schema(
        [
            pa.field(STATE, vector_type(len(layout.sample.state_names))),
            pa.field(ACTION, vector_type(len(layout.sample.action_names))),
            pa.field("timestamp", pa.float32()),
            pa.field("frame_index", pa.int64()),
        ]
    )


def vector_type(size: int) -> pa.DataType:
    """What Hugging Face ``datasets`` writes for LeRobot's ``Sequence(length=size, Value("float32"))``."""
    return pa.list_(pa.field("item", pa.float32()), size)


def arrow_column(values: npt.NDArray[Any], kind: pa.DataType) -> pa.Array:
    if isinstance(kind, pa.FixedSizeListType):
        flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=kind.value_type)
        return pa.FixedSizeListArray.from_arrays(flat, type=kind)
    return pa.array(values, type=kind)


def vector_stats(key: str, values: npt.NDArray[np.float64]) -> StreamStats:
    rows = values.reshape(values.shape[0], -1)
    return stream_stats(key, [str(i) for i in range(rows.shape[1])], [""] * rows.shape[1], rows)


def _image_stats(key: str, sampled: npt.NDArray[np.uint8]) -> StreamStats:
    """Per-channel statistics in [0, 1] of the sampled frames; ``count`` is the number of frames."""
    pixels = sampled.reshape(-1, 3).astype(np.float64) / 255.0
    return replace(stream_stats(key, ["r", "g", "b"], ["1"] * 3, pixels), count=int(sampled.shape[0]))
