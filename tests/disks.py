"""Disk faults made real for tests: a small tmpfs that fills up (ENOSPC), a read-only bind mount
(EROFS), an immutable file (EPERM even for root), and `tg` run as the user runs it.

Mounting needs root (tests run as root in CI); where it is not permitted the test is skipped
with the reason. ``RLIMIT_FSIZE`` would give EFBIG instead, a different error.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["CRASH_MARKS", "fill", "hidden_files", "immutable", "read_only", "run_tg", "small_disk"]

REPO = Path(__file__).resolve().parents[1]
CRASH_MARKS = ("Traceback", "This is a bug in tg", "Segmentation fault", "Exception ignored")
"""What must never reach the user: a traceback, the last-resort handler's line, a crash."""


def _mount(*args: str) -> None:
    try:
        done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("no mount command here to make a small or read-only disk")
    if done.returncode != 0:
        pytest.skip(f"mounting is not permitted here (it needs root): {done.stderr.strip()}")


def _umount(path: Path) -> None:
    # Lazy: a child the test killed may still hold a file open for a moment.
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=True)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "8m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (created) while the block runs."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until about ``leave`` bytes are free; returns the filler file (delete it to free)."""
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    room = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize - leave
    with open(filler, "wb") as out:
        out.write(b"\0" * max(room, 0))
    return filler


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` (a directory) bind-mounted read-only onto itself while the block runs."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,ro,bind", str(path))
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """``chattr +i path``: not even root may write, rename or delete it while the block runs."""
    try:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("no chattr here to make a file immutable")
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not permitted here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, timeout=30, check=True)


def hidden_files(directory: Path) -> list[str]:
    """Names of the dot files a verb may leave behind (journals, work copies, partial exports)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def run_tg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``tg ARGS`` in a new process, as the user runs it (a crash there cannot take the test along)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env |= {"PYTHONPATH": str(REPO), "COLUMNS": "2000"}
    return subprocess.run(
        [sys.executable, "-c", "from training_ground.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
