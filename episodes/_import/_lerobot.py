"""LeRobot v3.0 local datasets as episodes (``tg import lerobot``).

Read as LeRobot writes them (``lerobot/datasets/lerobot_dataset.py``, ``utils.py``, 0.4):
``meta/info.json`` (``codebase_version``, ``fps``, ``features``, path templates),
``meta/episodes/*/*.parquet`` (per episode: ``length``, ``tasks``, its data file and
``videos/<key>/{chunk_index,file_index,from_timestamp,to_timestamp}``), ``data/*/*.parquet``
(one row per frame) and ``videos/<key>/*/*.mp4`` (episodes back to back, decoded with PyAV).

Each numeric feature (``observation.state``, ``action``, ...) becomes an array stream of
kind ``generic`` (role ``action`` for features named ``action*``); when every column is
named ``stream.column`` (as ``tg export`` names them) the feature is split back into those
streams. Each video feature becomes a camera (JPEG, quality 95). Timestamps are
reconstructed from ``fps``, as LeRobot's own ``timestamp`` column is.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from episodes._dataset_ops._staging import new_dataset
from episodes._errors import DatasetError
from episodes._export._source import DEPTH_VIDEO_STEP_M
from episodes._image_transform import DEPTH_SCALE_M
from episodes._import._framed import FramedEpisode, Frames, write_framed
from episodes._spec import (
    ArrayStreamSpec,
    EpisodeInfo,
    ImageEncoding,
    ImageStreamSpec,
    ImportOrigin,
    RobotInfo,
    Role,
    StreamKind,
)

__all__ = ["LEROBOT_NOT_RECONSTRUCTED", "import_lerobot"]

_DEFAULT_COLUMNS = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
_NUMERIC = {"float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"}
_IMAGE_QUALITY = 95
LEROBOT_NOT_RECONSTRUCTED = (
    "arrival times and each stream's own rate (LeRobot keeps one row per frame)",
    "stream kinds and units (features carry column names only)",
    "success labels, operator, station, calibration and URDF",
)
"""What a LeRobot dataset does not hold, so an imported episode cannot have (its ``import_json``)."""


@dataclass(frozen=True)
class _Layout:
    root: Path
    info: Mapping[str, Any]
    fps: float
    arrays: Mapping[str, tuple[str, tuple[int, ...], ArrayStreamSpec]]  # stream -> (feature, columns, spec)
    videos: Mapping[str, ImageStreamSpec]  # feature key -> camera


def import_lerobot(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """Import the LeRobot v3.0 dataset directory ``source`` into the new dataset directory ``out``.

    Raises :class:`DatasetError` naming the file for another format version (v2.x: how to
    convert it), a missing file, and a video with fewer frames than its Parquet rows;
    nothing is written then (the episodes are staged and renamed into place together).

    >>> import_lerobot("exports/demo_lerobot", "datasets/demo_again")  # doctest: +SKIP
    [PosixPath('datasets/demo_again/01J....h5'), ...]
    """
    layout = _read_layout(Path(source))
    written = []
    try:
        with new_dataset(Path(out), [Path(source)]) as work:
            for row in _episode_rows(layout.root):
                written.append(write_framed(work, _episode(layout, row)).name)
    finally:
        _read_table.cache_clear()  # a data file may change before the next import
    return [Path(out) / name for name in written]


def _read_layout(root: Path) -> _Layout:
    path = root / "meta" / "info.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a LeRobot dataset's info.json ({exc})") from exc
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v3."):
        raise DatasetError(
            f"{path}: LeRobot dataset format {version or '(none)'}; tg import reads v3.0. Convert a v2.1 "
            "dataset with lerobot (0.4 or later) first: "
            "python -m lerobot.datasets.v30.convert_dataset_v21_to_v30 --repo-id=<id> "
            "(a v2.0 one with convert_dataset_v20_to_v21 before that)"
        )
    features: Mapping[str, Any] = info.get("features", {})
    arrays: dict[str, tuple[str, tuple[int, ...], ArrayStreamSpec]] = {}
    videos: dict[str, ImageStreamSpec] = {}
    fps = float(info["fps"])
    for key, feature in features.items():
        if key in _DEFAULT_COLUMNS:
            continue
        if feature.get("dtype") == "video":
            videos[key] = _camera(key, feature, fps)
        elif feature.get("dtype") in _NUMERIC:
            for name, (columns, spec) in _array_streams(key, feature, fps).items():
                if name in arrays:
                    raise DatasetError(
                        f"{path}: features {arrays[name][0]} and {key} both give stream {name}"
                    )
                arrays[name] = (key, columns, spec)
        else:
            raise DatasetError(
                f"{path}: feature {key} of dtype {feature.get('dtype')!r} is not imported (numeric and video "
                "features are); re-encode image features as video with lerobot"
            )
    return _Layout(root, info, fps, arrays, videos)


def _camera(key: str, feature: Mapping[str, Any], fps: float) -> ImageStreamSpec:
    """A video feature's camera: a depth map (``video.is_depth_map``) as a 16-bit depth stream."""
    height, width = int(feature["shape"][0]), int(feature["shape"][1])
    name = _stream_name(key.removeprefix("observation.images."))
    if (feature.get("info") or {}).get("video.is_depth_map"):
        return ImageStreamSpec(
            name,
            width=width,
            height=height,
            kind=StreamKind.DEPTH,
            channels=1,
            encoding=ImageEncoding.PNG,
            rate_hz=fps,
        )
    return ImageStreamSpec(name, width=width, height=height, rate_hz=fps, quality=_IMAGE_QUALITY)


def _stream_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", text.lower())
    return name if re.match(r"[a-z]", name) else f"s_{name}"


