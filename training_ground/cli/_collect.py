"""`tg collect`: record a session's episodes; for now simulated, in this process, without ROS."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from collectors import ResolvedSession, SimEpisodeRecord, collect_sim, load_session
from training_ground.cli._console import console, err_console

__all__ = ["collect", "record_simulated"]


class Renderer(str, Enum):
    auto = "auto"
    tiny = "tiny"
    egl = "egl"


def record_simulated(
    run: ResolvedSession,
    *,
    episodes: int,
    seed: int | None = None,
    task: str | None = None,
    operator: str | None = None,
    failure_rate: float | None = None,
    renderer: str | None = None,
) -> list[SimEpisodeRecord]:
    """Collect simulated episodes with a progress bar on stderr and one line per episode."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task(
            f"simulating {run.session.task.name if task is None else task}", total=episodes
        )

        def done(record: SimEpisodeRecord) -> None:
            o = record.outcome
            result = "[green]success[/]" if o.success else f"[yellow]failure[/] ({o.failure})"
            progress.console.print(
                f"  seed {o.seed}: {result}, {o.duration_ns / 1e9:.1f} s, {o.instruction!r} -> {record.path}",
                highlight=False,
                soft_wrap=True,
            )
            progress.advance(bar)

        return collect_sim(
            run,
            episodes=episodes,
            seed=seed,
            task=task,
            operator=operator,
            failure_rate=failure_rate,
            renderer=renderer,
            on_episode=done,
        )


def collect(
    config: Annotated[Path, typer.Option(help="Session config (launch/*.yaml).")],
    no_ros: Annotated[
        bool,
        typer.Option(
            "--no-ros", help="Simulate in this process: simulator, scripted operator and writer, no ROS."
        ),
    ] = False,
    episodes: Annotated[int, typer.Option(min=1, help="How many episodes to record.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Dataset directory (default: the config's out).")] = None,
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="Seed of the first episode; episode i uses seed+i (default: the config's)."),
    ] = None,
    task: Annotated[str | None, typer.Option(help="Simulated task (default: the config's).")] = None,
    operator: Annotated[
        str | None,
        typer.Option(help="Scripted operator: scripted, careful or hasty (default: the config's)."),
    ] = None,
    failure_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Share of episodes the operator fails on purpose (default: the config's)."
        ),
    ] = None,
    renderer: Annotated[
        Renderer | None, typer.Option(help="Camera renderer: auto (GPU if present), tiny (CPU) or egl.")
    ] = None,
) -> None:
    """Record episodes of a session; with --no-ros, in simulation, directly, without ROS 2.

    Episodes are written as they finish; the same seed gives the same episodes.

    Example: tg collect --config launch/sim_pick_place.yaml --no-ros --episodes 5 --out datasets/try
    """
    if not no_ros:
        err_console.print(
            "[bold red]error:[/] tg collect: recording through ROS 2 arrives with the ROS 2 session "
            "runner; for now add --no-ros to simulate the session in this process",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    session = load_session(config)
    if out is not None:
        session = session.model_copy(update={"out": str(out), "dataset": None})
    run = session.resolve()
    err_console.print(
        f"recording {episodes} simulated episode(s) of {config} into {run.out}",
        highlight=False,
        soft_wrap=True,
    )
    records = record_simulated(
        run,
        episodes=episodes,
        seed=seed,
        task=task,
        operator=operator,
        failure_rate=failure_rate,
        renderer=renderer.value if renderer is not None else None,
    )
    ok = sum(1 for r in records if r.outcome.success)
    console.print(
        f"{len(records)} episode(s), {ok} successful, in {run.out}", highlight=False, soft_wrap=True
    )
