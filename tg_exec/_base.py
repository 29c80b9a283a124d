"""What every executor offers: per-item work over many items, and single tasks for a service.

An executor runs ``work(item)`` for items somewhere else (a local process pool, a
Ray cluster) and hands results back in this process. The contract both
implementations keep, and the tests check through both:

- results come back in the order of the items; ``on_result`` sees each one in this
  process as it finishes (a progress bar);
- an exception raised by ``work`` is the item's failure: ``on_failure(item, why)``
  turns it into a result at once, and it is never retried (bad input stays bad);
- a worker that dies (a crash in a C library, a killed process or node) is retried a
  bounded number of times, then its item gets ``on_failure`` too; no item stops the
  others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import ClassVar, TypeVar

from tg_base import TgError

__all__ = ["Executor", "describe_failure"]

T = TypeVar("T")
R = TypeVar("R")


def describe_failure(exc: BaseException) -> str:
    """One line for an item's failure: our own errors as they are (they name the file), others typed.

    >>> describe_failure(ValueError("bad shape"))
    'ValueError: bad shape'
    """
    if isinstance(exc, TgError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Executor(ABC):
    """Where per-episode and per-bag work runs; a context manager that releases its workers.

    ``work`` and the items must be picklable (module-level functions, or
    ``functools.partial`` of one): they travel to other processes or machines.
    """

    kind: ClassVar[str]

    @abstractmethod
    def map(
        self,
        work: Callable[[T], R],
        items: Sequence[T],
        *,
        on_failure: Callable[[T, str], R],
        on_result: Callable[[R], None] | None = None,
        on_progress: Callable[[int, float], None] | None = None,
    ) -> list[R]:
        """``work(item)`` for every item; results in item order (see the module's contract).

        ``on_progress(index, fraction)`` receives what a running item reports with
        :func:`tg_exec.report_progress`.
        """

    @abstractmethod
    def submit(self, work: Callable[[T], R], item: T) -> Future[R]:
        """Run ``work(item)`` once, for a service that queues work as it arrives.

        The future holds the result, the exception ``work`` raised, or a
        :class:`WorkerDiedError` when its worker died as often as the executor retries.
        """

    @abstractmethod
    def describe(self) -> str:
        """What runs the work, for a summary line (``"2 local processes"``)."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers (waits for running tasks)."""

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_E = TypeVar("_E", bound=Executor)