def _array_streams(
    key: str, feature: Mapping[str, Any], fps: float
) -> dict[str, tuple[tuple[int, ...], ArrayStreamSpec]]:
    """A feature's stream(s): split by ``stream.column`` names where every column has one."""
    width = int(np.prod(feature.get("shape", [1])))
    names = feature.get("names")
    if isinstance(names, Mapping):  # {"motors": [...]}, as some LeRobot datasets name them
        names = next(iter(names.values()), None)
    columns = [str(n) for n in names] if isinstance(names, list) and len(names) == width else []
    role = Role.ACTION if key.startswith("action") else Role.OBSERVATION
    groups: dict[str, list[int]] = {}
    if columns and all(re.fullmatch(r"[a-z][a-z0-9_]*\.[^.]+", c) for c in columns):
        for i, column in enumerate(columns):
            groups.setdefault(column.split(".")[0], []).append(i)
    else:
        groups[_stream_name(key)] = list(range(width))
        columns = columns or [f"{key}.{i}" for i in range(width)]
    out = {}
    for name, index in groups.items():
        labels = tuple(
            columns[i].split(".", 1)[1] if len(groups) > 1 or "." in columns[i] else columns[i] for i in index
        )
        kind = (
            StreamKind(name)
            if name in {k.value for k in StreamKind} - {"camera", "depth"}
            else StreamKind.GENERIC
        )
        out[name] = (tuple(index), ArrayStreamSpec(name, kind, labels, ("",), role=role, rate_hz=fps))
    return out


def _episode_rows(root: Path) -> Iterator[dict[str, Any]]:
    files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    if not files:
        raise DatasetError(f"{root / 'meta' / 'episodes'}: no episode metadata (chunk-*/file-*.parquet)")
    for path in files:
        yield from pq.read_table(path).to_pylist()


def _episode(layout: _Layout, row: Mapping[str, Any]) -> FramedEpisode:
    index = int(row["episode_index"])
    data_file = layout.root / layout.info["data_path"].format(
        chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
    )
    table = _read_table(data_file)
    table = table.filter(pc.equal(table["episode_index"], index)).sort_by("frame_index")
    length = int(row["length"])
    if table.num_rows != length:
        raise DatasetError(
            f"{data_file}: {table.num_rows} rows of episode {index}, its metadata says {length}"
        )
    arrays = {}
    for name, (key, columns, spec) in layout.arrays.items():
        values = _column(table, key, data_file)[:, list(columns)]
        arrays[name] = (spec, values)
    cameras: dict[str, tuple[ImageStreamSpec, Frames]] = {}
    for key, camera in layout.videos.items():
        video = layout.root / layout.info["video_path"].format(
            video_key=key,
            chunk_index=row[f"videos/{key}/chunk_index"],
            file_index=row[f"videos/{key}/file_index"],
        )
        start = float(row[f"videos/{key}/from_timestamp"])
        cameras[camera.name] = (camera, _frames(video, _Clip(start, length, layout.fps), camera.kind))
    tasks = list(row.get("tasks") or [])
    task = str(tasks[0]) if tasks else ""
    origin = ImportOrigin(
        "lerobot",
        str(layout.root),
        str(index),
        rate_hz=layout.fps,
        not_reconstructed=LEROBOT_NOT_RECONSTRUCTED,
    )
    robot = str(layout.info.get("robot_type") or "lerobot")
    info = EpisodeInfo(RobotInfo(robot), source="import", task=task, instruction=task, origin=origin)
    return FramedEpisode(info, layout.fps, arrays, cameras)


@dataclass(frozen=True)
class _Clip:
    """An episode's frames in a video: from ``start_s``, ``length`` of them at ``fps``."""

    start_s: float
    length: int
    fps: float


def _frames(video: Path, clip: _Clip, kind: StreamKind) -> Frames:
    """The clip's frames, decoded while the episode is written (an episode may not fit in memory)."""
    if kind is not StreamKind.DEPTH:
        return lambda: _decode(video, clip)
    step = DEPTH_VIDEO_STEP_M / DEPTH_SCALE_M  # grey levels as tg export writes depth
    return lambda: (np.round(f[:, :, 0] * step).astype(np.uint16) for f in _decode(video, clip))


@functools.lru_cache(maxsize=1)
def _read_table(path: Path) -> pa.Table:
    """A data file, read once for all its episodes (they come in file order)."""
    return pq.read_table(path)


def _column(table: pa.Table, key: str, where: Path) -> npt.NDArray[np.float64]:
    if key not in table.column_names:
        raise DatasetError(f"{where}: no column {key!r}, which meta/info.json declares")
    values = table[key].to_pylist()
    return np.asarray(values, dtype=np.float64).reshape(len(values), -1)


def _decode(video: Path, clip: _Clip) -> Iterator[npt.NDArray[np.uint8]]:
    """The clip's frames of ``video``; fewer than its length raise naming the file (the episode
    being written is then dropped with the rest of the staged import)."""
    half = 0.5 / clip.fps
    count = 0
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            if clip.start_s > 0 and stream.time_base is not None:
                container.seek(int(clip.start_s / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                if t < clip.start_s - half:
                    continue
                yield frame.to_ndarray(format="rgb24")
                count += 1
                if count == clip.length:
                    return
    except (OSError, av.error.FFmpegError) as exc:
        raise DatasetError(f"{video}: cannot decode ({exc})") from exc
    raise DatasetError(
        f"{video}: {count} frame(s) from {clip.start_s:.3f} s, but the episode has {clip.length} Parquet "
        "rows; the video is cut short or does not belong to this dataset"
    )
