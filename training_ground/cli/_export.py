"""`tg export`: a dataset directory as a LeRobot dataset or a robomimic file."""

from __future__ import annotations

import contextlib
import re
import warnings
from pathlib import Path
from typing import Annotated, cast

import typer

import episodes
from tg_exec import Executor, ExecutorOptions
from training_ground.cli._console import console, err_console, progress
from training_ground.cli._executor import ExecutorOption, RayAddressOption, executor_for
from training_ground.cli._paths import episode_files
from training_ground.cli._validate import WorkersOption

__all__ = ["cli_words", "export", "height_width"]


def _format(value: str) -> str:
    if value not in episodes.EXPORTERS:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(sorted(episodes.EXPORTERS))}")
    return value


def _size(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", value):
        raise typer.BadParameter(
            f"{value!r} is not HEIGHTxWIDTH (two positive whole numbers, height first), e.g. 240x320"
        )
    if value is not None and max(int(side) for side in value.split("x")) > episodes.MAX_IMAGE_SIDE:
        raise typer.BadParameter(
            f"{value!r}: each side must be 1 to {episodes.MAX_IMAGE_SIDE} pixels, e.g. 240x320"
        )
    return value


def _qa(value: str) -> str:
    if value not in episodes.QA_RULES:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(episodes.QA_RULES)}")
    return value


def _review(value: str | None) -> str | None:
    if value is not None and value not in episodes.REVIEW_STATES:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(episodes.REVIEW_STATES)}")
    return value


DirectoryArg = Annotated[Path, typer.Argument(help="Dataset directory (episode .h5 files).")]
OutOption = Annotated[
    Path,
    typer.Option(
        "--out", help="New directory (lerobot) or .hdf5 file (robomimic) to write; never overwritten."
    ),
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format", callback=_format, help=f"Target format: {', '.join(sorted(episodes.EXPORTERS))}."
    ),
]
StateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--state",
        metavar="STREAM[:COLUMNS]",
        help="A stream (and some of its columns, comma-separated, * patterns allowed) of "
        "observation.state, e.g. joint_position:l_arm_*,r_arm_*; repeat for several. Default: "
        "the positions of the joints the actions command, and the grippers.",
    ),
]
ActionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--action",
        metavar="STREAM[:COLUMNS]",
        help="As --state, for the action vector. Default: every action stream of the episodes.",
    ),
]
CameraOption = Annotated[
    list[str] | None,
    typer.Option(
        "--camera", help="Export this camera, RGB, mono or depth (repeat for several; default: all of them)."
    ),
]
ImageSizeOption = Annotated[
    str | None,
    typer.Option(
        "--image-size",
        callback=_size,
        metavar="HxW",
        help="Resize every camera's frames to HEIGHTxWIDTH (height first, as image_size in Python), "
        "e.g. 240x320.",
    ),
]
ActiveRangeOption = Annotated[
    bool,
    typer.Option("--active-range", help="Only the annotated active range of each episode (tg annotate)."),
]
QaOption = Annotated[
    str,
    typer.Option(
        "--qa",
        callback=_qa,
        metavar="passed|any",
        help="passed: only episodes that passed tg validate --write (never-validated ones are left out "
        "with a warning); any: every episode, checked or not.",
    ),
]
SuccessOption = Annotated[
    bool | None, typer.Option("--success/--failure", help="Only successful (or only failed) episodes.")
]
TaskOption = Annotated[str | None, typer.Option("--task", help="Only episodes of this task.")]
RobotOption = Annotated[str | None, typer.Option("--robot", help="Only episodes of this robot profile.")]
OperatorOption = Annotated[str | None, typer.Option("--operator", help="Only episodes of this operator.")]
ReviewOption = Annotated[
    str | None,
    typer.Option(
        "--review",
        callback=_review,
        metavar="approved|rejected|pending",
        help="Only episodes with this review verdict (the site's review, stored in the file).",
    ),
]
SkipMixedOption = Annotated[
    bool,
    typer.Option(
        "--skip-mixed", help="Keep the largest group of episodes with one robot and stream set, not fail."
    ),
]


