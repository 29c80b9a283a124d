"""Episodes checked or annotated over an executor; one that crashes its worker does not stop the rest.

Where the work runs is :mod:`tg_exec`'s business (local processes by default, or a
Ray cluster); what is QA's own is how an episode another process is updating is
waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from episodes._errors import EpisodeBusyError
from episodes._qa._errors import QaConfigError
from tg_exec import Executor, LocalExecutor

__all__ = ["BUSY_WAIT_S", "run_parallel"]

R = TypeVar("R")

# How long an episode another process is updating is waited for (two `tg annotate` at once:
# the other holds the lock only while it writes, a fraction of a second), before it is skipped.
BUSY_WAIT_S = 30.0
_BUSY = (
    "skipped: another process went on updating this episode for more than {:g} s; run again once it is done"
)


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
            except EpisodeBusyError as exc:
                if time.monotonic() + pause > deadline:
                    raise EpisodeBusyError(_BUSY.format(self.wait_s)) from exc
            time.sleep(pause)
            pause = min(2 * pause, 1.0)


def run_parallel(
    work: Callable[[Path], R],
    paths: Sequence[Path],
    *,
    workers: int | None = None,
    executor: Executor | None = None,
    on_result: Callable[[R], None] | None,
    on_crash: Callable[[Path, str], R],
) -> list[R]:
    """``work(path)`` for every path, results in input order; ``on_result`` as each one finishes.

    On ``executor``, or on ``workers`` local processes (default: all cores).
    ``work`` must be picklable (a module-level function or a ``functools.partial``
    of one). A path whose work raises, or whose worker dies as often as the
    executor retries (HDF5 can crash on a damaged file), gets ``on_crash(path,
    why)``. An episode another process is updating (``EpisodeBusyError``) is
    waited for, up to :data:`BUSY_WAIT_S`, then gets ``on_crash`` too: one busy
    episode never stops the others.
    """
    if executor is not None:
        return executor.map(_Patient(work, BUSY_WAIT_S), paths, on_failure=on_crash, on_result=on_result)
    if workers is not None and workers < 1:
        raise QaConfigError(f"workers must be at least 1, got {workers}")
    with LocalExecutor(workers) as local:
        return local.map(_Patient(work, BUSY_WAIT_S), paths, on_failure=on_crash, on_result=on_result)
