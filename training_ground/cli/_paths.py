"""The episode files a verb works on: one rule, so the same situation gets the same answer."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import typer

import episodes

__all__ = ["episode_files", "output_directory", "output_file"]


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


def output_directory(path: Path, option: str) -> None:
    """Make sure a verb can write into the directory ``path`` (created if missing) before it starts.

    A file in the way is a usage error naming ``option`` (exit 2); a directory that
    cannot be created or written (read-only, full) an ``EpisodeWriteError`` (exit 1).
    """
    _no_file_in_the_way(path, option)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise episodes.write_error(exc, path, f"preparing {option}") from None


def output_file(path: Path, option: str, example: str) -> None:
    """Make sure the file ``path`` can be written: a directory there or a file in place of a folder
    above it is a usage error (exit 2); a missing folder is created; one that cannot be written
    is an ``EpisodeWriteError`` (exit 1)."""
    if path.is_dir():
        raise typer.BadParameter(
            f"{path} is a directory; give a file name, e.g. {path / example}", param_hint=option
        )
    _no_file_in_the_way(path.parent, option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):  # a read-only folder: said before the work
            pass
    except OSError as exc:
        raise episodes.write_error(exc, path.parent, f"preparing {option}") from None


def _no_file_in_the_way(directory: Path, option: str) -> None:
    for part in (directory, *directory.parents):
        if part.is_dir():
            return
        if part.exists():
            why = (
                "is a file, not a directory"
                if part == directory
                else f"is a file, so {directory} cannot be made"
            )
            raise typer.BadParameter(f"{part} {why}", param_hint=option)
