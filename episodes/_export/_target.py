"""Where an export goes: a new path, written under a hidden name and renamed when complete."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from episodes._export._errors import ExportError

__all__ = ["ExportResult", "prepare_target"]


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
