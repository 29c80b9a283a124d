"""Small real episodes for the site tests (site-core's helper; the server tests may use it too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import episodes
from episodes import ArrayStreamSpec, EpisodeInfo, ImageStreamSpec, RobotInfo, StreamKind

JOINTS = ("shoulder", "elbow", "wrist")


def episode_info(**overrides: object) -> EpisodeInfo:
    values: dict[str, object] = {
        "robot": RobotInfo("test_arm", model="TA-1", joint_names=JOINTS),
        "source": "synthetic",
        "task": "pick_place",
        "instruction": "put the red cube in the blue bin",
        "operator": "alice",
        "station": "st-01",
        "dataset": "site-test",
        "extra": {"seed": 7},
    }
    values.update(overrides)
    return EpisodeInfo(**values)  # type: ignore[arg-type]


def make_episode(directory: Path, *, seconds: float = 0.5, seed: int = 0, **info: object) -> Path:
    """A finished episode with joint positions and a small head camera; ``seed`` changes its content."""
    joints = ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, JOINTS, ("rad",), rate_hz=50)
    camera = ImageStreamSpec("head", width=32, height=24, rate_hz=10)
    directory.mkdir(parents=True, exist_ok=True)
    with episodes.EpisodeWriter(
        directory, streams=[joints, camera], info=episode_info(**info), aligned_rate_hz=10
    ) as writer:
        for k in range(int(seconds * 50)):
            stamp = k * 20_000_000
            writer.append("joint_position", stamp, np.array([0.01 * k + seed, 0.0, 0.5]))
            if k % 5 == 0:
                frame = np.full((24, 32, 3), (k * 7 + seed * 13) % 256, dtype=np.uint8)
                writer.append("head", stamp, frame)
        writer.set_labels(success=True)
    return writer.final_path
