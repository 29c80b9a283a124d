"""`tg import`: datasets recorded with other tools (ALOHA/ACT files, LeRobot v3) as our episodes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import episodes
from collectors import AlohaOptions, find_aloha_files, import_aloha
from tg_config import load_profile
from training_ground.cli._console import console
from training_ground.cli._robot_options import OutOption, ProfileOption

__all__ = ["import_app"]

import_app = typer.Typer(
    name="import",
    help="Import datasets recorded with other tools (ALOHA/ACT HDF5 files, LeRobot v3) as episodes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_Task = Annotated[str, typer.Option("--task", help="Task label of the episodes, e.g. transfer_cube.")]
_Instruction = Annotated[str, typer.Option("--instruction", help="Language instruction of the task.")]
_Operator = Annotated[str, typer.Option("--operator", help="Who teleoperated.")]


@import_app.command("aloha")
def aloha(
    paths: Annotated[list[Path], typer.Argument(help="ALOHA/ACT episode files (*.hdf5) or folders of them.")],
    profile: ProfileOption,
    out: OutOption,
    fps: Annotated[
        float | None,
        typer.Option(
            "--fps", min=0.001, help="Control rate in Hz (default: the files' fps attribute; ACT: 50)."
        ),
    ] = None,
    task: _Task = "",
    instruction: _Instruction = "",
    operator: _Operator = "",
) -> None:
    """Import ALOHA/ACT episode files (/observations/qpos, qvel, effort, images/<camera>, /action).

    Each file becomes one episode of the robot profile; timestamps are reconstructed from
    the frame rate (recorded in the episode's import_json). Every file is checked before
    any is written.

    Example: tg import aloha data/sim_transfer_cube_scripted --profile aloha.yaml --fps 50 --out datasets/act
    """
    files = find_aloha_files(paths)
    options = AlohaOptions(fps=fps, task=task, instruction=instruction, operator=operator)
    written = import_aloha(files, load_profile(profile), out, options)
    console.print(f"imported {len(written)} ALOHA episode(s) -> {out}", highlight=False)


@import_app.command("lerobot")
def lerobot(
    directory: Annotated[
        Path, typer.Argument(help="LeRobot v3.0 dataset directory (meta/info.json, data/, videos/).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="New dataset directory to write; never overwritten.")
    ],
) -> None:
    """Import a local LeRobot v3.0 dataset: Parquet rows and MP4 videos (decoded with PyAV) as episodes.

    Features named stream.column (as tg export writes them) come back as those streams; other
    numeric features as one generic stream each. v2.x datasets are refused with how to convert them.

    Example: tg import lerobot ~/.cache/huggingface/lerobot/lerobot/pusht --out datasets/pusht
    """
    written = episodes.import_lerobot(directory, out)
    console.print(f"imported {len(written)} LeRobot episode(s) -> {out}", highlight=False)
