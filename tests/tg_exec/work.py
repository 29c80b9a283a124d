"""Work functions the executor tests send to other processes (importable by spawned workers)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tg_base import TgError
from tg_exec import report_progress

__all__ = ["die_on_bad", "halves", "logged", "pid_of", "refuse_bad", "slow_square", "touch_once"]

T = TypeVar("T")


def refuse_bad(name: str) -> str:
    """``name`` upper-cased; a name with ``bad`` in it is bad input."""
    if "bad" in name:
        raise TgError(f"{name}: not an episode file")
    return name.upper()


def die_on_bad(name: str) -> str:
    """Kills its own process on a name with ``bad`` in it, as HDF5 does on some damaged files."""
    if "bad" in name:
        os._exit(3)
    return name


def halves(n: int) -> int:
    """Reports progress 0.5 then returns ``n``."""
    report_progress(0.5)
    return n


def slow_square(n: int) -> int:
    time.sleep(0.05)
    return n * n


def pid_of(_item: object) -> int:
    """This worker's pid, after 0.1 s: long enough for the pool to hand items to every worker."""
    time.sleep(0.1)
    return os.getpid()


def touch_once(path: Path) -> str:
    """Creates ``path``; a second call for the same path is an error (the test counts attempts)."""
    with open(path, "x", encoding="utf-8"):
        pass
    return path.name


def logged(work: Callable[[Path], T], log: Path, delay_s: float, item: Path) -> T:
    """``work(item)`` after ``delay_s``; each attempt adds a line to ``log`` (on the shared filesystem)."""
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"{Path(item).name} {os.getpid()}\n")
    time.sleep(delay_s)
    return work(item)
