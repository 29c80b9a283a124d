"""A dataset directory as a LeRobot dataset, format v3.0 (what ``lerobot`` 0.4 loads).

The layout and every key follow LeRobot's own writer, ``lerobot/datasets/lerobot_dataset.py``
(``LeRobotDatasetMetadata.create``, ``save_episode``, ``_save_episode_data``,
``_save_episode_video``) and ``lerobot/datasets/utils.py`` (``create_empty_dataset_info``,
``DEFAULT_FEATURES``, the path templates), release 0.4.4::

    meta/info.json                      fps, features, totals, path templates
    meta/stats.json                     per feature: min max mean std count q01 q10 q50 q90 q99
    meta/tasks.parquet                  task_index, indexed by the task string (pandas index)
    meta/episodes/chunk-000/file-000.parquet   one row per episode: length, where its rows and
                                               video frames are, its own statistics
    data/chunk-000/file-000.parquet     one row per aligned tick of every episode
    videos/observation.images.<camera>/chunk-000/file-000.mp4   episodes back to back

Timestamps are ``frame_index / fps``: our aligned grid is fixed-rate, so this is the tick's
time since the episode's first exported tick, to within a nanosecond.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from episodes._errors import EpisodeSkippedWarning
from episodes._export._errors import ExportError
from episodes._export._lerobot_episode import (
    ACTION,
    DATA_FRAGMENT,
    STATE,
    EpisodeJob,
    EpisodePart,
    VideoPart,
    arrow_column,
    camera_key,
    export_episode,
    fragment_folder,
    fragment_schema,
    stop_marker,
    vector_stats,
    video_fragment,
)
from episodes._export._lerobot_meta import lerobot_stats, split_ranges, write_episodes, write_tasks
from episodes._export._options import ExportOptions
from episodes._export._source import Camera, ExportLayout, Source, open_source
from episodes._export._target import ExportResult, discard_work, prepare_target
from episodes._export._video import VideoJoiner, video_info
from episodes._qa._stats import StreamStats, aggregate
from episodes._training import Selection
from tg_exec import Executor, LocalExecutor, default_workers

__all__ = ["CODEBASE_VERSION", "camera_key", "export_lerobot"]

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
_CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + _CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + _CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + _CHUNK_FILE + ".parquet"
# Columns every LeRobot dataset has, in LeRobot's order (utils.py: DEFAULT_FEATURES).
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
# The data columns that depend on the episodes before: filled in when the fragments are packed.
_PACKED_COLUMNS = ("episode_index", "index", "task_index")
_PARTS = ".parts"  # the fragments' folder in the work directory, removed before it is renamed
# Without workers named, an export smaller than this (frames x exported pixels per tick) runs in
# this process: spawning a pool and importing numpy, h5py and PyAV in it takes about a second or
# two, what encoding this many pixels takes.
_POOL_PIXELS = 20_000_000


def export_lerobot(
    source: str | os.PathLike[str] | Selection,
    out: str | os.PathLike[str],
    options: ExportOptions | None = None,
    executor: Executor | None = None,
) -> ExportResult:
    """Write a dataset directory's episodes (or a :class:`Selection` of them) as a LeRobot v3.0
    dataset in the new directory ``out``.

    ``observation.state`` is the state columns and ``action`` the action columns of
    :func:`sample_layout` (``options.state`` / ``options.action``, by default the commanded
    joints' positions and the grippers, and the action streams; their ``stream.column``
    names are the features' ``names``), each RGB camera a video ``observation.images.<name>`` (at
    ``options.image_size`` if given), each episode's task its language instruction (its task
    name when it has none). :class:`ExportOptions` says which episodes, cameras and ticks.

    Each episode is read and encoded on ``executor`` (default: ``options.workers`` local
    processes, else all cores for an export large enough to pay for them); this process then
    joins the episodes' fragments into LeRobot's files and writes meta/. An episode whose
    export fails (or whose worker died as often as the executor retries) fails the export,
    naming it, and leaves nothing; an unreadable one is skipped with a warning, as ever.

    >>> import episodes
    >>> episodes.export_lerobot("datasets/demo", "exports/demo_lerobot")  # doctest: +SKIP
    ExportResult(out=PosixPath('exports/demo_lerobot'), format='lerobot', episodes=4, ...)
    """
    options = options or ExportOptions()
    target, work = prepare_target(Path(out))
    selected = _train_first(open_source(source, options))
    writer = _LeRobotWriter(work, selected.layout, selected.split if selected.splits is not None else None)
    try:
        work.mkdir()
        parts = work.resolve() / _PARTS
        parts.mkdir()
        done = _run(_jobs(selected, parts, options), executor, options)
        writer.pack(done, parts)
        shutil.rmtree(parts)
        writer.finish()
        os.replace(work, target)
    except BaseException as exc:
        # Closing flushes files that may fail again on the same full disk: the
        # first error is the one to report, and the work directory goes regardless.
        with contextlib.suppress(Exception):
            writer.close()
        reported = discard_work(exc, target, work)
        if reported is exc:
            raise
        raise reported from None
    return _result(target, selected, writer)


def _train_first(selected: Source) -> Source:
    """LeRobot's splits are index ranges: the train episodes first, then the validation ones."""
    if selected.splits is None:
        return selected
    return replace(
        selected,
        entries=tuple(sorted(selected.entries, key=lambda e: selected.split(e.episode_id) == "valid")),
    )


