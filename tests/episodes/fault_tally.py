"""The fault suite's counters, shared by its modules, and the summary line ``make faults`` prints.

Also a pytest plugin (``-p tests.episodes.fault_tally``): at the end of the run it prints the
totals the issue asks for. Under ``-n`` each worker counts apart, so ``make faults`` runs serially.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["KEYS", "TALLY", "pytest_terminal_summary", "summary"]

TALLY: Counter[str] = Counter()
KEYS = (
    "cases",
    "verb runs",
    "ok",
    "clean error",
    "reported file.unreadable",
    "tracebacks",
    "hangs",
    "silent passes",
    "data lost",
    "kills that left work files",
)
"""What the summary shows: cases (one damaged file, disk, kill or pair of writers each), runs of
a verb over them, how each ended, the failures that must stay at zero, and how many kills
landed mid-update (a journal or realign's copy left for `tg recover`)."""


def summary() -> str:
    """``fault suite: cases N, verb runs N, ...`` over :data:`KEYS`."""
    return "fault suite: " + ", ".join(f"{key} {TALLY[key]}" for key in KEYS)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY:
        terminalreporter.write_sep("=", "fault suite totals")
        terminalreporter.write_line(summary())
