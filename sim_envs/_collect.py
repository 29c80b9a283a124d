"""Direct simulated collection: simulator, scripted operator and episode writer in one process.

No ROS is involved: the simulator's loop hands every sample straight to
:class:`episodes.EpisodeWriter`, stamped with the simulator's clock (source
and arrival stamps are equal, as FORMAT.md fixes for direct simulated
collection).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from episodes import EpisodeWriter
from tg_config import ResolvedSession

if TYPE_CHECKING:
    from sim_envs import EpisodeOutcome

__all__ = ["SimEpisodeRecord", "collect_sim"]


@dataclass(frozen=True)
class SimEpisodeRecord:
    """One recorded simulated episode: where it is and how it ended."""

    path: Path
    outcome: EpisodeOutcome
    renderer: str
    close_s: float  # finalising the file (encoding what is left, aligned view, fsync)


def collect_sim(
    run: ResolvedSession,
    *,
    episodes: int,
    seed: int | None = None,
    task: str | None = None,
    operator: str | None = None,
    failure_rate: float | None = None,
    renderer: str | None = None,
    on_episode: Callable[[SimEpisodeRecord], None] | None = None,
) -> list[SimEpisodeRecord]:
    """Record ``episodes`` simulated episodes of ``run`` into ``run.out``.

    Episode ``i`` uses seed ``seed + i`` (default: the session's ``seed``), so a
    collection can be repeated or extended exactly. ``task``, ``operator``,
    ``failure_rate`` and ``renderer`` override the session's ``sim:`` section; a
    task given here is also the episodes' task label. Each episode's metadata
    holds the task, its instruction (e.g. "put the red cube in the blue bin"), the
    success label from the task's success predicate, and in ``extra_json`` the
    seed, the simulation settings, any injected failure and the randomised scene.

    >>> from tg_config import load_session
    >>> run = load_session("launch/sim_pick_place.yaml").resolve()
    >>> records = collect_sim(run, episodes=1, seed=3)  # doctest: +SKIP
    >>> records[0].outcome.instruction  # doctest: +SKIP
    'put the red cube in the blue bin'
    """
    from sim_envs import SimEpisode, SimSetup

    setup = SimSetup.from_session(
        run, task=task, operator=operator, failure_rate=failure_rate, renderer=renderer
    )
    first = run.session.seed if seed is None else seed
    urdf = run.profile.urdf_text()
    calibrations = setup.calibrations()
    records: list[SimEpisodeRecord] = []
    for i in range(episodes):
        with SimEpisode(setup, seed=first + i) as episode:
            info = dataclasses.replace(
                run.episode_info("sim"),
                task=setup.task.name,
                instruction=episode.task.instruction,
                operator=run.session.operator or f"sim:{setup.operator.name}",
                extra=episode.extra(),
            )
            writer = EpisodeWriter(
                run.out,
                streams=run.streams,
                info=info,
                aligned_rate_hz=run.aligned_rate_hz,
                urdf=urdf,
                calibrations=calibrations,
            )
            with writer:
                outcome = episode.run(writer.append)
                writer.set_labels(success=outcome.success, notes=outcome.notes)
                closing = time.perf_counter()
            close_s = time.perf_counter() - closing
            record = SimEpisodeRecord(writer.final_path, outcome, episode.renderer, close_s)
        records.append(record)
        if on_episode is not None:
            on_episode(record)
    return records
