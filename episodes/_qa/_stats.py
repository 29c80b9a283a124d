"""Per-stream statistics (as LeRobot's stats.json has them) and the dataset's statistics file."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes._maintenance import list_episodes
from episodes._qa._errors import StaleStatisticsError
from episodes._storage import remove_quietly, writing
from tg_base import __version__

__all__ = [
    "DATASET_STATS_FILE",
    "QUANTILES",
    "DatasetStats",
    "StreamStats",
    "aggregate",
    "episode_digest",
    "load_dataset_stats",
    "stream_stats",
    "write_dataset_stats",
]

DATASET_STATS_FILE = "dataset_stats.json"
_FORMAT = "tg-dataset-stats"
_VERSION = 1
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


@dataclass(frozen=True)
class StreamStats:
    """Statistics of one numeric stream, one value per column (joint, dimension).

    ``count`` is the number of rows (aligned ticks) they were computed from;
    ``std`` is the population standard deviation, as numpy's default.
    """

    stream: str
    names: tuple[str, ...]
    units: tuple[str, ...]
    count: int
    min: tuple[float, ...]
    max: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    q01: tuple[float, ...]
    q10: tuple[float, ...]
    q50: tuple[float, ...]
    q90: tuple[float, ...]
    q99: tuple[float, ...]

    def array(self, key: str) -> npt.NDArray[np.float64]:
        """One statistic (``min``, ``mean``, ``q99``...) as a float64 array."""
        return np.array(getattr(self, key), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"names": list(self.names), "units": list(self.units), "count": self.count}
        for key in ("min", "max", "mean", "std", *QUANTILES):
            out[key] = [None if not np.isfinite(v) else v for v in getattr(self, key)]
        return out

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def _t(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def stream_stats(
    stream: str, names: Sequence[str], units: Sequence[str], values: npt.NDArray[np.float64]
) -> StreamStats:
    """Statistics of ``values`` (rows, columns); NaNs are ignored.

    >>> s = stream_stats("q", ["a"], ["rad"], np.arange(101.0)[:, None])
    >>> s.count, s.mean, s.q10, s.max
    (101, (50.0,), (10.0,), (100.0,))
    """
    levels = list(QUANTILES.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column has NaN statistics, as it should
        # nanquantile works column by column in Python: only when there is a NaN to skip.
        finite = bool(np.isfinite(values).all())
        quantiles = np.quantile(values, levels, axis=0) if finite else np.nanquantile(values, levels, axis=0)
        return StreamStats(
            stream=stream,
            names=tuple(names),
            units=tuple(units),
            count=int(values.shape[0]),
            min=_t(np.nanmin(values, axis=0)),
            max=_t(np.nanmax(values, axis=0)),
            mean=_t(np.nanmean(values, axis=0)),
            std=_t(np.nanstd(values, axis=0)),
            q01=_t(quantiles[0]),
            q10=_t(quantiles[1]),
            q50=_t(quantiles[2]),
            q90=_t(quantiles[3]),
            q99=_t(quantiles[4]),
        )


def aggregate(parts: Sequence[StreamStats]) -> StreamStats:
    """Statistics of several episodes' rows together, from their per-episode statistics.

    Count, min, max, mean and std are exact (std from within- and between-episode variance);
    quantiles are the count-weighted mean of the episodes' quantiles, an
    approximation (as LeRobot aggregates them).

    >>> a = stream_stats("q", ["x"], ["m"], np.array([[0.0], [2.0]]))
    >>> b = stream_stats("q", ["x"], ["m"], np.array([[4.0], [6.0]]))
    >>> t = aggregate([a, b])
    >>> t.count, t.mean, t.std == stream_stats("q", ["x"], ["m"], np.array([[0.0], [2], [4], [6]])).std
    (4, (3.0,), True)
    """
    first = parts[0]
    counts = np.array([p.count for p in parts], dtype=np.float64)
    weight = (counts / counts.sum())[:, None]

    def stacked(key: str) -> npt.NDArray[np.float64]:
        return np.array([p.array(key) for p in parts])

    means = stacked("mean")
    mean = (weight * means).sum(axis=0)
    # Within- plus between-episode variance: no cancellation for a column that barely varies.
    variance = (weight * (stacked("std") ** 2 + (means - mean) ** 2)).sum(axis=0)
    quantiles = {key: _t((weight * stacked(key)).sum(axis=0)) for key in QUANTILES}
    return StreamStats(
        stream=first.stream,
        names=first.names,
        units=first.units,
        count=int(counts.sum()),
        min=_t(stacked("min").min(axis=0)),
        max=_t(stacked("max").max(axis=0)),
        mean=_t(mean),
        std=_t(np.sqrt(variance)),
        **quantiles,
    )


@dataclass(frozen=True)
class DatasetStats:
    """A dataset's statistics file: which episodes it covers and the statistics per stream."""

    path: Path
    episodes: Mapping[str, str]  # episode id -> digest of its statistics
    streams: Mapping[str, StreamStats]


