"""Small stream declarations and helpers shared by the episode tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import episodes
from episodes import ArrayStreamSpec, EpisodeInfo, ImageStreamSpec, RobotInfo, Role, StreamKind

JOINTS = ("shoulder", "elbow", "wrist")


@pytest.fixture
def joint_spec() -> ArrayStreamSpec:
    return ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, JOINTS, ("rad",), rate_hz=100)


@pytest.fixture
def action_spec() -> ArrayStreamSpec:
    return ArrayStreamSpec(
        "action_arm", StreamKind.JOINT_POSITION, JOINTS, ("rad",), role=Role.ACTION, rate_hz=50
    )


@pytest.fixture
def camera_spec() -> ImageStreamSpec:
    return ImageStreamSpec("head", width=64, height=48, rate_hz=30)


@pytest.fixture
def info() -> EpisodeInfo:
    return EpisodeInfo(
        robot=RobotInfo("test_arm", model="TA-1", joint_names=JOINTS),
        source="synthetic",
        task="pick_place",
        instruction="put the red cube in the blue bin",
        operator="alice",
        station="st-01",
        extra={"seed": 7},
    )


def textured_frame(k: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A frame with structure that changes with k (flat frames would hide codec problems)."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([(x * 4 + k * 3) % 256, (y * 5 + k) % 256, ((x + y) * 2 + 7 * k) % 256], axis=-1).astype(
        np.uint8
    )
    return frame


def write_episode(directory: Path, specs, info, *, seconds: float = 1.0, **kwargs) -> Path:
    """Record `seconds` of every spec at its rate; returns the final path."""
    events = []
    for spec in specs:
        period = int(1e9 / spec.rate_hz)
        events += [(k * period, spec, k) for k in range(int(seconds * spec.rate_hz))]
    events.sort(key=lambda e: e[0])
    with episodes.EpisodeWriter(directory, streams=specs, info=info, aligned_rate_hz=10, **kwargs) as w:
        for stamp, spec, k in events:
            if isinstance(spec, ImageStreamSpec):
                w.append(spec.name, stamp, textured_frame(k, spec.height, spec.width))
            else:
                w.append(spec.name, stamp, np.full(spec.dim, k, dtype=float) + np.arange(spec.dim) / 10)
    return w.final_path
