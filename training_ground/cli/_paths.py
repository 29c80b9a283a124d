"""The episode files a verb works on: one rule, so the same situation gets the same answer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

import episodes

__all__ = ["episode_files"]


def episode_files(paths: Sequence[Path], *, include_partial: bool = False) -> list[Path]:
    """Episode files of ``paths`` (directories expanded); a usage error (exit 2) if there are none.

    A path that does not exist and a directory without episodes are both usage
    errors naming the path, for every verb (info, validate, annotate, realign, export).
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(episodes.list_episodes(path, include_partial=include_partial))
        elif path.exists():
            files.append(path)
        else:
            raise typer.BadParameter(f"{path}: no such file or directory", param_hint="PATHS")
    if not files:
        kinds = "*.h5 or *.h5.partial" if include_partial else "*.h5"
        raise typer.BadParameter(
            f"no episode files ({kinds}) in {', '.join(map(str, paths))}", param_hint="PATHS"
        )
    return files