def write_dataset_stats(
    directory: str | os.PathLike[str], episode_stats: Mapping[str, Sequence[StreamStats]]
) -> bool:
    """Write ``<directory>/dataset_stats.json`` from each episode's statistics (by episode id).

    A stream is aggregated over the episodes that have it with the same columns
    (the first episode's); episodes whose columns differ are left out of that
    stream. Returns False, leaving the file untouched, when it already says this.
    """
    root = Path(directory)
    by_stream: dict[str, list[StreamStats]] = {}
    for stats in episode_stats.values():
        for s in stats:
            by_stream.setdefault(s.stream, []).append(s)
    streams = {}
    for name, parts in sorted(by_stream.items()):
        same = [p for p in parts if p.names == parts[0].names]
        streams[name] = {**aggregate(same).to_json(), "episodes": len(same)}
    payload = {
        "format": _FORMAT,
        "format_version": _VERSION,
        "software_version": f"training-ground {__version__}",
        "episodes": {eid: episode_digest(stats) for eid, stats in sorted(episode_stats.items())},
        "streams": streams,
    }
    text = json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n"
    target = root / DATASET_STATS_FILE
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    work = root / f".{DATASET_STATS_FILE}.updating"
    try:
        with writing(target, "writing the dataset statistics", left="the episodes are annotated"):
            work.write_text(text, encoding="utf-8")
            os.replace(work, target)
    finally:
        remove_quietly(work)
    return True


def episode_digest(stats: Sequence[StreamStats]) -> str:
    """One digest of an episode's statistics (stored in its ``/annotations/stats`` too)."""
    return hashlib.sha256(
        "".join(s.digest() for s in sorted(stats, key=lambda s: s.stream)).encode()
    ).hexdigest()


def load_dataset_stats(directory: str | os.PathLike[str]) -> DatasetStats:
    """Read ``<directory>/dataset_stats.json``, refusing it if episodes were added or removed since.

    Raises :class:`StaleStatisticsError` naming the episodes the file lacks or
    that are gone; run ``tg annotate <directory>`` to bring it up to date.

    >>> load_dataset_stats("datasets/demo").streams["joint_position"].mean  # doctest: +SKIP
    (0.0, ...)
    """
    root = Path(directory)
    target = root / DATASET_STATS_FILE
    if not target.is_file():
        raise StaleStatisticsError(f"{target}: no dataset statistics; run `tg annotate {root}`")
    try:
        payload = json.loads(target.read_text(encoding="utf-8"))
        episodes = dict(payload["episodes"])
        streams = {name: _from_json(name, value) for name, value in payload["streams"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StaleStatisticsError(
            f"{target}: unreadable dataset statistics ({exc}); run `tg annotate {root}`"
        ) from exc
    if payload.get("format") != _FORMAT or payload.get("format_version", 0) > _VERSION:
        raise StaleStatisticsError(
            f"{target}: not a version {_VERSION} {_FORMAT} file; run `tg annotate {root}`"
        )
    present = {p.name.removesuffix(fmt.EPISODE_SUFFIX) for p in list_episodes(root)}
    added, removed = sorted(present - set(episodes)), sorted(set(episodes) - present)
    if added or removed:
        parts = [
            f"{len(ids)} {what} ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''})"
            for ids, what in ((added, "episode(s) not covered"), (removed, "covered episode(s) gone"))
            if ids
        ]
        raise StaleStatisticsError(f"{target}: stale: {'; '.join(parts)}; run `tg annotate {root}`")
    return DatasetStats(target, episodes, streams)


def _from_json(name: str, value: Mapping[str, Any]) -> StreamStats:
    def floats(key: str) -> tuple[float, ...]:
        return tuple(float("nan") if v is None else float(v) for v in value[key])

    return StreamStats(
        stream=name,
        names=tuple(value["names"]),
        units=tuple(value["units"]),
        count=int(value["count"]),
        min=floats("min"),
        max=floats("max"),
        mean=floats("mean"),
        std=floats("std"),
        q01=floats("q01"),
        q10=floats("q10"),
        q50=floats("q50"),
        q90=floats("q90"),
        q99=floats("q99"),
    )
