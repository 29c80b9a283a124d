"""Verbs over episode files: info, realign, recover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

import episodes
from training_ground.cli._console import console, err_console, progress
from training_ground.cli._paths import episode_files

__all__ = ["info", "realign", "recover"]

# Aligned rates a robot's streams can fill: a tick every 1000 s up to 1 kHz (faster than any
# stream we record; 1e9 Hz once tried to allocate 95 GiB).
MIN_RATE_HZ = 0.001
MAX_RATE_HZ = 1000.0

PathsArg = Annotated[list[Path], typer.Argument(help="Episode files (.h5) or dataset directories.")]


def info(
    paths: PathsArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
    ] = False,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Include recordings in progress or interrupted (*.partial)."),
    ] = False,
) -> None:
    """Show an episode's metadata, streams and status, or a dataset directory's episodes.

    Example: tg info datasets/demo
    """
    files = episode_files(paths, include_partial=partial)
    single_file = len(paths) == 1 and not paths[0].is_dir()
    summaries = []
    failed: list[str] = []
    with progress(len(files), "reading episodes") as advance:
        for path in files:
            try:
                summaries.append(episodes.summarize(path))
            except episodes.EpisodeError as exc:
                if single_file:
                    raise
                failed.append(str(exc))  # one damaged file never hides the others
            advance(path)
    if as_json:
        payload = summaries[0].to_json() if single_file else [s.to_json() for s in summaries]
        console.print_json(json.dumps(payload))
    elif single_file:
        _print_episode(summaries[0])
    else:
        _print_dataset(summaries)
    if not partial:
        _mention_partials(paths)
    _report_failures(failed, "could not be read")


def _report_failures(failed: list[str], what: str) -> None:
    """One line per file a verb could not handle, then exit 1 (the others are already done)."""
    for message in failed:
        err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if failed:
        err_console.print(f"{len(failed)} file(s) {what}", highlight=False)
        raise typer.Exit(1)


def _mention_partials(paths: list[Path]) -> None:
    for directory in (p for p in paths if p.is_dir()):
        hidden = len(episodes.list_episodes(directory, include_partial=True)) - len(
            episodes.list_episodes(directory)
        )
        if hidden:
            err_console.print(
                f"[yellow]{directory}: {hidden} interrupted or live recording(s) not shown; "
                f"list them with --partial, turn them into episodes with `tg recover {directory}`[/]"
            )


def _success_text(success: bool | None) -> str:
    return "unknown" if success is None else ("yes" if success else "no")


def _print_episode(s: episodes.EpisodeSummary) -> None:
    m = s.metadata
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    rows: list[tuple[str, str | Text]] = [
        (
            "file",
            f"{s.path} ({s.size_bytes / 1e6:.1f} MB){'  [yellow]partial[/]' if s.partial else ''}",
        ),
        ("episode", m.episode_id),
        ("status", m.status + (f" ({m.abort_reason})" if m.abort_reason else "")),
        ("success", _success_text(m.success)),
        ("dataset", m.dataset),
        ("task", f"{m.task}: {m.instruction}" if m.instruction else m.task),
        (
            "robot",
            f"{m.robot.profile} {m.robot.model}".strip() + f", {len(m.robot.joint_names)} joints",
        ),
        ("operator / station", f"{m.operator or '-'} / {m.station or '-'}"),
        ("source", f"{m.source}, recorded {m.recorded_at} with {m.software_version}"),
        ("duration", f"{m.duration_s:.2f} s"),
        (
            "aligned view",
            f"{s.aligned_frames} frames at {s.aligned_rate_hz:g} Hz {s.aligned_reason}".rstrip(),
        ),
        ("annotations", ", ".join(s.annotations) or "none"),
        ("notes", m.notes or "-"),
        # Folded, never cut short with an ellipsis: a narrow terminal still shows the whole digest.
        ("content digest", Text(m.content_digest or "-", overflow="fold")),
    ]
    for key, value in rows:
        head.add_row(key, value)
    console.print(head)
    table = Table(title="streams", title_justify="left")
    for col in (
        "name",
        "kind",
        "role",
        "shape",
        "dtype",
        "samples",
        "rate Hz (expected)",
        "duration s",
    ):
        table.add_column(col, justify="right" if col in ("samples", "duration s") else "left")
    for st in s.streams:
        expected = f" ({st.expected_rate_hz:g})" if st.expected_rate_hz else ""
        shape = "x".join(str(d) for d in st.sample_shape) + (f" {st.encoding}" if st.encoding else "")
        table.add_row(
            st.name,
            st.kind,
            st.role,
            shape,
            st.dtype,
            str(st.count),
            f"{st.measured_rate_hz:.1f}{expected}",
            f"{st.duration_s:.2f}",
        )
    console.print(table)


def _print_dataset(summaries: list[episodes.EpisodeSummary]) -> None:
    table = Table(title=f"{len(summaries)} episodes", title_justify="left")
    table.add_column("episode", no_wrap=True, min_width=26)
    for col in ("status", "success", "task", "operator", "duration s", "frames", "MB"):
        table.add_column(col, justify="right" if col in ("duration s", "frames", "MB") else "left")
    for s in summaries:
        m = s.metadata
        table.add_row(
            m.episode_id,
            m.status,
            _success_text(m.success),
            m.task,
            m.operator or "-",
            f"{m.duration_s:.1f}",
            str(s.aligned_frames),
            f"{s.size_bytes / 1e6:.1f}",
        )
    console.print(table)
    total_s = sum(s.metadata.duration_s for s in summaries)
    ok = sum(1 for s in summaries if s.metadata.success)
    console.print(
        f"{len(summaries)} episodes, {total_s / 60:.1f} min recorded, {ok} successful, "
        f"{sum(s.size_bytes for s in summaries) / 1e9:.2f} GB"
    )


def _rate(value: float) -> float:
    if not MIN_RATE_HZ <= value <= MAX_RATE_HZ:
        raise typer.BadParameter(
            f"{value:g} Hz is outside the allowed range, {MIN_RATE_HZ:g} to {MAX_RATE_HZ:g} Hz"
        )
    return value


def realign(
    paths: PathsArg,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            callback=_rate,
            help=f"New aligned rate in Hz ({MIN_RATE_HZ:g} to {MAX_RATE_HZ:g}).",
        ),
    ],
    clock: Annotated[
        str | None,
        typer.Option(help="Align on source 'stamp' or 'arrival' times (default: as before)."),
    ] = None,
) -> None:
    """Recompute the aligned view at another rate; raw streams are not touched.

    Example: tg realign datasets/demo --rate 10
    """
    files = episode_files(paths)
    failed: list[str] = []
    with progress(len(files), "realigning") as advance:
        for path in files:
            # Per file: a file that cannot be realigned keeps its old view and is named at the end.
            try:
                frames = episodes.realign(path, rate_hz=rate, clock=clock)
                console.print(f"{path}: {frames} aligned frames at {rate:g} Hz")
            except episodes.EpisodeError as exc:
                failed.append(str(exc))
            advance(path)
    if failed:
        console.print(
            f"{len(files) - len(failed)} of {len(files)} file(s) realigned at {rate:g} Hz; the "
            f"{len(failed)} below keep their previous aligned view, so the files no longer share "
            "one rate: fix or move them away, then run the same command again (realigned files are "
            "recomputed the same way)",
            highlight=False,
        )
    _report_failures(failed, "not realigned")


def recover(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Interrupted *.h5.partial files, episodes with an interrupted update, or dataset dirs."
        ),
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Recover even if the file looks like it is still recording."),
    ] = False,
) -> None:
    """Turn interrupted recordings into episodes with status 'recovered', keeping all flushed data,
    and finish interrupted annotation updates from their journals.

    Example: tg recover datasets/demo
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = episodes.list_episodes(path, include_partial=True)
            files.extend(p for p in found if p.name.endswith(".partial") or _update_left_files(p))
        else:
            files.append(path)
    if not files:
        console.print("nothing to recover: no *.partial files and no interrupted updates")
        return
    failed: list[str] = []
    with progress(len(files), "recovering") as advance:
        for path in files:
            try:
                _recover_one(path, force)
            except episodes.EpisodeError as exc:
                if len(files) == 1:
                    raise
                failed.append(str(exc))  # the other files are still recovered
            advance(path)
    _report_failures(failed, "not recovered")


def _update_left_files(path: Path) -> bool:
    return episodes.has_pending_update(path) or bool(episodes.update_leftovers(path))


def _recover_one(path: Path, force: bool) -> None:
    if not path.name.endswith(".partial"):
        pending, leftovers = episodes.has_pending_update(path), episodes.update_leftovers(path)
        episodes.recover(path)
        if pending:
            console.print(f"{path}: finished its interrupted update")
        else:
            names = ", ".join(p.name for p in leftovers)
            console.print(
                f"{path}: removed what an unfinished update left ({names}); the episode is unchanged"
            )
        return
    final = episodes.recover(path, force=force)
    s = episodes.summarize(final)
    counts = ", ".join(f"{st.name} {st.count}" for st in s.streams)
    console.print(f"{path} -> {final}: {s.metadata.duration_s:.1f} s ({counts})")
    console.print(f"  content digest {s.metadata.content_digest}")
