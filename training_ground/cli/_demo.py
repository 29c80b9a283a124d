"""`tg demo`: record a short simulated session end to end and show what was recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collectors import load_session
from training_ground.cli import _annotate, _episodes, _validate
from training_ground.cli._collect import record_simulated
from training_ground.cli._console import console, err_console

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
) -> None:
    """Record a few simulated episodes (robot, scripted operator, cameras), then check and annotate them.

    Example: tg demo --out datasets/demo --episodes 2
    """
    configs = config or _DEFAULT_CONFIGS
    outputs: list[Path] = []
    for path in configs:
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
        run = session.resolve()
        err_console.print(
            f"recording {episodes} simulated {run.session.task.name} episode(s) with profile "
            f"{run.profile.name!r} into {run.out}",
            highlight=False,
            soft_wrap=True,
        )
        record_simulated(run, episodes=episodes, seed=seed)
        if run.out not in outputs:
            outputs.append(run.out)
    console.rule("tg info")
    _episodes.info(outputs)
    report = (outputs[0] if len(outputs) == 1 else Path.cwd()) / "qa_report.html"
    console.rule("tg validate --write --html")
    qa_failed = False
    try:
        _validate.validate(outputs, html_file=report, write=True)
    except typer.Exit:
        qa_failed = True  # annotate and say where things are all the same, then fail
    console.rule("tg annotate")
    _annotate.annotate(outputs)
    for directory in outputs:
        console.print(f"\nData: {directory.resolve()}")
    console.print(f"QA report: {report.resolve()}")
    if qa_failed:
        err_console.print("[bold red]error:[/] the quality gate found errors in the demo's own episodes")
        raise typer.Exit(1)
