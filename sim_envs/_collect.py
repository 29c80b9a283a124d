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

from episodes import EpisodeWriter
from sim_envs._episode import EpisodeOutcome, SimEpisode, SimSetup
from sim_envs._overrides import SimOverrides
from tg_config import ResolvedSession

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
    overrides: SimOverrides | None = None,
    on_episode: Callable[[SimEpisodeRecord], None] | None = None,
) -> list[SimEpisodeRecord]:
    """Record ``episodes`` simulated episodes of ``run`` into ``run.out``.

    Episode ``i`` uses seed ``seed + i`` (default: the session's ``seed``), so a
    collection can be repeated or extended exactly. ``overrides`` (task, operator,
    failure rate, renderer) change the session's ``sim:`` section; a task given
    there is also the episodes' task label. Each episode's metadata holds the
    task, its instruction (e.g. "put the red cube in the blue bin"), the success
    label from the task's success predicate, and in ``extra_json`` the seed, the
    simulation settings, any injected failure and the randomised scene.

    >>> from tg_config import load_session
    >>> run = load_session("launch/sim_pick_place.yaml").resolve()
    >>> records = collect_sim(run, episodes=1, seed=3)  # doctest: +SKIP
    >>> records[0].outcome.instruction  # doctest: +SKIP
    'put the red cube in the blue bin'
    """
    setup = SimSetup.from_session(run, overrides)
    first = run.session.seed if seed is None else seed
    records: list[SimEpisodeRecord] = []
    for i in range(episodes):
        with SimEpisode(setup, seed=first + i) as episode:
            record = _record_episode(run, setup, episode)
        records.append(record)
        if on_episode is not None:
            on_episode(record)
    return records


def _record_episode(run: ResolvedSession, setup: SimSetup, episode: SimEpisode) -> SimEpisodeRecord:
    """Run ``episode`` into a new file of ``run.out``, labelled with its outcome."""
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
        urdf=run.profile.urdf_text(),
        calibrations=setup.calibrations(),
    )
    with writer:
        outcome = episode.run(writer.append)
        writer.set_labels(success=outcome.success, notes=outcome.notes)
        closing = time.perf_counter()
    close_s = time.perf_counter() - closing
    return SimEpisodeRecord(writer.final_path, outcome, episode.renderer, close_s)
