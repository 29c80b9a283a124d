"""LeRobot's meta/ files and statistics as its writer stores them (``lerobot/datasets/utils.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from episodes._qa._stats import QUANTILES, StreamStats

__all__ = ["lerobot_stats", "split_ranges", "write_episodes", "write_tasks"]


def split_ranges(splits: Sequence[str]) -> dict[str, str]:
    """info.json's ``splits`` for episodes in ``splits`` order (train ones first): index ranges.

    >>> split_ranges(["train", "train", "valid"])
    {'train': '0:2', 'valid': '2:3'}
    """
    train = splits.count("train")
    ranges = {"train": f"0:{train}"}
    if train < len(splits):
        ranges["valid"] = f"{train}:{len(splits)}"
    return ranges


def lerobot_stats(stats: StreamStats) -> dict[str, Any]:
    """One feature's statistics as LeRobot stores them: images (3, 1, 1), vectors (D,), count (1,)."""
    image = stats.stream.startswith("observation.images.")
    out: dict[str, Any] = {}
    for key in ("min", "max", "mean", "std", *QUANTILES):
        values = [float(v) for v in getattr(stats, key)]
        out[key] = [[[v]] for v in values] if image else values
    out["count"] = [stats.count]
    return out


def write_tasks(path: Path, tasks: list[str]) -> None:
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


def write_episodes(path: Path, rows: list[dict[str, Any]], stats: list[dict[str, StreamStats]]) -> None:
    """meta/episodes: one row per episode, its statistics flattened to ``stats/<feature>/<stat>``."""
    columns: dict[str, list[Any]] = {}
    for row, episode_stats in zip(rows, stats, strict=True):
        flat = dict(row)
        flat["meta/episodes/chunk_index"] = 0
        flat["meta/episodes/file_index"] = 0
        for feature, s in episode_stats.items():
            for name, value in lerobot_stats(s).items():
                flat[f"stats/{feature}/{name}"] = value
        for key, value in flat.items():
            columns.setdefault(key, []).append(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pydict(columns), path, compression="snappy")
