"""The session runner's labels of an episode, from the simulator's scene and the operator's start."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy")

from tg_sim._client import episode_labels

from sim_envs import SimScene, TeleopStart

SCENE = SimScene(
    seed=4,
    task="pick_place",
    instruction="put the red cube in the blue bin",
    origin_ns=10,
    extra={"seed": 4, "sim": {"robot": "kuavo_humanoid"}, "scene": {"cube": [0.5, 0.1]}},
)
START = TeleopStart(seed=4, origin_ns=20, end_ns=30, extra={"sim": {"operator": "hasty"}, "script": []})


def test_labels_merge_both_parts_of_the_metadata_and_name_the_simulated_operator() -> None:
    labels = episode_labels(SCENE, START, operator="", station="bench-1")
    assert (labels.task, labels.instruction) == ("pick_place", "put the red cube in the blue bin")
    assert (labels.operator, labels.station) == ("sim:hasty", "bench-1")
    assert labels.extra == {
        "seed": 4,
        "sim": {"robot": "kuavo_humanoid", "operator": "hasty"},
        "scene": {"cube": [0.5, 0.1]},
        "script": [],
    }


def test_a_session_operator_is_kept() -> None:
    assert episode_labels(SCENE, START, operator="ana", station="").operator == "ana"