def _jobs(selected: Source, parts: Path, options: ExportOptions) -> list[EpisodeJob]:
    """One job per selected episode, in export order; paths absolute (a Ray worker runs in a
    directory of its own, or on another machine)."""
    return [
        EpisodeJob(replace(entry, path=entry.path.resolve()), i, selected.layout, parts, options.active_range)
        for i, entry in enumerate(selected.entries)
    ]


def _run(jobs: Sequence[EpisodeJob], executor: Executor | None, options: ExportOptions) -> list[EpisodePart]:
    """Every job on ``executor`` (or local processes); a failure stops the jobs not yet started."""

    def finished(part: EpisodePart) -> None:
        if part.error is not None:
            with contextlib.suppress(OSError):
                stop_marker(jobs[0].parts).touch()
        elif part.length and options.on_episode is not None:
            options.on_episode(part.episode_id)

    if executor is not None:
        return executor.map(export_episode, jobs, on_failure=_died, on_result=finished)
    with LocalExecutor(_workers(jobs, options)) as local:
        return local.map(export_episode, jobs, on_failure=_died, on_result=finished)


def _workers(jobs: Sequence[EpisodeJob], options: ExportOptions) -> int:
    if options.workers is not None:
        return options.workers
    if not jobs:
        return 1
    per_tick = sum(c.height * c.width for c in jobs[0].layout.cameras)
    pixels = per_tick * sum(job.entry.num_frames for job in jobs)
    return 1 if pixels < _POOL_PIXELS else default_workers()


def _died(job: EpisodeJob, why: str) -> EpisodePart:
    """A job whose worker died as often as the executor retries (a crash in a C library on a damaged
    file, a killed process or node), or that could not run at all."""
    return EpisodePart.of(
        job,
        error=ExportError(
            f"{job.entry.path}: exporting it failed ({why}); nothing was exported. Check the episode "
            f"(tg validate {job.entry.path}) or move it out of the directory, and export again"
        ),
    )


def _result(target: Path, selected: Source, writer: _LeRobotWriter) -> ExportResult:
    return ExportResult(
        out=target,
        format="lerobot",
        episodes=len(writer.episode_ids),
        frames=writer.total_frames,
        episode_ids=tuple(writer.episode_ids),
        cameras=tuple(c.stream for c in selected.layout.cameras),
        left_out=dict(selected.excluded),
        details={
            "codec": writer.codec,
            "fps": selected.layout.fps,
            # LeRobot's info.json only knows "train": the loader's split as episode indices,
            # for LeRobotDataset(..., episodes=...).
            "valid_episodes": [i for i, e in enumerate(writer.episode_ids) if selected.split(e) == "valid"],
        },
    )


