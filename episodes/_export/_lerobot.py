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
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from episodes._export._errors import ExportError
from episodes._export._options import ExportOptions
from episodes._export._source import (
    Camera,
    ExportLayout,
    exported_episodes,
    frames,
    open_source,
    prompt,
    video_frame,
)
from episodes._export._target import ExportResult, discard_work, prepare_target
from episodes._export._video import VideoWriter, video_info
from episodes._qa._stats import QUANTILES, StreamStats, aggregate, stream_stats
from episodes._reader import EpisodeReader
from episodes._training import AlignedEpisode, Selection

__all__ = ["CODEBASE_VERSION", "export_lerobot"]

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
_CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + _CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + _CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + _CHUNK_FILE + ".parquet"
STATE, ACTION = "observation.state", "action"
# Columns every LeRobot dataset has, in LeRobot's order (utils.py: DEFAULT_FEATURES).
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
_IMAGE_STAT_FRAMES = 100  # frames per episode and camera the image statistics sample (LeRobot: >= 100)
_IMAGE_STAT_SIDE = 150  # larger frames are subsampled to about this side for them (as LeRobot does)


def camera_key(stream: str) -> str:
    return f"observation.images.{stream}"


def export_lerobot(
    source: str | os.PathLike[str] | Selection,
    out: str | os.PathLike[str],
    options: ExportOptions | None = None,
) -> ExportResult:
    """Write a dataset directory's episodes (or a :class:`Selection` of them) as a LeRobot v3.0
    dataset in the new directory ``out``.

    ``observation.state`` is the state columns and ``action`` the action columns of
    :func:`sample_layout` (``options.state`` / ``options.action``, by default the commanded
    joints' positions and the grippers, and the action streams; their ``stream.column``
    names are the features' ``names``), each RGB camera a video ``observation.images.<name>`` (at
    ``options.image_size`` if given), each episode's task its language instruction (its task
    name when it has none). :class:`ExportOptions` says which episodes, cameras and ticks.

    >>> import episodes
    >>> episodes.export_lerobot("datasets/demo", "exports/demo_lerobot")  # doctest: +SKIP
    ExportResult(out=PosixPath('exports/demo_lerobot'), format='lerobot', episodes=4, ...)
    """
    options = options or ExportOptions()
    target, work = prepare_target(Path(out))
    selected = open_source(source, options)
    if selected.splits is not None:
        # LeRobot's splits are index ranges: the train episodes first, then the validation ones.
        selected = replace(
            selected,
            entries=tuple(sorted(selected.entries, key=lambda e: selected.split(e.episode_id) == "valid")),
        )
    writer = _LeRobotWriter(work, selected.layout, selected.split if selected.splits is not None else None)
    try:
        work.mkdir()
        for episode, reader in exported_episodes(selected, options):
            writer.add(episode, reader)
        writer.finish()
        os.replace(work, target)
    except BaseException as exc:
        # Closing flushes encoders that may fail again on the same full disk: the
        # first error is the one to report, and the work directory goes regardless.
        with contextlib.suppress(Exception):
            writer.close()
        reported = discard_work(exc, target, work)
        if reported is exc:
            raise
        raise reported from None
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

    def add(self, episode: AlignedEpisode, reader: EpisodeReader) -> None:
        index = len(self._episodes)
        n = len(episode)
        task = prompt(episode)
        task_index = self._tasks.setdefault(task, len(self._tasks))
        frame_index = np.arange(n, dtype=np.int64)
        columns: dict[str, npt.NDArray[Any]] = {
            STATE: episode.state,
            ACTION: episode.action,
            "timestamp": (frame_index / self.layout.fps).astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(n, index, dtype=np.int64),
            "index": np.arange(self.total_frames, self.total_frames + n, dtype=np.int64),
            "task_index": np.full(n, task_index, dtype=np.int64),
        }
        row: dict[str, Any] = {"episode_index": index, "tasks": [task], "length": n}
        chunk, file = self._data.write(columns, n)
        row.update(
            {
                "data/chunk_index": chunk,
                "data/file_index": file,
                "dataset_from_index": self.total_frames,
                "dataset_to_index": self.total_frames + n,
            }
        )
        stats = {
            key: _vector_stats(key, np.asarray(value, dtype=np.float64)) for key, value in columns.items()
        }
        for camera in self.layout.cameras:
            key = camera_key(camera.stream)
            rgb = (video_frame(camera, f) for f in frames(reader, camera, episode))
            placed, sampled = self._videos[camera.stream].write(rgb, n)
            row.update({f"videos/{key}/{name}": value for name, value in placed.items()})
            stats[key] = _image_stats(key, sampled)
        row["tg_episode_id"] = episode.episode_id
        self._episodes.append(row)
        self.episode_ids.append(episode.episode_id)
        self._stats.append(stats)
        self.total_frames += n

    def close(self) -> None:
        self._data.close()
        for files in self._videos.values():
            files.close()

    def finish(self) -> None:
        self.close()
        infos = {}
        for camera in self.layout.cameras:
            files = self._videos[camera.stream]
            self.codec = files.codec
            info = video_info(self.root / files.first_path)
            # LeRobot's flag for a depth map; its grey levels are DEPTH_VIDEO_STEP_M apart (EXPORT.md).
            info["video.is_depth_map"] = camera.kind == "depth"
            infos[camera_key(camera.stream)] = info
        meta = self.root / "meta"
        meta.mkdir()
        _write_tasks(meta / "tasks.parquet", list(self._tasks))
        _write_episodes(
            self.root / EPISODES_PATH.format(chunk_index=0, file_index=0), self._episodes, self._stats
        )
        totals = {key: aggregate([s[key] for s in self._stats]) for key in self._stats[0]}
        (meta / "stats.json").write_text(
            json.dumps({key: _lerobot_stats(s) for key, s in totals.items()}, indent=4) + "\n",
            encoding="utf-8",
        )
        (meta / "info.json").write_text(json.dumps(self._info(infos), indent=4) + "\n", encoding="utf-8")

    def _splits(self) -> dict[str, str]:
        if self._split is None:
            return {"train": f"0:{len(self._episodes)}"}
        return _split_ranges([self._split(e) for e in self.episode_ids])

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


