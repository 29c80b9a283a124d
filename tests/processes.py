"""The processes a test started, seen through /proc (Linux): who descends from whom, who still runs."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["descendants", "running", "slow_touch", "wait_gone", "watch_parent_without_prctl"]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid``, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now: children, their children, ..."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has ended; only its exit status waits to be read)."""
    return {pid for pid in pids if (stat := _stat(pid)) is not None and stat[0] != "Z"}


def wait_gone(pids: set[int], timeout_s: float) -> set[int]:
    """Wait up to ``timeout_s`` for ``pids`` to end; those still running then."""
    deadline = time.monotonic() + timeout_s
    while (left := running(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def slow_touch(path: Path) -> Path:
    """A slow unit of work for a process pool: waits, then creates ``path`` (what it did shows on disk)."""
    time.sleep(0.3)
    path.touch()
    return path


def watch_parent_without_prctl(parent_pid: int) -> None:
    """A child that knows of its parent's end only through die_with_parent's portable fallback."""
    from tg_exec import _local

    _local.arm_death_signal = lambda signum: False  # as on a platform without prctl
    _local.die_with_parent(parent_pid)
    time.sleep(120)
