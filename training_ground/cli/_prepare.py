"""`tg prepare`: a dataset's cameras decoded once at the training size, for EpisodeDataset(cache=DIR)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, cast

import typer

import episodes
from training_ground.cli._console import console, err_console, progress
from training_ground.cli._export import (
    DirectoryArg,
    ImageSizeOption,
    QaOption,
    TaskOption,
    cli_words,
    height_width,
)
from training_ground.cli._paths import episode_files

__all__ = ["prepare"]

CamerasOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cameras",
        "--camera",
        metavar="NAME[,NAME]",
        help="Cameras to prepare, comma-separated or repeated (default: all of them).",
    ),
]
CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help=f"Cache directory (default: DIRECTORY/{episodes.CACHE_DIRNAME}); pass the same to "
        "EpisodeDataset(cache=...).",
    ),
]


def prepare(
    directory: DirectoryArg,
    image_size: ImageSizeOption = None,
    cameras: CamerasOption = None,
    cache: CacheOption = None,
    qa: QaOption = "passed",
    task: TaskOption = None,
) -> None:
    """Decode each camera once at the training size into a memory-mappable cache for the loader.

    Entries already there for the same episode content, camera and size are kept; a
    changed episode's are rebuilt. Train with EpisodeDataset(DIRECTORY,
    image_size=(H, W), cache=DIR): it finds them ready.

    Example: tg prepare datasets/demo --image-size 224x224 --cameras head,wrist_left
    """
    episode_files([directory])  # a missing or empty directory is a usage error, as for every verb
    chosen = [name for value in cameras or () for name in value.split(",") if name] or None
    episode_filter = episodes.EpisodeFilter(qa=cast(episodes.QaRule, qa), task=task)
    size = height_width(image_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            selection = episodes.select_episodes(directory, episode_filter)
            with progress(len(selection.episodes), "preparing") as advance:
                report = episodes.prepare_cache(
                    selection, cache, image_size=size, cameras=chosen, on_entry=advance
                )
        except episodes.DatasetError as exc:
            raise episodes.DatasetError(cli_words(str(exc))) from None
        finally:
            for warning in caught:
                err_console.print(f"[bold yellow]warning:[/] {warning.message}", highlight=False)
    for message in report.failed:
        err_console.print(f"[bold yellow]warning:[/] {message}", highlight=False)
    console.print(
        f"{report.directory}: {report.built} entries built, {report.reused} kept, "
        f"{len(report.failed)} failed; {report.bytes / 1e6:.1f} MB",
        highlight=False,
    )
    console.print(
        f"use: EpisodeDataset({str(directory)!r}, image_size={size}"
        + (f", cameras={chosen}" if chosen else "")
        + f", cache={report.directory!r})",
        highlight=False,
        soft_wrap=True,
    )