def _split_ranges(splits: Sequence[str]) -> dict[str, str]:
    """info.json's ``splits`` for episodes in ``splits`` order (train ones first): index ranges.

    >>> _split_ranges(["train", "train", "valid"])
    {'train': '0:2', 'valid': '2:3'}
    """
    train = splits.count("train")
    ranges = {"train": f"0:{train}"}
    if train < len(splits):
        ranges["valid"] = f"{train}:{len(splits)}"
    return ranges


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
        self._schema = schema
        self._bytes_per_row = bytes_per_row
        self._where = (0, 0)
        self._rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, columns: dict[str, npt.NDArray[Any]], n: int) -> tuple[int, int]:
        limit = DATA_FILES_SIZE_IN_MB * 1024**2
        if self._writer is not None and (self._rows + n) * self._bytes_per_row >= limit:
            self.close()
            self._where = _next_file(*self._where)
        if self._writer is None:
            path = self._root / DATA_PATH.format(chunk_index=self._where[0], file_index=self._where[1])
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(path, self._schema, compression="snappy")
            self._rows = 0
        arrays = [_column(columns[f.name], f.type) for f in self._schema]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._rows += n
        return self._where

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _VideoFiles:
    """One camera's video files: episodes back to back, a new file when the size limit is passed."""

    def __init__(self, root: Path, camera: Camera, fps: int) -> None:
        self._root = root
        self._camera = camera
        self._fps = fps
        self._where = (0, 0)
        self._video: VideoWriter | None = None
        self.codec = ""
        self.first_path = self._path(0, 0)

    def _path(self, chunk: int, file: int) -> Path:
        return Path(
            VIDEO_PATH.format(video_key=camera_key(self._camera.stream), chunk_index=chunk, file_index=file)
        )

    def write(self, rgb_frames: Any, n: int) -> tuple[dict[str, Any], npt.NDArray[np.uint8]]:
        video = self._video
        if video is not None and video.bytes >= VIDEO_FILES_SIZE_IN_MB * 1024**2:
            self.close()
            self._where = _next_file(*self._where)
            video = None
        if video is None:
            path = self._root / self._path(*self._where)
            path.parent.mkdir(parents=True, exist_ok=True)
            video = VideoWriter(path, fps=self._fps, height=self._camera.height, width=self._camera.width)
            self._video = video
            self.codec = video.codec
        start = video.frames
        keep = set(np.linspace(0, n - 1, min(n, _IMAGE_STAT_FRAMES)).round().astype(int).tolist())
        sampled = []
        for k, rgb in enumerate(rgb_frames):
            video.write(rgb)
            if k in keep:
                sampled.append(_subsample(rgb))
        if video.frames - start != n:
            raise ExportError(
                f"camera {self._camera.stream!r}: {video.frames - start} frames for {n} ticks; the episode "
                "file changed while it was exported"
            )
        placed = {
            "chunk_index": self._where[0],
            "file_index": self._where[1],
            "from_timestamp": start / self._fps,
            "to_timestamp": video.frames / self._fps,
        }
        return placed, np.stack(sampled)

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None


