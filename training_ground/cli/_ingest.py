"""`tg ingest`: robot bags (ROS 1 .bag, ROS 2 sqlite3/MCAP directories) into episodes."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from collectors import (
    BagFailure,
    IngestOptions,
    IngestResult,
    IngestSummary,
    SkippedBag,
    bag_sizes,
    find_bags,
    ingest_bags,
)
from tg_config import RobotProfile, load_profile
from tg_exec import Executor
from training_ground.cli._console import console, err_console
from training_ground.cli._executor import ExecutorOption, RayAddressOption, executor_for
from training_ground.cli._paths import output_directory
from training_ground.cli._robot_options import OutOption, ProfileOption

__all__ = ["ingest"]


_Bags = Annotated[
    list[Path],
    typer.Argument(
        help="ROS 1 .bag files, ROS 2 bag directories, bare .mcap/.db3 files, or folders of them."
    ),
]
_Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-j", min=1, help="Bags ingested at once, one process each (default: one per CPU)."
    ),
]
_SplitGap = Annotated[
    float | None,
    typer.Option(
        "--split-gap", min=0.001, help="Start a new episode after this many seconds without messages."
    ),
]
_SplitTopic = Annotated[
    str | None, typer.Option("--split-topic", help="Start a new episode at each message on this topic.")
]
_Task = Annotated[str, typer.Option(help="Task label of the episodes, e.g. pick_place.")]
_Instruction = Annotated[str, typer.Option(help="Language instruction of the task.")]
_Dataset = Annotated[str, typer.Option(help="Dataset label (default: the name of the --out folder).")]
_Operator = Annotated[str, typer.Option(help="Who teleoperated.")]
_Station = Annotated[str, typer.Option(help="Which collection station.")]
_Reingest = Annotated[
    bool,
    typer.Option(
        "--reingest",
        help="Ingest bags again that have episodes in --out already (by default they are skipped).",
    ),
]


def ingest(
    bags: _Bags,
    profile: ProfileOption,
    out: OutOption,
    workers: _Workers = None,
    split_gap: _SplitGap = None,
    split_topic: _SplitTopic = None,
    task: _Task = "",
    instruction: _Instruction = "",
    dataset: _Dataset = "",
    operator: _Operator = "",
    station: _Station = "",
    reingest: _Reingest = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Turn robot bags into episodes: one bag = one episode unless split; bad bags are reported, not fatal.

    Exit code 1 when any bag failed; the episodes of the other bags are written.
    Bags already ingested into --out are skipped, so an interrupted run can simply be
    run again.

    Example: tg ingest recordings/*.bag --profile kuavo4pro --out datasets/kuavo_pick --task pick_place
    """
    if split_gap is not None and split_topic:
        raise typer.BadParameter("give --split-gap or --split-topic, not both", param_hint="--split-gap")
    output_directory(out, "--out")  # a file in the way, or read-only: said before any bag is read
    robot = load_profile(profile)
    search = find_bags(bags)
    for skip in search.skipped:
        err_console.print(f"[yellow]skipped:[/] {skip.path}: {skip.reason}", highlight=False)
    options = IngestOptions(
        task=task,
        instruction=instruction,
        dataset=dataset,
        operator=operator,
        station=station,
        split_gap_s=split_gap,
        split_topic=split_topic or "",
        reingest=reingest,
    )
    # SIGTERM, not SIGKILL, for local workers when tg ingest ends: each removes its bag's files first.
    with executor_for(executor, ray_address, workers, stop_signal=signal.SIGTERM) as run:
        summary = _ingest_with_progress(list(search.bags), robot, out, options, run)
    for note in summary.cleaned:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    skipped = (*search.skipped, *summary.skipped)
    _print_summary(summary, skipped)
    console.print(_last_line(summary, search.skipped, out), highlight=False)
    if summary.failures:
        raise typer.Exit(code=1)


def _ingest_with_progress(
    bags: list[Path], robot: RobotProfile, out: Path, options: IngestOptions, run: Executor
) -> IngestSummary:
    """:func:`collectors.ingest_bags` with a progress bar (by bytes) on stderr and failures as they come."""
    sizes = [max(1, s) for s in bag_sizes(bags)]
    fractions = [0.0] * len(bags)
    outcomes: list[IngestResult | BagFailure | SkippedBag] = []
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task_id = bar.add_task(f"ingesting 0/{len(bags)} bags", total=sum(sizes))

        def progress(i: int, fraction: float) -> None:
            fractions[i] = max(fractions[i], fraction)
            bar.update(task_id, completed=sum(f * s for f, s in zip(fractions, sizes, strict=True)))

        def done(outcome: IngestResult | BagFailure | SkippedBag) -> None:
            outcomes.append(outcome)
            bar.update(task_id, description=f"ingesting {len(outcomes)}/{len(bags)} bags")
            if isinstance(outcome, BagFailure):
                err_console.print(f"[red]failed:[/] {outcome.reason}", highlight=False)

        return ingest_bags(bags, robot, out, options=options, executor=run, progress=progress, done=done)


def _last_line(summary: IngestSummary, not_bags: tuple[SkippedBag, ...], out: Path) -> str:
    line = f"{len(summary.episodes)} episode(s) written to {out} from {len(summary.results)} bag(s)"
    if summary.skipped:
        line += f"; {len(summary.skipped)} bag(s) skipped, already ingested (--reingest ingests them again)"
    if not_bags:
        line += f"; [yellow]{len(not_bags)} path(s) skipped, not readable as bags (see above)[/]"
    if summary.failures:
        line += f"; [red]{len(summary.failures)} bag(s) failed[/]"
    return line


def _print_summary(summary: IngestSummary, skipped: tuple[SkippedBag, ...]) -> None:
    table = Table(title="ingest", title_justify="left")
    table.add_column("bag", overflow="fold")
    table.add_column("episodes", justify="right")
    table.add_column("notes", overflow="fold")
    for result in summary.results:
        table.add_row(str(result.bag), str(len(result.episodes)), "; ".join(result.skipped) or "-")
    for failure in summary.failures:
        table.add_row(str(failure.bag), "[red]failed[/]", failure.reason)
    for skip in skipped:
        table.add_row(str(skip.path), "[yellow]skipped[/]", skip.reason)
    console.print(table)
