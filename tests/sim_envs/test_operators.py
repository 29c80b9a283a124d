"""Scripted operators: reliable without failure injection, failing at the configured rate with it.

These run in physics-only mode (no sink: nothing sampled or rendered), which gives
the same motion and outcome as a recorded episode.
"""

from __future__ import annotations

import dataclasses

import pytest

from sim_envs import EpisodeOutcome, PickPlace, SimEpisode, SimSetup
from sim_envs._operators import FAILURE_MODES, failure_draw
from sim_envs._pybullet import pb
from tests.sim_envs._sessions import LAUNCH
from tg_config import load_session

SEEDS = range(40)


def _setup(launch: str, **changes: object) -> SimSetup:
    setup = SimSetup.from_session(load_session(LAUNCH / launch).resolve())
    return dataclasses.replace(setup, **changes)


def _run(setup: SimSetup, seed: int) -> EpisodeOutcome:
    with SimEpisode(setup, seed) as episode:
        return episode.run()


def _success_rate(setup: SimSetup) -> tuple[float, list[EpisodeOutcome]]:
    outcomes = [_run(setup, seed) for seed in SEEDS]
    return sum(o.success for o in outcomes) / len(outcomes), outcomes


@pytest.mark.slow
@pytest.mark.parametrize("launch", ["sim_pick_place.yaml", "sim_bimanual_lift.yaml"])
def test_operator_succeeds_without_failure_injection(launch: str) -> None:
    rate, outcomes = _success_rate(_setup(launch, failure_rate=0.0))
    failed = [(o.seed, o.failure, o.notes) for o in outcomes if not o.success]
    assert rate >= 0.9, failed


@pytest.mark.slow
def test_failure_rate_is_met_within_ten_points() -> None:
    rate, outcomes = _success_rate(_setup("sim_pick_place.yaml", failure_rate=0.3))
    assert abs((1.0 - rate) - 0.3) <= 0.1
    injected = {o.failure for o in outcomes if not o.success}
    assert injected <= {*FAILURE_MODES, "not_achieved"}
    assert set(FAILURE_MODES) <= injected  # both kinds of failure happen
    for outcome in outcomes:
        if outcome.failure in FAILURE_MODES:
            assert outcome.notes.startswith("scripted failure:")


def test_second_robot_does_the_same_task() -> None:
    setup = _setup("sim_walker_pick_place.yaml", failure_rate=0.0)
    outcomes = [_run(setup, seed) for seed in range(3)]
    assert all(o.success for o in outcomes), [(o.seed, o.notes) for o in outcomes]


def test_failures_are_spread_evenly_over_seeds() -> None:
    for start in (0, 17, 1000):
        draws = [failure_draw(seed) for seed in range(start, start + 40)]
        for rate in (0.1, 0.25, 0.5):
            assert abs(sum(d < rate for d in draws) - rate * 40) <= 1.5


def test_same_seed_same_outcome_and_different_seeds_differ() -> None:
    setup = _setup("sim_bimanual_lift.yaml", failure_rate=0.0)
    first, again, other = _run(setup, 4), _run(setup, 4), _run(setup, 5)
    assert first == again
    assert first.scene != other.scene and first.duration_ns != other.duration_ns


def test_operator_is_human_like() -> None:
    setup = _setup("sim_pick_place.yaml", failure_rate=0.0)
    with SimEpisode(setup, 1) as episode:
        operator = episode.operator
        arm = episode.setup.robot.arms[0]
        start = operator.command(0)
        idle = operator.command(300_000_000)
        # Idle at the start: the hands wait (only a slow tremor), and a pause comes at the end.
        moved = max(abs(start.joints[j] - idle.joints[j]) for j in arm.joints)
        assert 0 < moved < 0.02
        assert operator.end_ns - operator._segments[-1].end_ns >= 500_000_000
        # Every joint command stays inside the joint's limits.
        for t in range(0, operator.end_ns, 50_000_000):
            command = operator.command(t)
            for name, q in command.joints.items():
                lo, hi = episode.world.limits[name]
                assert lo <= q <= hi, (name, q)


@dataclasses.dataclass
class _FarPickPlace(PickPlace):
    """The cube one metre away: out of any arm's reach."""

    def __post_init__(self) -> None:
        super().__post_init__()
        cube = self.objects[0]
        pb.resetBasePositionAndOrientation(
            cube, [1.0, 0.0, 0.9], [0, 0, 0, 1], physicsClientId=self.world.client
        )


def test_unreachable_target_fails_the_episode_cleanly() -> None:
    setup = _setup("sim_pick_place.yaml", task=_FarPickPlace, failure_rate=0.0)
    outcome = _run(setup, 0)
    assert not outcome.success
    assert outcome.failure == "unreachable"
    assert "cannot reach position" in outcome.notes and "arm of 'kuavo_humanoid'" in outcome.notes
    # The robot still idles through the end of the episode.
    assert outcome.duration_ns > 1_000_000_000
