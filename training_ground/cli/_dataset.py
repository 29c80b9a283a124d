"""`tg dataset`: merge, split, remove, restore, relabel and list the episodes of dataset directories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

import episodes
from training_ground.cli._console import console, err_console
from training_ground.cli._export import OperatorOption, QaOption, RobotOption, SuccessOption, TaskOption

__all__ = ["dataset_app"]

dataset_app = typer.Typer(
    name="dataset",
    help="Dataset surgery: merge, split, rm/restore (trash), relabel and ls over dataset directories.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DirArg = Annotated[Path, typer.Argument(help="Dataset directory (episode .h5 files).")]
IdsArg = Annotated[list[str], typer.Argument(help="Episode ids (file names without .h5).")]
OutOption = Annotated[Path, typer.Option("--out", help="New dataset directory to write; never overwritten.")]
CopyOption = Annotated[
    bool,
    typer.Option(
        "--copy",
        help="Copy the episode files. Default: hard links where the filesystem allows, which share the "
        "files with the sources, so a later annotate or relabel of one shows in the other.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who does it, for the record (default: your user name).")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, for the record.")]


@dataset_app.command("merge")
def merge(
    sources: Annotated[list[Path], typer.Argument(help="Dataset directories to merge.")],
    out: OutOption,
    realign: Annotated[
        float | None,
        typer.Option("--realign", metavar="HZ", help="Re-derive every episode's aligned view at HZ."),
    ] = None,
    drop_stream: Annotated[
        list[str] | None,
        typer.Option("--drop-stream", metavar="NAME", help="Leave this stream out (repeat for several)."),
    ] = None,
    copy: CopyOption = False,
) -> None:
    """Merge datasets into a new one; refused, naming the difference, when their robot profiles,
    stream sets, columns or units, or aligned rates differ (--realign, --drop-stream reconcile).

    Train/validation membership (splits.json) is kept; dataset_stats.json is recomputed.

    Example: tg dataset merge datasets/lab1 datasets/lab2 --out datasets/all --realign 30
    """
    options = episodes.MergeOptions(realign_hz=realign, drop_streams=tuple(drop_stream or ()), copy=copy)
    result = episodes.merge_datasets(sources, out, options)
    dropped = "".join(f", {name} dropped from {n}" for name, n in result.dropped.items())
    console.print(
        f"merged {result.episodes} episode(s) -> {result.out} ({result.linked} hard-linked, "
        f"{result.realigned} realigned{dropped}"
        + (f", {result.duplicates} duplicate(s) left out" if result.duplicates else "")
        + ")",
        highlight=False,
    )
    if not result.stats_written:
        err_console.print(f"[yellow]not every episode has statistics: run `tg annotate {result.out}`[/]")


@dataset_app.command("split")
def split(
    directory: DirArg,
    out: OutOption,
    by: Annotated[
        str | None,
        typer.Option("--by", help=f"Split by: {'|'.join(episodes.SPLIT_KEYS)}; one dataset per value."),
    ] = None,
    fraction: Annotated[
        float | None,
        typer.Option(
            "--fraction", help="Split into OUT/train and OUT/valid, this share validation (splits.json)."
        ),
    ] = None,
    copy: CopyOption = False,
) -> None:
    """Split a dataset into new datasets under OUT, one per value of --by, or train/valid by --fraction.

    Example: tg dataset split datasets/all --by operator --out datasets/by_operator
    """
    result = episodes.split_dataset(
        directory, out, episodes.SplitOptions(by=by, fraction=fraction, copy=copy)
    )
    parts = ", ".join(f"{name} ({n})" for name, n in result.parts.items())
    console.print(f"split {directory} -> {result.out}: {parts}", highlight=False)


@dataset_app.command("rm")
def rm(directory: DirArg, ids: IdsArg, reason: ReasonOption = "", by: ByOption = None) -> None:
    """Move episodes to the dataset's trash (DIR/.trash) with a record of who, when and why.

    Nothing is deleted; `tg dataset restore` brings them back.

    Example: tg dataset rm datasets/demo 01JD3Q6Z2N9X8Y7W6V5T4S3R2Q --reason "cube fell"
    """
    for record in episodes.remove_episodes(directory, ids, reason=reason, by=by):
        console.print(f"{record.episode_id}: moved to {directory / episodes.TRASH_DIR}", highlight=False)


@dataset_app.command("restore")
def restore(directory: DirArg, ids: IdsArg) -> None:
    """Bring episodes back from the dataset's trash.

    Example: tg dataset restore datasets/demo 01JD3Q6Z2N9X8Y7W6V5T4S3R2Q
    """
    for path in episodes.restore_episodes(directory, ids):
        console.print(f"restored {path}", highlight=False)


def _yes_no(value: str | None) -> str | None:
    if value is not None and value not in ("yes", "no"):
        raise typer.BadParameter(f"{value!r} is not yes or no")
    return value


@dataset_app.command("relabel")
def relabel(
    directory: DirArg,
    ids: IdsArg,
    task: Annotated[str | None, typer.Option("--task", help="The task name.")] = None,
    instruction: Annotated[
        str | None, typer.Option("--instruction", help="The language instruction.")
    ] = None,
    success: Annotated[
        str | None, typer.Option("--success", callback=_yes_no, metavar="yes|no", help="The outcome.")
    ] = None,
    reason: ReasonOption = "",
    by: ByOption = None,
) -> None:
    """Correct episodes' labels in place (through the update journal), recorded in their label history.

    Example: tg dataset relabel datasets/demo 01JD3Q6Z2N9X8Y7W6V5T4S3R2Q --success no --reason "dropped it"
    """
    if task is None and instruction is None and success is None:
        raise typer.BadParameter("give --task, --instruction or --success", param_hint="OPTIONS")
    why = episodes.Relabel(by=by if by is not None else episodes.TrashRecord.current_user(), reason=reason)
    outcome = None if success is None else success == "yes"
    for path in episodes.episode_paths(directory, ids):
        change = episodes.set_labels(path, task=task, instruction=instruction, success=outcome, why=why)
        what = (
            ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in change.changes.items())
            if change
            else "unchanged"
        )
        console.print(f"{path.name.removesuffix('.h5')}: {what}", highlight=False)


@dataset_app.command("ls")
def ls(
    directory: DirArg,
    qa: QaOption = "any",
    success: SuccessOption = None,
    task: TaskOption = None,
    robot: RobotOption = None,
    operator: OperatorOption = None,
    trash: Annotated[bool, typer.Option("--trash", help="List the episodes in the trash instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List a dataset's episodes with the loader's filters (default: every episode, checked or not).

    Example: tg dataset ls datasets/demo --qa passed --success --json
    """
    if trash:
        records = episodes.trashed_episodes(directory)
        if as_json:
            console.print_json(json.dumps([r.to_json() for r in records]))
        else:
            _print_trash(records)
        return
    chosen = episodes.EpisodeFilter(
        qa=cast(episodes.QaRule, qa), success=success, task=task, robot=robot, operator=operator
    )
    listing = episodes.list_dataset(directory, chosen)
    if as_json:
        console.print_json(json.dumps([e.to_json() for e in listing.episodes]))
    else:
        _print_listing(listing)
    for path, why in listing.unreadable:
        err_console.print(f"[bold yellow]warning:[/] {path}: unreadable ({why})", highlight=False)


def _print_listing(listing: episodes.DatasetListing) -> None:
    table = Table(title=f"{len(listing.episodes)} episode(s)", title_justify="left")
    for col in ("episode", "task", "robot", "operator", "success", "qa", "frames", "relabelled"):
        table.add_column(col, no_wrap=col == "episode", justify="right" if col == "frames" else "left")
    for e in listing.episodes:
        table.add_row(
            e.episode_id,
            e.task,
            e.robot,
            e.operator or "-",
            {True: "yes", False: "no", None: "unknown"}[e.success],
            {True: "passed", False: "failed", None: "-"}[e.qa_passed],
            str(e.num_frames),
            str(len(e.label_history)) if e.label_history else "-",
        )
    console.print(table)
    if listing.excluded:
        console.print(f"left out: {episodes.describe_left_out(listing.excluded)}", highlight=False)


def _print_trash(records: list[episodes.TrashRecord]) -> None:
    table = Table(title=f"{len(records)} episode(s) in the trash", title_justify="left")
    for col in ("episode", "removed by", "removed at", "reason"):
        table.add_column(col)
    for r in records:
        table.add_row(r.episode_id, r.removed_by, r.removed_at, r.reason)
    console.print(table)
