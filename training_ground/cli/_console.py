"""Shared rich output: results on stdout, progress and errors on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["console", "err_console", "progress"]

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[object], None]]:
    """A progress bar on stderr; the yielded function advances it by one item."""
    bar = Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=total < 2,
    )
    with bar:
        task = bar.add_task(what, total=total)
        yield lambda _result: bar.advance(task)