def export(
    directory: DirectoryArg,
    out: OutOption,
    format_: FormatOption = "lerobot",
    state: StateOption = None,
    action: ActionOption = None,
    cameras: CameraOption = None,
    image_size: ImageSizeOption = None,
    active_range: ActiveRangeOption = False,
    qa: QaOption = "passed",
    success: SuccessOption = None,
    task: TaskOption = None,
    robot: RobotOption = None,
    operator: OperatorOption = None,
    review: ReviewOption = None,
    skip_mixed: SkipMixedOption = False,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Export a dataset to LeRobot (v3.0: Parquet, MP4 per camera, meta/) or robomimic (one HDF5).

    Only episodes that passed tg validate --write are exported unless --qa any. Every
    episode must come from one robot with the same streams and aligned rate; an
    unreadable episode, or a second file of the same episode, is skipped with a warning
    naming it. A LeRobot export encodes its episodes in parallel (--workers, --executor);
    a robomimic export writes its one file in this process.

    Example: tg export datasets/demo --format lerobot --out exports/demo_lerobot
    """
    episode_files([directory])  # a missing or empty directory is a usage error, as for every verb
    episode_filter = episodes.EpisodeFilter(
        qa=cast(episodes.QaRule, qa),
        success=success,
        task=task,
        robot=robot,
        operator=operator,
        review=review,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            selection = episodes.select_episodes(
                directory, episode_filter, on_mixed="skip" if skip_mixed else "error"
            )
            with (
                _cluster(format_, executor, ray_address) as run,
                progress(len(selection.episodes), f"exporting ({format_})") as advance,
            ):
                options = episodes.ExportOptions(
                    state=state,
                    action=action,
                    cameras=cameras,
                    image_size=height_width(image_size),
                    active_range=active_range,
                    on_episode=advance,
                    workers=workers,
                )
                result = episodes.EXPORTERS[format_](selection, out, options, executor=run)
        except episodes.DatasetError as exc:
            raise episodes.DatasetError(cli_words(str(exc))) from None
        finally:
            for warning in caught:
                err_console.print(f"[bold yellow]warning:[/] {warning.message}", highlight=False)
    _print_summary(result)


# The library's advice names its Python arguments; here the user types options.
_CLI_WORDS = {
    "on_mixed='skip'": "--skip-mixed",
    "robot=...": "--robot NAME",
    "action_streams=[...]": "--action STREAM",
    "state_streams=[...]": "--state STREAM",
    "active_only=True": "--active-range",
}


def cli_words(message: str) -> str:
    """``message`` with the Python argument names it suggests replaced by ``tg export``'s options.

    >>> cli_words("or pass on_mixed='skip' to use the largest group")
    'or pass --skip-mixed to use the largest group'
    """
    for python, option in _CLI_WORDS.items():
        message = message.replace(python, option)
    return message


def height_width(image_size: str | None) -> tuple[int, int] | None:
    """``HxW`` as the ``(height, width)`` the exporters take."""
    if image_size is None:
        return None
    height, width = (int(v) for v in image_size.split("x"))
    return height, width


def _print_summary(result: episodes.ExportResult) -> None:
    left_out = sum(result.left_out.values())
    why = episodes.describe_left_out(result.left_out)
    cams = f", cameras: {', '.join(result.cameras)}" if result.cameras else ""
    console.print(
        f"{result.format}: {result.episodes} episode(s), {result.frames} frames{cams}"
        + (f" ({left_out} left out: {why})" if left_out else "")
        + f" -> {result.out}",
        highlight=False,
    )


def _cluster(
    format_: str, executor: str | None, ray_address: str | None
) -> contextlib.AbstractContextManager[Executor | None]:
    """The Ray executor the options (or the environment) name for a LeRobot export, else none:
    local exports choose their processes themselves (a small one runs in this process, as a pool
    costs a second or two to start), and a robomimic file is written by this process alone."""
    if format_ != "lerobot" or ExecutorOptions.resolve(executor, address=ray_address).kind == "local":
        return contextlib.nullcontext()
    return executor_for(executor, ray_address, None)
