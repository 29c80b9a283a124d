"""Shared rich output: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.rule import Rule

__all__ = ["console", "err_console", "heading", "progress"]

_PIPED_WIDTH = 1000
"""Rich's width for output that is not a terminal: a file or a CI log has no edge,
so tables print in full instead of cut to 80 columns (COLUMNS still wins)."""

_HEADING_WIDTH = 100


def _width(stream: object) -> int | None:
    isatty = getattr(stream, "isatty", None)
    if "COLUMNS" in os.environ or (isatty is not None and isatty()):
        return None  # rich measures the terminal (or takes COLUMNS)
    return _PIPED_WIDTH


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))


def heading(title: str) -> None:
    """A rule with a title on stdout, no wider than a terminal even when piped."""
    console.print(Rule(title), width=min(console.width, _HEADING_WIDTH))


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
