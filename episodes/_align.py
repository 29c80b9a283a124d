"""The aligned view: an even time grid and, per stream, the latest sample at or before each tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from episodes._errors import StreamSpecError

__all__ = ["Alignment", "compute_alignment", "grid_times", "sortable_times"]

Int64Array = npt.NDArray[np.int64]

NO_SAMPLE = -1
"""Index and error recorded for a tick that precedes an optional stream's first sample."""


@dataclass(frozen=True)
class Alignment:
    """Result of aligning streams on ``t0_ns + round(k * 1e9 / rate_hz)``.

    ``index[name][k]`` is the index of the stream's latest sample whose stamp is
    at or before tick k (never a later one), ``error_ns[name][k]`` how long before
    the tick it was taken; both are ``-1`` where an optional stream has no sample yet.
    """

    rate_hz: float
    t0_ns: int
    time_ns: Int64Array
    index: Mapping[str, Int64Array]
    error_ns: Mapping[str, Int64Array]
    required: tuple[str, ...]
    reason: str
    """Why the grid is empty, or '' when it has ticks."""

    @property
    def num_frames(self) -> int:
        return int(self.time_ns.shape[0])


def grid_times(t0_ns: int, stop_ns: int, rate_hz: float) -> Int64Array:
    """Ticks ``t0 + round(k * 1e9 / rate)`` for k = 0, 1, ... that are at or before ``stop_ns``."""
    if stop_ns < t0_ns:
        return np.empty(0, dtype=np.int64)
    period = 1e9 / rate_hz
    count = int(np.floor((stop_ns - t0_ns) / period)) + 2
    ticks = t0_ns + np.round(np.arange(count, dtype=np.float64) * period).astype(np.int64)
    return ticks[ticks <= stop_ns]


def compute_alignment(
    stamps: Mapping[str, npt.NDArray[np.int64]],
    *,
    rate_hz: float,
    required: Sequence[str],
) -> Alignment:
    """Align every stream in ``stamps`` (non-decreasing int64 ns) on a grid at ``rate_hz``.

    The grid starts once every required stream has a sample and ends with the
    earliest-ending required stream, so each tick has real data for all of them.

    >>> a = compute_alignment({"s": np.array([0, 10, 20], np.int64)}, rate_hz=2e8, required=["s"])
    >>> a.time_ns.tolist(), a.index["s"].tolist(), a.error_ns["s"].tolist()
    ([0, 5, 10, 15, 20], [0, 0, 1, 1, 2], [0, 5, 0, 5, 0])
    """
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise StreamSpecError(f"aligned rate must be a positive number of Hz, got {rate_hz}")
    unknown = [name for name in required if name not in stamps]
    if unknown:
        raise StreamSpecError(f"required streams {unknown} are not among {sorted(stamps)}")
    if not required:
        raise StreamSpecError("the aligned view needs at least one required stream")

    empty = [name for name in required if stamps[name].shape[0] == 0]
    if empty:
        reason = f"required streams without samples: {', '.join(sorted(empty))}"
        time_ns = np.empty(0, dtype=np.int64)
        t0 = 0
    else:
        t0 = max(int(stamps[name][0]) for name in required)
        stop = min(int(stamps[name][-1]) for name in required)
        time_ns = grid_times(t0, stop, rate_hz)
        reason = "" if time_ns.shape[0] else "required streams do not overlap in time"

    index: dict[str, Int64Array] = {}
    error_ns: dict[str, Int64Array] = {}
    for name, stream_stamps in stamps.items():
        # side="right" - 1 picks the last sample with stamp <= tick: never one from the future.
        idx = np.searchsorted(stream_stamps, time_ns, side="right").astype(np.int64) - 1
        err = np.full(idx.shape, NO_SAMPLE, dtype=np.int64)
        have = idx >= 0
        err[have] = time_ns[have] - stream_stamps[idx[have]]
        index[name] = idx
        error_ns[name] = err
    return Alignment(
        rate_hz=float(rate_hz),
        t0_ns=t0,
        time_ns=time_ns,
        index=index,
        error_ns=error_ns,
        required=tuple(required),
        reason=reason,
    )


def sortable_times(times: Int64Array) -> Int64Array:
    """Times made non-decreasing for the grid search.

    Source stamps are checked on write; arrival times are not (a callback may
    run a little out of order), and a late one must not pull earlier samples forward.
    """
    return np.maximum.accumulate(times) if times.size else times
