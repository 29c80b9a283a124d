"""What the quality gate expects of an episode and how strict it is: one typed, picklable object.

Robot profiles and session configs (``collectors.qa_config``) fill it in; every
threshold has a default that suits a teleoperated manipulation episode.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from episodes._qa._errors import QaConfigError

__all__ = [
    "DEFAULT_TASK_TEMPLATES",
    "SEGMENT_KINDS",
    "THRESHOLD_KINDS",
    "JointLimit",
    "QaConfig",
    "TaskTemplate",
    "threshold_kinds",
]

SEGMENT_KINDS = ("reach", "grasp", "transport", "release", "retreat", "motion")
"""What a segment is, from the gripper alone: ``reach`` (open, a close follows), ``grasp``
(closing), ``transport`` (closed), ``release`` (opening), ``retreat`` (open after an
opening, nothing follows), ``motion`` (no gripper event at all)."""

_GENERIC_LABELS = MappingProxyType(
    {
        "reach": "move with the gripper open",
        "grasp": "close the gripper",
        "transport": "move with the gripper closed",
        "release": "open the gripper",
        "retreat": "move away with the gripper open",
        "motion": "move",
    }
)


@dataclass(frozen=True)
class TaskTemplate:
    """What the annotator knows about a task: an instruction and a label per segment kind.

    ``instruction`` is used when an episode's metadata has none; ``labels`` maps
    each of :data:`SEGMENT_KINDS` to the text stored with the segment (kinds left
    out get a generic label).

    >>> TaskTemplate("stack the blocks", {"grasp": "grasp a block"}).label("grasp")
    'grasp a block'
    >>> TaskTemplate().label("transport")
    'move with the gripper closed'
    """

    instruction: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.labels) - set(SEGMENT_KINDS))
        if unknown:
            raise QaConfigError(
                f"task template labels: unknown segment kinds {unknown}; kinds are {', '.join(SEGMENT_KINDS)}"
            )

    def label(self, kind: str) -> str:
        return self.labels.get(kind) or _GENERIC_LABELS[kind]


DEFAULT_TASK_TEMPLATES: Mapping[str, TaskTemplate] = MappingProxyType(
    {
        "pick_place": TaskTemplate(
            "pick up the object and put it in the target container",
            {k: k for k in SEGMENT_KINDS if k != "motion"},
        ),
    }
)
"""Task name -> template; a session's task adds or replaces its own (see collectors.qa_config)."""


@dataclass(frozen=True)
class JointLimit:
    """A joint's position limits (rad or m) and maximum absolute velocity (rad/s or m/s)."""

    lower: float
    upper: float
    velocity: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lower) and math.isfinite(self.upper) and self.lower <= self.upper):
            raise QaConfigError(
                f"joint limit: lower ({self.lower}) must be finite and <= upper ({self.upper})"
            )
        if not (math.isfinite(self.velocity) and self.velocity > 0):
            raise QaConfigError(f"joint limit: velocity must be a positive number, got {self.velocity}")


@dataclass(frozen=True)
class _ThresholdKind:
    """The range a kind of threshold must lie in, and how a value is checked and stored."""

    accepts: Callable[[float], bool]
    must_be: str
    convert: Callable[[Any], float | int]


THRESHOLD_KINDS: Mapping[str, _ThresholdKind] = MappingProxyType(
    {
        "positive": _ThresholdKind(lambda v: math.isfinite(v) and v > 0, "a positive number", float),
        "share": _ThresholdKind(lambda v: 0 <= v < 1, "within [0, 1)", float),
        "level": _ThresholdKind(lambda v: v == int(v) and 0 <= v <= 255, "a grey level 0..255", int),
        "count": _ThresholdKind(lambda v: v == int(v) and v >= 1, "at least 1", int),
    }
)
"""Each kind of threshold, by name. A threshold is declared once, as a field of
:class:`QaConfig` with its kind in the field's metadata; the ``qa:`` section of
profiles and sessions (``tg_config.QaSettings``) is built from the same fields."""


def _threshold(default: float, kind: str) -> Any:
    return field(default=default, metadata={"threshold": kind})


def threshold_kinds() -> dict[str, str]:
    """Every threshold of :class:`QaConfig` and its kind, in declaration order.

    >>> threshold_kinds()["gap_factor"], threshold_kinds()["dark_level"]
    ('positive', 'level')
    """
    return {f.name: f.metadata["threshold"] for f in fields(QaConfig) if "threshold" in f.metadata}


