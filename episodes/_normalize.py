"""The training loader's statistics and normalisation of the state and action vectors.

Statistics come from ``dataset_stats.json`` (``tg annotate``) when it is fresh and has
every column of the layout, else they are computed from the selected episodes'
usable ticks; :class:`Normalizer` turns them into ``(x - offset) / scale``.

>>> import numpy as np
>>> stats = ColumnStats(np.array([1.0]), np.array([2.0]), np.array([-3.0]), np.array([5.0]))
>>> norm = Normalizer.of(stats, "min_max", eps=1e-2)
>>> norm.apply(np.array([[5.0]], np.float32)), norm.invert(np.array([[-1.0]], np.float32))
(array([[1.]], dtype=float32), array([[-3.]], dtype=float32))
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from episodes._errors import DatasetError
from episodes._qa._errors import StaleStatisticsError
from episodes._qa._stats import DATASET_STATS_FILE, load_dataset_stats
from episodes._sample_index import SampleIndex
from episodes._training import AlignedEpisode, EpisodeEntry, SampleLayout

__all__ = [
    "NORMALIZATIONS",
    "ColumnStats",
    "Normalization",
    "Normalizer",
    "SampleNormalizer",
    "column_stats",
    "computed_stats",
    "stored_stats",
]

FloatArray = npt.NDArray[np.float32]
Normalization = Literal["mean_std", "min_max"]
NORMALIZATIONS: tuple[Normalization, ...] = ("mean_std", "min_max")
_VECTORS = ("state", "action")


def _refuse_method(method: object) -> DatasetError:
    return DatasetError(f"normalize must be 'mean_std', 'min_max' or None, got {method!r}")


@dataclass(frozen=True)
class ColumnStats:
    """Per-column statistics of the state or action vector."""

    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    min: npt.NDArray[np.float64]
    max: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Normalizer:
    """``normalized = (x - offset) / scale`` per column; :meth:`invert` undoes it (numpy or torch)."""

    offset: FloatArray
    scale: FloatArray

    @classmethod
    def of(cls, stats: ColumnStats, method: Normalization, eps: float) -> Normalizer:
        """``mean_std``: offset mean, scale std; ``min_max``: maps [min, max] to [-1, 1].

        The scale is clipped to at least ``eps``: a joint that never moves (std 0)
        would otherwise divide by zero, and one that barely moves would blow noise up.
        """
        if method == "mean_std":
            offset, scale = stats.mean, stats.std
        elif method == "min_max":
            offset, scale = (stats.min + stats.max) / 2, (stats.max - stats.min) / 2
        else:
            raise _refuse_method(method)
        offset = np.where(np.isfinite(offset), offset, 0.0)
        scale = np.where(np.isfinite(scale), np.maximum(scale, eps), 1.0)
        return cls(offset.astype(np.float32), scale.astype(np.float32))

    def apply(self, x: FloatArray) -> FloatArray:
        out: FloatArray = (x - self.offset) / self.scale
        return out

    def invert(self, x: Any) -> Any:
        if type(x).__module__.startswith("torch"):
            torch = importlib.import_module("torch")
            like = {"device": x.device, "dtype": x.dtype}
            return x * torch.as_tensor(self.scale, **like) + torch.as_tensor(self.offset, **like)
        return np.asarray(x) * self.scale + self.offset


@dataclass(frozen=True)
class SampleNormalizer:
    """The normalisers of a sample's state and action vectors."""

    state: Normalizer
    action: Normalizer

    @staticmethod
    def check(method: object) -> None:
        """Refuse a ``normalize=`` that is neither a method nor None, before any file is read."""
        if method is not None and method not in NORMALIZATIONS:
            raise _refuse_method(method)

    @classmethod
    def of(cls, stats: Mapping[str, ColumnStats], method: Normalization, eps: float) -> SampleNormalizer:
        return cls(Normalizer.of(stats["state"], method, eps), Normalizer.of(stats["action"], method, eps))


def stored_stats(
    root: str | os.PathLike[str], layout: SampleLayout, entry: EpisodeEntry
) -> dict[str, ColumnStats] | None:
    """The state and action statistics from ``<root>/dataset_stats.json``, or None.

    None when the file is missing or stale, or lacks a stream of the layout, or its
    columns differ from ``entry``'s (an episode of the selection).
    """
    try:
        stored = load_dataset_stats(root)
    except StaleStatisticsError:
        return None
    out = {}
    for key, streams in (("state", layout.state_streams), ("action", layout.action_streams)):
        parts = []
        for name in streams:
            s = stored.streams.get(name)
            spec = entry.stream(name)
            if s is None or getattr(spec, "names", None) != s.names:
                return None
            parts.append(s)
        out[key] = ColumnStats(
            *(
                layout.pick(key, np.concatenate([p.array(k) for p in parts])) if parts else np.zeros(0)
                for k in ("mean", "std", "min", "max")
            )
        )
    return out


def computed_stats(episodes: Iterable[AlignedEpisode]) -> dict[str, ColumnStats]:
    """Statistics of the state and action rows of ``episodes``; NaN values are left out."""
    rows: dict[str, list[FloatArray]] = {key: [] for key in _VECTORS}
    for data in episodes:
        rows["state"].append(data.state)
        rows["action"].append(data.action)
    out = {}
    for key, parts in rows.items():
        values = np.concatenate(parts).astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column has NaN statistics
            out[key] = ColumnStats(
                np.nanmean(values, axis=0),
                np.nanstd(values, axis=0),
                np.nanmin(values, axis=0),
                np.nanmax(values, axis=0),
            )
    return out


def column_stats(
    root: str | os.PathLike[str], index: SampleIndex, load: Callable[[int], AlignedEpisode]
) -> tuple[dict[str, ColumnStats], str]:
    """The statistics of ``index``'s columns and where they come from.

    ``dataset_stats.json`` when :func:`stored_stats` accepts it, else computed from the
    usable ticks of every episode, ``load(e)`` giving episode ``e``'s.
    """
    stored = stored_stats(root, index.layout, index.episodes[0])
    if stored is not None:
        return stored, DATASET_STATS_FILE
    n = len(index.episodes)
    return computed_stats(load(e) for e in range(n)), f"computed from {n} episodes"
