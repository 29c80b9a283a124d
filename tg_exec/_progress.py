"""Progress from inside a task: ``report_progress(fraction)`` reaches the caller's ``on_progress``.

Work that takes long (a bag being ingested) calls :func:`report_progress` as it goes;
the executor running it routes the fraction to the process that called ``map``,
tagged with the item's index. Outside an executor, or where nobody listens, it does
nothing, so work functions call it unconditionally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Indexed", "report_progress", "set_progress_sink"]

T = TypeVar("T")
R = TypeVar("R")

# Where this process's fractions go: (item index, fraction) -> None. Set once per worker
# process by its executor; None in a process nobody listens to.
_sink: Callable[[int, float], None] | None = None
_current = -1  # the index of the item this process works on now


def set_progress_sink(sink: Callable[[int, float], None] | None) -> None:
    """Send this process's :func:`report_progress` calls to ``sink(index, fraction)``."""
    global _sink
    _sink = sink


def report_progress(fraction: float) -> None:
    """Tell the caller the item in progress is ``fraction`` (0..1) done; never raises.

    >>> report_progress(0.5)  # outside an executor: nothing happens
    """
    if _sink is not None and _current >= 0:
        _sink(_current, fraction)


@dataclass(frozen=True)
class Indexed(Generic[T, R]):
    """``work(item)``, with :func:`report_progress` tagged by ``index`` while it runs."""

    work: Callable[[T], R]

    def __call__(self, index: int, item: T) -> R:
        global _current
        _current = index
        try:
            return self.work(item)
        finally:
            _current = -1
