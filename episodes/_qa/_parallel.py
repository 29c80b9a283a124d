"""Episodes processed in parallel over processes; one that crashes its worker does not stop the rest."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from episodes._qa._errors import QaConfigError

__all__ = ["default_workers", "run_parallel"]

R = TypeVar("R")


def default_workers() -> int:
    """All cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def run_parallel(
    work: Callable[[Path], R],
    paths: Sequence[Path],
    *,
    workers: int | None,
    on_result: Callable[[R], None] | None,
    on_crash: Callable[[Path, str], R],
) -> list[R]:
    """``work(path)`` for every path, results in input order; ``on_result`` as each one finishes.

    ``work`` must be picklable (a module-level function or a ``functools.partial``
    of one). Workers are spawned, not forked: the caller may run threads (a
    progress bar). If a worker dies (HDF5 can crash on a damaged file), the
    episodes it left are redone one per process, and the one that kills its
    process gets ``on_crash(path, why)``.
    """
    count = default_workers() if workers is None else workers
    if count < 1:
        raise QaConfigError(f"workers must be at least 1, got {count}")
    done: dict[int, R] = {}

    def finish(i: int, result: R) -> None:
        done[i] = result
        if on_result is not None:
            on_result(result)

    if count == 1 or len(paths) <= 1:
        for i, path in enumerate(paths):
            finish(i, work(path))
        return [done[i] for i in range(len(paths))]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(count, len(paths)), mp_context=context) as pool:
        futures = {pool.submit(work, path): i for i, path in enumerate(paths)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                continue  # redone below, in isolation
            finish(futures[future], result)
    for i in (i for i in range(len(paths)) if i not in done):
        try:
            with ProcessPoolExecutor(1, mp_context=context) as alone:
                result = alone.submit(work, paths[i]).result()
        except BrokenProcessPool as exc:
            result = on_crash(paths[i], f"its worker process died ({exc})")
        finish(i, result)
    return [done[i] for i in range(len(paths))]
