"""Where an export goes: a new path, written under a hidden name and renamed when complete."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from episodes._errors import EpisodeError
from episodes._export._errors import ExportError
from episodes._storage import megabytes, remove_quietly, write_error

__all__ = ["ExportResult", "discard_work", "prepare_target"]


@dataclass(frozen=True)
class ExportResult:
    """Where an export went and what it holds; ``left_out`` says why episodes of the source
    directory were not exported -> how many (:attr:`Selection.excluded`)."""

    out: Path
    format: str
    episodes: int
    frames: int
    episode_ids: tuple[str, ...]
    cameras: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)


def prepare_target(target: Path) -> tuple[Path, Path]:
    """Refuse an existing target; return it and the hidden work path next to it."""
    if target.exists():
        raise ExportError(f"{target}: already exists; an export never overwrites, choose a new --out")
    if not target.parent.is_dir():
        raise ExportError(f"{target.parent}: no such directory to export into")
    work = target.parent / f".{target.name}.partial"
    # Left by an export that was killed: ours, hidden, never a dataset.
    if work.is_dir():
        shutil.rmtree(work)
    elif work.exists():
        work.unlink()
    return target, work


def discard_work(exc: BaseException, target: Path, work: Path) -> BaseException:
    """Remove the unfinished export ``work``; what to raise for ``exc``, the failure that stopped it.

    An ``OSError`` (a full or read-only disk, also from PyAV or HDF5) becomes one message naming
    ``target``, measured after the removal: the free space then, and what the export had written.
    """
    written = sum(p.stat().st_size for p in work.rglob("*") if p.is_file()) if work.is_dir() else 0
    if work.is_file():
        written = work.stat().st_size
        remove_quietly(work)
    shutil.rmtree(work, ignore_errors=True)
    if not isinstance(exc, OSError) or isinstance(exc, EpisodeError):
        return exc
    # On a full disk what it had written is a lower bound of the room it needs.
    removed = f" (it needs more than the {megabytes(written)} it had written, now removed)"
    left = "nothing was exported" + (removed if written else "")
    return write_error(exc, target, "exporting", left=left)