def _subsample(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    step = max(1, max(rgb.shape[:2]) // _IMAGE_STAT_SIDE) if max(rgb.shape[:2]) >= 2 * _IMAGE_STAT_SIDE else 1
    return rgb[::step, ::step]


def _data_schema(layout: ExportLayout) -> pa.Schema:
    return pa.schema(
        [
            pa.field(STATE, _vector_type(len(layout.sample.state_names))),
            pa.field(ACTION, _vector_type(len(layout.sample.action_names))),
            pa.field("timestamp", pa.float32()),
            pa.field("frame_index", pa.int64()),
            pa.field("episode_index", pa.int64()),
            pa.field("index", pa.int64()),
            pa.field("task_index", pa.int64()),
        ]
    )


def _vector_type(size: int) -> pa.DataType:
    """What Hugging Face ``datasets`` writes for LeRobot's ``Sequence(length=size, Value("float32"))``."""
    return pa.list_(pa.field("item", pa.float32()), size)


def _bytes_per_row(layout: ExportLayout) -> int:
    return 4 * (len(layout.sample.state_names) + len(layout.sample.action_names)) + 4 + 4 * 8


def _column(values: npt.NDArray[Any], kind: pa.DataType) -> pa.Array:
    if isinstance(kind, pa.FixedSizeListType):
        flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=kind.value_type)
        return pa.FixedSizeListArray.from_arrays(flat, type=kind)
    return pa.array(values, type=kind)


def _vector_stats(key: str, values: npt.NDArray[np.float64]) -> StreamStats:
    rows = values.reshape(values.shape[0], -1)
    return stream_stats(key, [str(i) for i in range(rows.shape[1])], [""] * rows.shape[1], rows)


def _image_stats(key: str, sampled: npt.NDArray[np.uint8]) -> StreamStats:
    """Per-channel statistics in [0, 1] of the sampled frames; ``count`` is the number of frames."""
    pixels = sampled.reshape(-1, 3).astype(np.float64) / 255.0
    return replace(stream_stats(key, ["r", "g", "b"], ["1"] * 3, pixels), count=int(sampled.shape[0]))


def _lerobot_stats(stats: StreamStats) -> dict[str, Any]:
    """One feature's statistics as LeRobot stores them: images (3, 1, 1), vectors (D,), count (1,)."""
    image = stats.stream.startswith("observation.images.")
    out: dict[str, Any] = {}
    for key in ("min", "max", "mean", "std", *QUANTILES):
        values = [float(v) for v in getattr(stats, key)]
        out[key] = [[[v]] for v in values] if image else values
    out["count"] = [stats.count]
    return out


def _write_tasks(path: Path, tasks: list[str]) -> None:
    """meta/tasks.parquet as pandas writes ``DataFrame({"task_index": ...}, index=tasks)``
    (utils.py: write_tasks), so that LeRobot's ``pd.read_parquet`` gets the tasks as the index."""
    index = "__index_level_0__"
    pandas = {
        "index_columns": [index],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": None,
                "field_name": index,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.0",
    }
    schema = pa.schema(
        [pa.field("task_index", pa.int64()), pa.field(index, pa.string())],
        metadata={"pandas": json.dumps(pandas)},
    )
    table = pa.Table.from_arrays(
        [pa.array(range(len(tasks)), type=pa.int64()), pa.array(tasks, type=pa.string())], schema=schema
    )
    pq.write_table(table, path)


def _write_episodes(path: Path, rows: list[dict[str, Any]], stats: list[dict[str, StreamStats]]) -> None:
    """meta/episodes: one row per episode, its statistics flattened to ``stats/<feature>/<stat>``."""
    columns: dict[str, list[Any]] = {}
    for row, episode_stats in zip(rows, stats, strict=True):
        flat = dict(row)
        flat["meta/episodes/chunk_index"] = 0
        flat["meta/episodes/file_index"] = 0
        for feature, s in episode_stats.items():
            for name, value in _lerobot_stats(s).items():
                flat[f"stats/{feature}/{name}"] = value
        for key, value in flat.items():
            columns.setdefault(key, []).append(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pydict(columns), path, compression="snappy")
