"""`tg annotate`: active range, gripper events, segments, labels and statistics into each episode."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import typer
from rich.table import Table

import episodes
from tg_base import TgError
from training_ground.cli._console import console, err_console, progress
from training_ground.cli._executor import ExecutorOption, RayAddressOption, executor_for
from training_ground.cli._paths import episode_files
from training_ground.cli._validate import (
    ConfigOption,
    PathsArg,
    ProfileOption,
    WorkersOption,
    qa_configs,
)

__all__ = ["annotate"]


def annotate(
    paths: PathsArg,
    workers: WorkersOption = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Annotate episodes in place (raw data untouched); for a directory, also its dataset_stats.json.

    Adds the active range, gripper events, phase segments, instruction, success
    label and per-stream statistics under /annotations (episodes/QA.md). Running
    it again changes nothing.

    Example: tg annotate datasets/demo
    """
    files = episode_files(paths)
    configs = qa_configs(profile, config)
    with executor_for(executor, ray_address, workers) as run, progress(len(files), "annotating") as advance:
        results = episodes.annotate_episodes(files, configs, executor=run, on_result=advance)
    _print_table(results)
    done = {Path(r.path).resolve(): r for r in results}
    errors = [r.error for r in results if r.error]
    for directory in (p for p in paths if p.is_dir()):
        try:
            _write_stats(directory, done)
        except episodes.EpisodeError as exc:  # a full or read-only disk: the episodes are done
            errors.append(str(exc))
    for error in errors:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False)
    if errors:
        raise typer.Exit(1)


def _write_stats(directory: Path, done: dict[Path, episodes.AnnotationResult]) -> None:
    with _stats_lock(directory):
        stats, stored = _dataset_stats(directory, done)
        changed = episodes.write_dataset_stats(directory, stats)
    target = directory / episodes.DATASET_STATS_FILE
    console.print(
        f"dataset statistics: {target} ({'updated' if changed else 'unchanged'}, {len(stats)} episodes"
        + (f", {stored} as annotated before" if stored else "")
        + ")"
    )


@contextlib.contextmanager
def _stats_lock(directory: Path) -> Iterator[None]:
    """Two `tg annotate` of one directory write its statistics one after the other, not over each other."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _dataset_stats(
    directory: Path, done: dict[Path, episodes.AnnotationResult]
) -> tuple[dict[str, list[episodes.StreamStats]], int]:
    """Each episode's statistics: from this run, else as stored by an earlier (or concurrent) run.

    An episode this run skipped (another run was updating it) keeps its place in the
    statistics; returns how many came from stored annotations.
    """
    stats: dict[str, list[episodes.StreamStats]] = {}
    stored = 0
    for path in episodes.list_episodes(directory):
        result = done.get(path.resolve())
        if result is not None and result.annotations is not None and not result.error:
            stats[result.episode_id] = list(result.annotations.stats)
            continue
        try:
            with episodes.open(path) as reader:
                episode_id = reader.metadata.episode_id
            earlier = episodes.read_annotations(path)
        except (TgError, OSError, KeyError, ValueError):  # damaged: reported in the table
            continue
        if earlier is not None:
            stats[episode_id] = list(earlier.stats)
            stored += 1
    return stats, stored


def _print_table(results: Sequence[episodes.AnnotationResult]) -> None:
    table = Table(title=f"{len(results)} episode(s)", title_justify="left")
    table.add_column("episode", no_wrap=True, min_width=26)
    for col in ("active s", "segments", "gripper events", "instruction", "success", "file"):
        table.add_column(col)
    for r in results:
        a = r.annotations
        if a is None:
            table.add_row(
                r.episode_id or Path(r.path).name, "-", "-", "-", "-", "-", "[bold red]not annotated[/]"
            )
            continue
        active = f"{(a.active_stop_ns - a.active_start_ns) / 1e9:.2f}" + (
            "" if a.motion_detected else " (still)"
        )
        success = "unknown" if a.success is None else ("yes" if a.success else "no")
        table.add_row(
            r.episode_id,
            active,
            ", ".join(s.kind for s in a.segments),
            str(len(a.gripper_events)),
            a.instruction_source,
            f"{success} ({a.success_source})",
            "[bold red]not stored[/]" if r.error else ("updated" if r.changed else "unchanged"),
        )
    console.print(table)
