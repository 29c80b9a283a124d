"""`tg demo`: record a small dataset end to end and show what was recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collectors import load_session, record_synthetic_episode
from training_ground.cli import _episodes
from training_ground.cli._console import console, err_console

__all__ = ["demo"]


def demo(
    config: Annotated[Path, typer.Option(help="Session config to record.")] = Path(
        "launch/sim_pick_place.yaml"
    ),
    out: Annotated[Path | None, typer.Option(help="Dataset directory (default: the config's).")] = None,
    episodes: Annotated[int, typer.Option(min=1, help="How many episodes to record.")] = 3,
    duration: Annotated[float, typer.Option(min=0.5, help="Seconds per episode.")] = 8.0,
    seed: Annotated[int, typer.Option(help="Seed of the first episode.")] = 0,
) -> None:
    """Record a few synthetic episodes with the session's streams and rates, then describe them.

    Until the PyBullet training ground lands, the motion and images are synthetic
    (smooth joint trajectories within the profile's limits, textured moving scenes).

    Example: tg demo --out datasets/demo --episodes 2
    """
    session = load_session(config)
    if out is not None:
        session = session.model_copy(update={"out": str(out), "dataset": None})
    run = session.resolve()
    err_console.print(
        f"recording {episodes} synthetic episode(s) of {duration:g} s with profile "
        f"{run.profile.name!r} into {run.out}"
    )
    for i in range(episodes):
        path = record_synthetic_episode(run, duration_s=duration, seed=seed + i, success=i % 3 != 2)
        err_console.print(f"  wrote {path}")
    console.rule("tg info")
    _episodes.info([run.out])
    console.print(f"\nData: {run.out.resolve()}")
    console.print("QA report: not available yet (validation arrives with the quality-gate issue).")
