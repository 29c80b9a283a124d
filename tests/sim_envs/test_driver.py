"""The simulator as a robot driver: commands in, samples out, one clock for the whole session."""

from __future__ import annotations

import math

import pytest

from sim_envs import Pacer, SimDriver, SimEpisode, SimError, SimScene, SimSetup
from tests.sim_envs._sessions import session_file
from tg_config import load_session

ORIGIN = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path = session_file(tmp_path_factory.mktemp("driver"), sim={"renderer": "tiny"})
    return SimSetup.from_session(load_session(path).resolve())


def _run(driver: SimDriver, steps: int, streams: set[str] | None = None) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    for _ in range(steps):
        driver.tick(lambda name, stamp, value: seen.append((name, stamp)))
        driver.step()
    return [s for s in seen if streams is None or s[0] in streams]


def test_it_publishes_observations_only_on_the_session_clock_which_goes_on_across_resets(setup):
    driver = SimDriver(setup, seed=1, origin_ns=ORIGIN)
    try:
        first = _run(driver, 40)
        names = {name for name, _ in first}
        assert names == {s.name for s in setup.streams if s.role.value == "observation"}
        assert ("joint_position", ORIGIN) in first
        before = driver.now_ns
        driver.reset(2)
        assert driver.seed == 2 and driver.episode_origin_ns == before
        second = _run(driver, 40)
        assert ("joint_position", before) in second
        stamps = [stamp for name, stamp in first + second if name == "joint_position"]
        assert stamps == sorted(set(stamps))  # strictly increasing: no stamp twice, none backwards
    finally:
        driver.close()


def test_joint_and_gripper_commands_move_the_robot(setup):
    driver = SimDriver(setup, seed=1, origin_ns=ORIGIN, streams=["joint_position", "gripper_state"])
    try:
        world = driver.episode.world
        start = float(world.joints(["l_forearm_pitch"]).position[0])
        driver.command_joints(["l_forearm_pitch"], [start - 0.4])
        driver.command_grippers(["left"], [1.0])
        _run(driver, 300)
        assert float(world.joints(["l_forearm_pitch"]).position[0]) == pytest.approx(start - 0.4, abs=0.02)
        assert world.closure(setup.robot.arm("left")) > 0.9
    finally:
        driver.close()


@pytest.mark.parametrize(
    ("call", "names", "values", "message"),
    [
        ("command_joints", ["no_such_joint"], [0.0], r"joint command: no_such_joint cannot be commanded"),
        ("command_joints", ["l_knee"], [0.3], r"joint command: l_knee cannot be commanded .*commandable: "),
        ("command_joints", ["l_arm_pitch", "l_arm_roll"], [0.1], r"joint command: 2 names but 1 values"),
        ("command_joints", ["l_arm_pitch"], [math.nan], r"joint command: non-finite value"),
        ("command_grippers", ["middle"], [1.0], r"gripper command: middle cannot be commanded .*left, right"),
    ],
)
def test_a_bad_command_is_refused_and_changes_nothing(setup, call, names, values, message):
    driver = SimDriver(setup, seed=1, origin_ns=ORIGIN, streams=[])
    try:
        targets = dict(driver.episode.world.targets)
        with pytest.raises(SimError, match=message):
            getattr(driver, call)(names, values)
        assert driver.episode.world.targets == targets
    finally:
        driver.close()


def test_the_scene_it_announces_is_the_one_a_scripted_episode_of_that_seed_plans_for(setup):
    # The teleoperator relies on this: it plans in its own world from the announced seed.
    driver = SimDriver(setup, seed=7, origin_ns=ORIGIN, streams=[])
    try:
        scene = driver.scene()
        with SimEpisode(setup, 7) as episode:
            assert scene.layout == episode.task.scene()
            assert scene.instruction == episode.task.instruction
            assert SimScene.from_json(scene.to_json()) == scene  # what the bridge publishes, as read
        verdict = driver.evaluate()
        assert verdict.success is False and verdict.failure == "not_achieved"
    finally:
        driver.close()


def test_an_unknown_stream_is_an_error_listing_the_known_ones(setup):
    with pytest.raises(
        SimError, match=r"no stream\(s\) lidar in this session; it has: head, .*joint_position"
    ):
        SimDriver(setup, seed=1, origin_ns=ORIGIN, streams=["lidar"])


class _FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_pacer_holds_simulated_time_to_the_real_time_factor():
    t = _FakeTime()
    pacer = Pacer(1.0, clock=t.clock, sleep=t.sleep)
    pacer.wait(0)
    pacer.wait(500_000_000)
    assert t.slept == [0.5]


def test_a_slow_simulation_is_not_hurried_to_catch_up():
    t = _FakeTime()
    pacer = Pacer(1.0, clock=t.clock, sleep=t.sleep)
    pacer.wait(0)
    t.now += 2.0  # rendering took 2 s of wall time for the first 10 ms
    pacer.wait(10_000_000)
    assert t.slept == []
    # The pace starts afresh from there: the next 10 ms take 10 ms, not a burst to make up 2 s.
    pacer.wait(20_000_000)
    assert t.slept == [0.01]


def test_factor_zero_never_waits_and_a_bad_factor_is_refused():
    t = _FakeTime()
    pacer = Pacer(0.0, clock=t.clock, sleep=t.sleep)
    for ns in (0, 10**9, 2 * 10**9):
        pacer.wait(ns)
    assert t.slept == []
    with pytest.raises(
        SimError, match=r"real_time_factor must be a finite number >= 0 \(0: no limit\), got -1"
    ):
        Pacer(-1.0)
