"""Episodes processed in parallel over processes; one that crashes its worker does not stop the rest.

Workers die with the process that started them: a ``kill -9`` of ``tg annotate``
or ``tg ingest`` must not leave workers behind that go on changing files.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Generic, TypeVar

from episodes._errors import EpisodeBusyError
from episodes._qa._errors import QaConfigError

__all__ = ["BUSY_WAIT_S", "default_workers", "die_with_parent", "run_parallel"]

R = TypeVar("R")

# How long an episode another process is updating is waited for (two `tg annotate` at once:
# the other holds the lock only while it writes, a fraction of a second), before it is skipped.
BUSY_WAIT_S = 30.0
_BUSY = (
    "skipped: another process went on updating this episode for more than {:g} s; run again once it is done"
)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# Windows has no SIGKILL; os.kill with SIGTERM ends a process there outright.
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)


def die_with_parent(parent_pid: int, signum: int = _KILL) -> None:
    """Have ``signum`` sent to this process when ``parent_pid``, its parent, ends (call it in a worker).

    On Linux the kernel sends it (``prctl(PR_SET_PDEATHSIG)``), even after a
    ``kill -9`` of the parent; elsewhere a thread waits for the parent's end. A
    parent already gone by the time this runs gets the same signal at once.
    """
    armed = sys.platform.startswith("linux") and _arm_death_signal(signum)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)
    if not armed:
        threading.Thread(
            target=_watch_parent, args=(parent_pid, signum), name="parent-watch", daemon=True
        ).start()


def _arm_death_signal(signum: int) -> bool:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    return False


def _watch_parent(parent_pid: int, signum: int) -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns when the parent's end of a pipe closes, on every platform
    else:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
    os.kill(os.getpid(), signum)


@dataclass(frozen=True)
class _Patient(Generic[R]):
    """``work``, tried again while another process holds the episode's update lock, up to ``wait_s``.

    Tried from the start each time: the other process may have changed the episode.
    """

    work: Callable[[Path], R]
    wait_s: float

    def __call__(self, path: Path) -> R:
        deadline = time.monotonic() + self.wait_s
        pause = 0.05
        while True:
            try:
                return self.work(path)
            except EpisodeBusyError:
                if time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, 1.0)


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
    process gets ``on_crash(path, why)``. An episode another process is updating
    (``EpisodeBusyError``) is waited for, up to :data:`BUSY_WAIT_S`, then gets
    ``on_crash`` too: one busy episode never stops the others.
    """
    count = default_workers() if workers is None else workers
    if count < 1:
        raise QaConfigError(f"workers must be at least 1, got {count}")
    work = _Patient(work, BUSY_WAIT_S)
    busy = _BUSY.format(BUSY_WAIT_S)
    done: dict[int, R] = {}

    def finish(i: int, result: R) -> None:
        done[i] = result
        if on_result is not None:
            on_result(result)

    if count == 1 or len(paths) <= 1:
        for i, path in enumerate(paths):
            try:
                finish(i, work(path))
            except EpisodeBusyError:
                finish(i, on_crash(path, busy))
        return [done[i] for i in range(len(paths))]
    context = multiprocessing.get_context("spawn")
    with _pool(min(count, len(paths)), context) as pool:
        futures = {pool.submit(work, path): i for i, path in enumerate(paths)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                continue  # redone below, in isolation
            except EpisodeBusyError:
                result = on_crash(paths[futures[future]], busy)
            finish(futures[future], result)
    for i in (i for i in range(len(paths)) if i not in done):
        try:
            with _pool(1, context) as alone:
                result = alone.submit(work, paths[i]).result()
        except BrokenProcessPool as exc:
            result = on_crash(paths[i], f"its worker process died ({exc})")
        except EpisodeBusyError:
            result = on_crash(paths[i], busy)
        finish(i, result)
    return [done[i] for i in range(len(paths))]


def _pool(workers: int, context: BaseContext) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
    )