@dataclass(frozen=True)
class QaConfig:
    """Expectations (from the robot profile and session) and thresholds of every check.

    Every field has a default; ``episodes/QA.md`` lists which check uses which.

    >>> QaConfig(gap_factor=8).gap_factor
    8.0
    >>> QaConfig(rate_tolerance=2)
    Traceback (most recent call last):
    ...
    episodes._qa._errors.QaConfigError: QaConfig.rate_tolerance must be within [0, 1), got 2
    """

    # ---- expectations: what the profile and the session declare
    required_streams: tuple[str, ...] = ()
    """Streams that must be present and non-empty, besides those the file marks required."""
    expected_rates_hz: Mapping[str, float] = field(default_factory=dict)
    """Per stream; a stream left out is expected at the rate its file declares."""
    joint_limits: Mapping[str, JointLimit] = field(default_factory=dict)
    """By joint name; joints left out are not limit- or velocity-checked."""
    moving_joints: frozenset[str] | None = None
    """Joints expected to move during the task; ``None``: unknown, so nothing is checked for stuck."""
    moving_streams: frozenset[str] = frozenset()
    """Streams every column of which is expected to move (e.g. a gripper in a pick-and-place)."""
    min_duration_s: float = 1.0
    max_duration_s: float = 120.0

    # ---- thresholds of the checks
    gap_factor: float = _threshold(5.0, "positive")
    """time.gap: a gap longer than this many expected periods."""
    rate_tolerance: float = _threshold(0.1, "share")
    """time.rate: the share by which the observed rate may fall below the expected one."""
    skew_threshold_s: float = _threshold(0.1, "positive")
    """sync.skew: how much older than one period of its stream an aligned sample may be."""
    clock_offset_threshold_s: float = _threshold(0.1, "positive")
    """time.clock_offset: largest median |arrival - stamp| of a stream."""
    limit_margin: float = _threshold(0.01, "share")
    """value.joint_limit: tolerance beyond each limit, as a share of the joint's range."""
    velocity_factor: float = _threshold(1.5, "positive")
    """value.velocity_spike: how far beyond its velocity limit a joint may seem to move."""
    stuck_epsilon: float = _threshold(1e-3, "positive")
    """value.stuck: per-dimension range (rad, m, closure) below which a signal is constant."""
    stuck_window_s: float = _threshold(5.0, "positive")
    """value.stuck: how long a signal expected to move may stay within ``stuck_epsilon``."""
    dark_level: int = _threshold(16, "level")
    """image.black: a pixel at or below this grey level (0..255) is dark."""
    bright_level: int = _threshold(240, "level")
    """image.overexposed: a pixel at or above this grey level is saturated."""
    extreme_fraction: float = _threshold(0.95, "share")
    """image.black / image.overexposed: share of dark (saturated) pixels that makes a frame black (white)."""
    frozen_min_s: float = _threshold(0.5, "positive")
    """image.frozen: shortest repetition of identical frames that is reported."""
    image_sample_frames: int = _threshold(8, "count")
    """image.black / overexposed / decode: frames decoded per camera, evenly spaced (plus suspiciously
    small ones, at most 4x as many)."""
    max_ranges: int = _threshold(20, "count")
    """Per check and stream: ranges reported one by one; further ones are merged into the last."""

    # ---- annotation
    idle_threshold: float = _threshold(0.05, "positive")
    """Active range: how far (rad or m) a joint must move from its rest pose to end the idle start;
    above sensor noise and an operator's tremor."""
    gripper_min_swing: float = _threshold(0.2, "positive")
    """Gripper events: the least closure change (0..1) that counts as closing or opening."""
    task_templates: Mapping[str, TaskTemplate] = field(default_factory=lambda: dict(DEFAULT_TASK_TEMPLATES))

    def __post_init__(self) -> None:
        for name, kind_name in threshold_kinds().items():
            kind, value = THRESHOLD_KINDS[kind_name], getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not kind.accepts(float(value))
            ):
                raise QaConfigError(f"QaConfig.{name} must be {kind.must_be}, got {value}")
            object.__setattr__(self, name, kind.convert(value))
        if not 0 <= self.min_duration_s <= self.max_duration_s:
            raise QaConfigError(
                f"QaConfig: need 0 <= min_duration_s ({self.min_duration_s}) "
                f"<= max_duration_s ({self.max_duration_s})"
            )
        if not 0 <= self.dark_level < self.bright_level <= 255:
            raise QaConfigError(
                f"QaConfig: need 0 <= dark_level ({self.dark_level}) "
                f"< bright_level ({self.bright_level}) <= 255"
            )
        for stream, rate in self.expected_rates_hz.items():
            if not (math.isfinite(rate) and rate > 0):
                raise QaConfigError(
                    f"QaConfig.expected_rates_hz[{stream!r}] must be a positive number, got {rate}"
                )

    def template(self, task: str) -> TaskTemplate:
        """The task's template, or a generic one for a task the config does not know."""
        return self.task_templates.get(task) or TaskTemplate()