class _LeRobotWriter:
    """The single merge: the episodes' fragments packed in order into LeRobot's files, then meta/."""

    def __init__(self, root: Path, layout: ExportLayout, split: Callable[[str], str] | None = None) -> None:
        self.root = root
        self.layout = layout
        self._split = split  # the dataset's splits.json, for info.json's splits
        self.total_frames = 0
        self.codec = ""
        self.episode_ids: list[str] = []
        self._tasks: dict[str, int] = {}
        self._episodes: list[dict[str, Any]] = []
        self._stats: list[dict[str, StreamStats]] = []
        self._data = _ParquetFiles(root, _data_schema(layout), bytes_per_row=_bytes_per_row(layout))
        self._videos = {c.stream: _VideoFiles(root, c, layout.fps) for c in layout.cameras}

    def pack(self, done: Sequence[EpisodePart], parts: Path) -> None:
        """Every exported episode in order; the first failure raised as it was, the skipped ones warned of."""
        for part in done:
            if part.error is not None:
                raise part.error
        for part in done:
            if part.skipped:
                warnings.warn(part.skipped, EpisodeSkippedWarning, stacklevel=3)
            elif part.length:
                self.add(part, fragment_folder(parts, part.index))
        if not self._episodes:
            raise ExportError(f"{parts.parent}: none of the selected episodes could be read")

    def add(self, part: EpisodePart, folder: Path) -> None:
        """One episode's fragments appended (and then removed: the disk holds each frame once, about)."""
        index, n = len(self._episodes), part.length
        task_index = self._tasks.setdefault(part.task, len(self._tasks))
        packed = {
            "episode_index": np.full(n, index, dtype=np.int64),
            "index": np.arange(self.total_frames, self.total_frames + n, dtype=np.int64),
            "task_index": np.full(n, task_index, dtype=np.int64),
        }
        rows = pq.read_table(folder / DATA_FRAGMENT)
        columns = [*rows.columns, *(arrow_column(packed[name], pa.int64()) for name in _PACKED_COLUMNS)]
        chunk, file = self._data.write(pa.Table.from_arrays(columns, schema=self._data.schema), n)
        row: dict[str, Any] = {
            "episode_index": index,
            "tasks": [part.task],
            "length": n,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": self.total_frames,
            "dataset_to_index": self.total_frames + n,
        }
        for video in part.videos:
            placed = self._videos[video.camera].append(video_fragment(folder, video.camera), video)
            row.update({f"videos/{camera_key(video.camera)}/{k}": v for k, v in placed.items()})
            self.codec = self.codec or video.codec
        row["tg_episode_id"] = part.episode_id
        self._episodes.append(row)
        self.episode_ids.append(part.episode_id)
        self._stats.append(self._episode_stats(part, packed))
        self.total_frames += n
        shutil.rmtree(folder)

    def _episode_stats(
        self, part: EpisodePart, packed: dict[str, npt.NDArray[np.int64]]
    ) -> dict[str, StreamStats]:
        """In the columns' order, as a serial export kept them: the data's, then the cameras'."""
        rows = len(fragment_schema(self.layout))
        stats = {s.stream: s for s in part.stats[:rows]}
        stats.update({key: vector_stats(key, values.astype(np.float64)) for key, values in packed.items()})
        stats.update({s.stream: s for s in part.stats[rows:]})
        return stats

    def close(self) -> None:
        self._data.close()
        for files in self._videos.values():
            files.close()

    def finish(self) -> None:
        self.close()
        infos = {}
        for camera in self.layout.cameras:
            info = video_info(self.root / self._videos[camera.stream].first_path)
            # LeRobot's flag for a depth map; its grey levels are DEPTH_VIDEO_STEP_M apart (EXPORT.md).
            info["video.is_depth_map"] = camera.kind == "depth"
            infos[camera_key(camera.stream)] = info
        meta = self.root / "meta"
        meta.mkdir()
        write_tasks(meta / "tasks.parquet", list(self._tasks))
        write_episodes(
            self.root / EPISODES_PATH.format(chunk_index=0, file_index=0), self._episodes, self._stats
        )
        totals = {key: aggregate([s[key] for s in self._stats]) for key in self._stats[0]}
        (meta / "stats.json").write_text(
            json.dumps({key: lerobot_stats(s) for key, s in totals.items()}, indent=4) + "\n",
            encoding="utf-8",
        )
        (meta / "info.json").write_text(json.dumps(self._info(infos), indent=4) + "\n", encoding="utf-8")

    def _splits(self) -> dict[str, str]:
        if self._split is None:
            return {"train": f"0:{len(self._episodes)}"}
        return split_ranges([self._split(e) for e in self.episode_ids])

    def _info(self, video_infos: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """meta/info.json as lerobot/datasets/utils.py: create_empty_dataset_info fills it."""
        layout = self.layout
        features: dict[str, dict[str, Any]] = {
            STATE: _vector_feature(layout.sample.state_names),
            ACTION: _vector_feature(layout.sample.action_names),
        }
        for camera in layout.cameras:
            key = camera_key(camera.stream)
            features[key] = {
                "dtype": "video",
                "shape": [camera.height, camera.width, 3],
                "names": ["height", "width", "channels"],
                "info": video_infos[key],
            }
        episodes = len(self._episodes)
        return {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": layout.robot or None,
            "total_episodes": episodes,
            "total_frames": self.total_frames,
            "total_tasks": len(self._tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
            "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
            "fps": layout.fps,
            "splits": self._splits(),
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if layout.cameras else None,
            "features": {**features, **DEFAULT_FEATURES},
        }


def _vector_feature(names: Sequence[str]) -> dict[str, Any]:
    return {"dtype": "float32", "shape": [len(names)], "names": list(names)}


def _next_file(chunk: int, file: int) -> tuple[int, int]:
    """The file after ``(chunk, file)``: a new chunk every CHUNKS_SIZE files
    (utils.py: update_chunk_file_indices)."""
    return (chunk + 1, 0) if file == CHUNKS_SIZE - 1 else (chunk, file + 1)


class _ParquetFiles:
    """The data files: episodes' rows appended, a new file when the size limit would be passed."""

    def __init__(self, root: Path, schema: pa.Schema, *, bytes_per_row: int) -> None:
        self._root = root
        self.schema = schema
        self._bytes_per_row = bytes_per_row
        self._where = (0, 0)
        self._rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, rows: pa.Table, n: int) -> tuple[int, int]:
        limit = DATA_FILES_SIZE_IN_MB * 1024**2
        if self._writer is not None and (self._rows + n) * self._bytes_per_row >= limit:
            self.close()
            self._where = _next_file(*self._where)
        if self._writer is None:
            path = self._root / DATA_PATH.format(chunk_index=self._where[0], file_index=self._where[1])
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(path, self.schema, compression="snappy")
            self._rows = 0
        self._writer.write_table(rows)
        self._rows += n
        return self._where

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _VideoFiles:
    """One camera's video files: episodes' fragments joined back to back, a new file when the size
    limit is passed."""

    def __init__(self, root: Path, camera: Camera, fps: int) -> None:
        self._root = root
        self._camera = camera
        self._fps = fps
        self._where = (0, 0)
        self._video: VideoJoiner | None = None
        self.first_path = self._path(0, 0)

    def _path(self, chunk: int, file: int) -> Path:
        return Path(
            VIDEO_PATH.format(video_key=camera_key(self._camera.stream), chunk_index=chunk, file_index=file)
        )

    def append(self, fragment: Path, part: VideoPart) -> dict[str, Any]:
        """The fragment at the end of the current file; where it went, as meta/episodes says it."""
        video = self._video
        if video is not None and video.bytes >= VIDEO_FILES_SIZE_IN_MB * 1024**2:
            self.close()
            self._where = _next_file(*self._where)
            video = None
        if video is None:
            path = self._root / self._path(*self._where)
            path.parent.mkdir(parents=True, exist_ok=True)
            video = self._video = VideoJoiner(path, fps=self._fps)
        start = video.frames
        if video.append(fragment) != part.frames:
            raise ExportError(
                f"{fragment}: {video.frames - start} frames where its episode has {part.frames}; the "
                "fragment was changed while the export ran: export again"
            )
        return {
            "chunk_index": self._where[0],
            "file_index": self._where[1],
            "from_timestamp": start / self._fps,
            "to_timestamp": video.frames / self._fps,
        }

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None


def _data_schema(layout: ExportLayout) -> pa.Schema:
    """The data files' columns: an episode's fragment's, then those packing fills in."""
    packed = [pa.field(name, pa.int64()) for name in _PACKED_COLUMNS]
    return pa.schema([*fragment_schema(layout), *packed])


def _bytes_per_row(layout: ExportLayout) -> int:
    return 4 * (len(layout.sample.state_names) + len(layout.sample.action_names)) + 4 + 4 * 8
