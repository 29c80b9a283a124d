"""`tg demo`: record a short simulated session end to end and show what was recorded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from tg_config import SessionConfig, load_session
from tg_station import write_session
from training_ground.cli import _annotate, _episodes, _validate
from training_ground.cli._collect import record_simulated, record_through_ros, ros_available
from training_ground.cli._console import console, err_console, heading

__all__ = ["demo"]

_DEFAULT_CONFIGS = [Path("launch/sim_pick_place.yaml"), Path("launch/sim_bimanual_lift.yaml")]


def demo(
    config: Annotated[
        list[Path] | None,
        typer.Option(help="Session config(s) to record (default: pick-and-place and a two-handed lift)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Dataset directory (default: each config's).")] = None,
    episodes: Annotated[int, typer.Option(min=1, help="How many episodes per config.")] = 2,
    duration: Annotated[
        float | None,
        typer.Option(min=0.5, help="Longest episode in seconds (default: the config's episode limit)."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the first episode.")] = 0,
    no_ros: Annotated[
        bool, typer.Option("--no-ros", help="Record directly in this process instead of through ROS 2.")
    ] = False,
) -> None:
    """Record a few simulated episodes (robot, scripted operator, cameras), then check and annotate them.

    The episodes go through the ROS 2 node graph (simulator, scripted
    teleoperator and recorder as separate processes, as `tg collect` runs them);
    where ROS 2 cannot be imported, directly in this process, saying so.

    Example: tg demo --out datasets/demo --episodes 2
    """
    configs = config or _DEFAULT_CONFIGS
    outputs: list[Path] = []
    why_not_ros = "--no-ros given" if no_ros else ros_available()
    if why_not_ros and not no_ros:
        err_console.print(
            f"[yellow]note:[/] {why_not_ros}: recording directly, without ROS 2 (as tg collect --no-ros)",
            highlight=False,
            soft_wrap=True,
        )
    for path in configs:
        session = _demo_session(path, out=out, duration=duration)
        directory = _record_config(path, session, episodes=episodes, seed=seed, directly=bool(why_not_ros))
        if directory not in outputs:
            outputs.append(directory)
    _check_and_annotate(outputs)


def _demo_session(path: Path, *, out: Path | None, duration: float | None) -> SessionConfig:
    """The session of ``path`` writing to ``out``, its episodes at most ``duration`` seconds long."""
    session = load_session(path)
    if out is not None:
        session = session.model_copy(update={"out": str(out), "dataset": None})
    if duration is not None:
        limits = session.episode.model_copy(
            update={
                "max_duration_s": duration,
                "min_duration_s": min(duration, session.episode.min_duration_s),
            }
        )
        session = session.model_copy(update={"episode": limits})
    return session


def _record_config(path: Path, session: SessionConfig, *, episodes: int, seed: int, directly: bool) -> Path:
    """Record ``episodes`` episodes of ``session`` (read from ``path``); the dataset directory."""
    run = session.resolve()
    err_console.print(
        f"recording {episodes} simulated {run.session.task.name} episode(s) with profile "
        f"{run.profile.name!r} into {run.out} " + ("directly" if directly else "through ROS 2"),
        highlight=False,
        soft_wrap=True,
    )
    if directly:
        record_simulated(run, episodes=episodes, seed=seed)
    else:
        # The nodes read the session from a file: this run's, with the overrides above.
        logs = run.out / "logs"
        file = write_session(session, logs / f"{path.stem}-{time.strftime('%Y%m%dT%H%M%S')}.yaml")
        results = record_through_ros(file, out=run.out, episodes=episodes, seed=seed)
        if len(results) < episodes:
            raise typer.Exit(1)
    return run.out


def _check_and_annotate(outputs: list[Path]) -> None:
    """``tg info``, ``tg validate --write --html`` and ``tg annotate`` on what was recorded."""
    heading("tg info")
    _episodes.info(outputs)
    report = (outputs[0] if len(outputs) == 1 else Path.cwd()) / "qa_report.html"
    heading("tg validate --write --html")
    qa_failed = False
    try:
        _validate.validate(outputs, html_file=report, write=True)
    except typer.Exit:
        qa_failed = True  # annotate and say where things are all the same, then fail
    heading("tg annotate")
    _annotate.annotate(outputs)
    for directory in outputs:
        console.print(f"\nData: {directory.resolve()}")
    console.print(f"QA report: {report.resolve()}")
    if qa_failed:
        err_console.print("[bold red]error:[/] the quality gate found errors in the demo's own episodes")
        raise typer.Exit(1)
