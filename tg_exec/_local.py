"""Work over local processes: today's behaviour and the default, no cluster needed.

Workers are spawned, not forked: the caller may run threads (a progress bar, a web
server) that a fork would copy in a locked state. Workers die with the process that
started them: a ``kill -9`` of ``tg annotate`` or ``tg ingest`` must not leave
workers behind that go on changing files.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures as cf
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tg_exec._base import Executor, describe_failure
from tg_exec._errors import ExecutorError, WorkerDiedError
from tg_exec._progress import Indexed, set_progress_sink

__all__ = ["DEFAULT_STOP_SIGNAL", "LocalExecutor", "default_workers", "die_with_parent"]

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# What a worker gets when its parent ends, unless told otherwise. Windows has no SIGKILL;
# os.kill with SIGTERM ends a process there outright.
DEFAULT_STOP_SIGNAL: int = getattr(signal, "SIGKILL", signal.SIGTERM)
_POLL_S = 0.2  # how often progress is drained while items run


def default_workers() -> int:
    """All cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def die_with_parent(parent_pid: int, signum: int = DEFAULT_STOP_SIGNAL) -> None:
    """Have ``signum`` sent to this process when ``parent_pid``, its parent, ends (call it in a worker).

    On Linux the kernel sends it (``prctl(PR_SET_PDEATHSIG)``), even after a
    ``kill -9`` of the parent; elsewhere a thread waits for the parent's end. A
    parent already gone by the time this runs gets the same signal at once.
    """
    armed = sys.platform.startswith("linux") and arm_death_signal(signum)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signum)
    if not armed:
        threading.Thread(
            target=_watch_parent, args=(parent_pid, signum), name="parent-watch", daemon=True
        ).start()


