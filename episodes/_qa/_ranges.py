"""Runs of flagged samples, found with numpy, turned into a bounded number of time ranges."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

__all__ = ["Run", "capped_runs", "runs"]

Int64Array = npt.NDArray[np.int64]
Run = tuple[int, int, int]
"""``(first, stop, merged)``: flagged indices lie in ``[first, stop)``; ``merged`` runs were joined."""


def runs(mask: npt.NDArray[np.bool_]) -> tuple[Int64Array, Int64Array]:
    """Starts and (exclusive) stops of the runs of True in a 1-D mask.

    >>> [a.tolist() for a in runs(np.array([0, 1, 1, 0, 1], bool))]
    [[1, 4], [3, 5]]
    """
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1).astype(np.int64), np.flatnonzero(edges == -1).astype(np.int64)


def capped_runs(mask: npt.NDArray[np.bool_], limit: int) -> Iterator[Run]:
    """The runs of ``mask``, at most ``limit`` of them: the last one absorbs any further runs.

    >>> list(capped_runs(np.array([1, 0, 1, 0, 1, 0, 1], bool), 2))
    [(0, 1, 1), (2, 7, 3)]
    """
    starts, stops = runs(mask)
    n = int(starts.shape[0])
    for i in range(min(n, limit - 1)):
        yield int(starts[i]), int(stops[i]), 1
    if n >= limit:
        yield int(starts[limit - 1]), int(stops[-1]), n - limit + 1
