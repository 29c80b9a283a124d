"""The messages between the simulated session's nodes: each survives its JSON, and bad input is named."""

from __future__ import annotations

import json

import pytest

from sim_envs import (
    TELEOP_STATES,
    SimError,
    SimOverrides,
    SimScene,
    SimVerdict,
    TeleopStart,
    TeleopStatus,
)

SCENE = SimScene(
    seed=3,
    task="pick_place",
    instruction="put the red cube in the orange bin",
    origin_ns=1_700_000_000_000_000_000,
    extra={"seed": 3, "sim": {"robot": "kuavo_humanoid"}, "scene": {"object": [0.5, -0.1, 0.83]}},
)
VERDICT = SimVerdict(
    seed=3,
    success=False,
    failure="not_achieved",
    notes="the task was not achieved",
    instruction="put the red cube in the orange bin",
    scene={"object": [0.5, -0.1, 0.83]},
    real_time_factor=0.97,
    published={"/joint_states": 812, "/imu": 801},
    rejected_commands=2,
)
START = TeleopStart(
    seed=3,
    origin_ns=5_500_000_000,
    end_ns=17_000_000_000,
    extra={"sim": {"operator": "careful", "failure_rate": 0.1}, "script": [["reach", 1, 2]]},
)
STATUS = TeleopStatus(
    state="running",
    seed=3,
    scene_ns=5_000_000_000,
    origin_ns=5_500_000_000,
    end_ns=17_000_000_000,
    injected="drop",
    unreachable="",
    truncated=True,
    error="",
)


@pytest.mark.parametrize("message", [SCENE, VERDICT, START, STATUS, TeleopStatus()], ids=repr)
def test_every_message_reads_back_what_was_sent(message: object) -> None:
    text = message.to_json()  # type: ignore[attr-defined]
    assert type(message).from_json(text) == message  # type: ignore[attr-defined]
    assert isinstance(json.loads(text), dict)


def test_optional_fields_of_a_verdict_and_a_status_have_their_defaults() -> None:
    bare = {k: v for k, v in json.loads(VERDICT.to_json()).items() if k in ("seed", "success", "failure")}
    bare |= {"notes": "", "instruction": "", "scene": {}}
    verdict = SimVerdict.from_json(json.dumps(bare))
    assert (verdict.real_time_factor, verdict.published, verdict.rejected_commands) == (0.0, {}, 0)
    assert TeleopStatus.from_json('{"state": "waiting", "seed": null}') == TeleopStatus()


def test_the_accessors_say_what_the_nodes_need() -> None:
    assert SCENE.layout == {"object": [0.5, -0.1, 0.83]}
    assert START.operator == "careful"
    assert STATUS.about(5_000_000_000, "running", "done")
    assert not STATUS.about(5_000_000_000, "done")
    assert not STATUS.about(6_000_000_000, "running")
    with pytest.raises(SimError, match=r"TeleopStart message: field 'extra' has no sim\.operator"):
        _ = TeleopStart(seed=1, origin_ns=0, end_ns=0, extra={"sim": {}}).operator


@pytest.mark.parametrize(
    ("cls", "text", "error"),
    [
        (SimScene, "{not json", r"SimScene message: not JSON \(.*\): '\{not json'"),
        (SimScene, "[1, 2]", r"SimScene message: expected a JSON object, got '\[1, 2\]'"),
        (SimScene, '{"seed": 1}', r"SimScene message: field 'task' is missing"),
        (
            SimScene,
            SCENE.to_json().replace('"origin_ns": 1700000000000000000', '"origin_ns": "soon"'),
            r"SimScene message: field 'origin_ns' must be an integer, got 'soon'",
        ),
        (
            SimScene,
            SCENE.to_json().replace('"seed": 3', '"seed": true'),
            r"SimScene message: field 'seed' must be an integer, got True",
        ),
        (
            SimVerdict,
            VERDICT.to_json().replace('"success": false', '"success": 0'),
            r"SimVerdict message: field 'success' must be true or false, got 0",
        ),
        (
            SimVerdict,
            VERDICT.to_json().replace('"/imu": 801', '"/imu": "801"'),
            r"SimVerdict message: field 'published' must be an object of integers",
        ),
        (
            SimVerdict,
            VERDICT.to_json().replace('"real_time_factor": 0.97', '"real_time_factor": "fast"'),
            r"SimVerdict message: field 'real_time_factor' must be a number, got 'fast'",
        ),
        (
            TeleopStart,
            '{"seed": 3, "origin_ns": 0, "end_ns": 1, "extra": ["sim"]}',
            r"TeleopStart message: field 'extra' must be an object, got \[",
        ),
        (
            TeleopStatus,
            '{"state": "dancing"}',
            r"TeleopStatus message: field 'state' must be one of waiting, planning, .*, got 'dancing'",
        ),
        (
            TeleopStatus,
            '{"state": "ready", "truncated": "no"}',
            r"TeleopStatus message: field 'truncated' must be true or false, got 'no'",
        ),
        (
            TeleopStatus,
            '{"state": "ready", "error": 5}',
            r"TeleopStatus message: field 'error' must be a string, got 5",
        ),
    ],
)
def test_a_malformed_message_names_its_type_and_field(cls: type, text: str, error: str) -> None:
    with pytest.raises(SimError, match=error):
        cls.from_json(text)


def test_the_teleoperator_states_are_the_ones_the_runner_waits_for() -> None:
    assert {"ready", "error", "done"} <= set(TELEOP_STATES)


def test_overrides_say_which_fields_they_set() -> None:
    assert SimOverrides().given() == ()
    assert SimOverrides(renderer="tiny", task="pick_place").given() == ("task", "renderer")
    assert SimOverrides(failure_rate=0.0).given() == ("failure_rate",)  # 0 overrides too
