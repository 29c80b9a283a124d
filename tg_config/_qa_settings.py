"""The ``qa:`` section of a robot profile or a session config.

Only the model, depending on nothing but ``collectors._base``, so that the
profile and session models can hold it; ``collectors._qa_config`` uses it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from tg_config._base import ConfigModel, Ident, PositiveFinite, StreamName

__all__ = ["QaSettings"]

Share = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
Level = Annotated[int, Field(ge=0, le=255)]
SegmentKind = Literal["reach", "grasp", "transport", "release", "retreat", "motion"]


class QaSettings(ConfigModel):
    """The ``qa:`` section of a robot profile or a session config. Every key is optional."""

    gap_factor: PositiveFinite | None = None
    rate_tolerance: Share | None = None
    skew_threshold_s: PositiveFinite | None = None
    clock_offset_threshold_s: PositiveFinite | None = None
    limit_margin: Share | None = None
    velocity_factor: PositiveFinite | None = None
    stuck_epsilon: PositiveFinite | None = None
    stuck_window_s: PositiveFinite | None = None
    dark_level: Level | None = None
    bright_level: Level | None = None
    extreme_fraction: Share | None = None
    frozen_min_s: PositiveFinite | None = None
    image_sample_frames: PositiveInt | None = None
    max_ranges: PositiveInt | None = None
    idle_threshold: PositiveFinite | None = None
    gripper_min_swing: PositiveFinite | None = None
    moving_joints: tuple[Ident, ...] | None = None
    """Joints expected to move in this task; default: the profile's joints with ``moves: true``."""
    moving_streams: tuple[StreamName, ...] | None = None
    """Streams all of whose columns are expected to move (a gripper in a pick-and-place)."""
    required_streams: tuple[StreamName, ...] | None = None
    """Streams that must be present; default: the required streams of the profile (and session)."""
    expected_rates_hz: dict[StreamName, PositiveFinite] | None = None
    segment_labels: dict[SegmentKind, str] | None = None
    """Text of each segment kind for this task (session) or robot (profile)."""