def arm_death_signal(signum: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, signum)`` for this process; False where it is not available."""
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


def _worker_init(parent_pid: int, signum: int, updates: Any) -> None:
    die_with_parent(parent_pid, signum)
    if updates is not None:
        set_progress_sink(lambda index, fraction: updates.put((index, fraction)))


class LocalExecutor(Executor):
    """``workers`` processes on this machine; one worker runs the items in this process.

    The pool starts at the first use and serves every later ``map`` and ``submit``
    until :meth:`close` (a spawned worker costs a second or more of imports). A
    worker that dies takes the pool with it; the items it left are redone one per
    process, so only the one that kills its process again fails, and the next call
    starts a new pool. ``stop_signal`` is what a worker gets when this process ends:
    SIGKILL by default, SIGTERM for work that cleans up after itself (an ingest
    removes the episodes of the bag it was on).

    >>> with LocalExecutor(1) as run:
    ...     run.map(abs, [-2, 3], on_failure=lambda item, why: 0)
    [2, 3]
    """

    kind = "local"

    def __init__(self, workers: int | None = None, *, stop_signal: int = DEFAULT_STOP_SIGNAL) -> None:
        self.workers = default_workers() if workers is None else workers
        if self.workers < 1:
            raise ExecutorError(f"workers must be at least 1, got {self.workers}")
        self._stop_signal = stop_signal
        self._context = multiprocessing.get_context("spawn")
        self._updates: Any = None  # the workers' progress queue, made with the pool
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers > 1 else ''}"

    def map(
        self,
        work: Callable[[T], R],
        items: Sequence[T],
        *,
        on_failure: Callable[[T, str], R],
        on_result: Callable[[R], None] | None = None,
        on_progress: Callable[[int, float], None] | None = None,
    ) -> list[R]:
        done: dict[int, R] = {}

        def finish(i: int, result: R) -> None:
            done[i] = result
            if on_result is not None:
                on_result(result)

        if self.workers == 1 or len(items) <= 1:
            self._map_here(Indexed(work), items, on_failure, finish, on_progress)
        else:
            self._map_pool(Indexed(work), items, on_failure, finish, on_progress)
        return [done[i] for i in range(len(items))]

    def _map_here(
        self,
        work: Indexed[T, R],
        items: Sequence[T],
        on_failure: Callable[[T, str], R],
        finish: Callable[[int, R], None],
        on_progress: Callable[[int, float], None] | None,
    ) -> None:
        set_progress_sink(on_progress)
        try:
            for i, item in enumerate(items):
                try:
                    result = work(i, item)
                except Exception as exc:
                    result = on_failure(item, describe_failure(exc))
                finish(i, result)
        finally:
            set_progress_sink(None)

    def _map_pool(
        self,
        work: Indexed[T, R],
        items: Sequence[T],
        on_failure: Callable[[T, str], R],
        finish: Callable[[int, R], None],
        on_progress: Callable[[int, float], None] | None,
    ) -> None:
        pool, updates = self._shared()
        lost: list[int] = []
        running = {pool.submit(work, i, item): i for i, item in enumerate(items)}
        pending = set(running)
        while pending:
            finished, pending = cf.wait(pending, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
            _drain(updates, on_progress)
            for future in finished:
                i = running[future]
                try:
                    finish(i, future.result())
                except BrokenProcessPool:
                    lost.append(i)  # redone below, in isolation
                except Exception as exc:
                    finish(i, on_failure(items[i], describe_failure(exc)))
        _drain(updates, on_progress)
        if lost:
            self._discard(pool)
        for i in sorted(lost):
            finish(i, self._alone(work, i, items[i], on_failure, updates, on_progress))

    def _alone(
        self,
        work: Indexed[T, R],
        i: int,
        item: T,
        on_failure: Callable[[T, str], R],
        updates: Any,
        on_progress: Callable[[int, float], None] | None,
    ) -> R:
        try:
            with self._new_pool(1, updates) as alone:
                future = alone.submit(work, i, item)
                while not future.done():
                    cf.wait([future], timeout=_POLL_S)
                    _drain(updates, on_progress)
                return future.result()
        except BrokenProcessPool as exc:
            return on_failure(item, f"its worker process died ({exc})")
        except Exception as exc:
            return on_failure(item, describe_failure(exc))
        finally:
            _drain(updates, on_progress)

    def _shared(self) -> tuple[ProcessPoolExecutor, Any]:
        """The pool every call uses (started now if there is none), and its progress queue."""
        with self._lock:
            if self._updates is None:
                self._updates = self._context.Queue()
            if self._pool is None:
                self._pool = self._new_pool(self.workers, self._updates)
            return self._pool, self._updates

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """A broken pool: the next call starts a new one."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def _new_pool(self, workers: int, updates: Any) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers,
            mp_context=self._context,
            initializer=_worker_init,
            initargs=(os.getpid(), self._stop_signal, updates),
        )

    def submit(self, work: Callable[[T], R], item: T) -> Future[R]:
        pool, _ = self._shared()
        try:
            inner = pool.submit(work, item)
        except BrokenProcessPool:  # an earlier task's worker died: a new pool for the next ones
            self._discard(pool)
            pool, _ = self._shared()
            inner = pool.submit(work, item)
        outer: Future[R] = Future()
        inner.add_done_callback(lambda f: self._settle(f, outer, pool))
        return outer

    def _settle(self, inner: Future[R], outer: Future[R], pool: ProcessPoolExecutor) -> None:
        try:
            outer.set_result(inner.result())
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None  # the next submit starts a new pool
            outer.set_exception(WorkerDiedError(f"its worker process died ({exc})"))
        except BaseException as exc:
            outer.set_exception(exc)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            updates, self._updates = self._updates, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if updates is not None:
            updates.close()


def _drain(updates: Any, on_progress: Callable[[int, float], None] | None) -> None:
    """Hand queued progress to ``on_progress`` (or drop it: a full pipe would block the workers)."""
    if updates is None:
        return
    deadline = time.monotonic() + 0.05
    while time.monotonic() < deadline:
        try:
            index, fraction = updates.get_nowait()
        except queue.Empty:
            return
        if on_progress is not None:
            on_progress(index, fraction)
