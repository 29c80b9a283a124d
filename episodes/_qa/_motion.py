"""Motion in an episode: when the robot starts and stops moving, when grippers close and open.

Shared by the quality gate (``value.stuck`` looks only inside the active range)
and the annotator (active range, gripper events, segments).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from episodes._qa._config import TaskTemplate

__all__ = ["GripperEvent", "Segment", "active_span", "gripper_events", "segments"]

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]

_REST_SAMPLES = 5  # samples whose median is the rest pose at either end
_NOISE_MARGIN = 3.0  # still = within 3x the idle stretch's 95th percentile displacement
_FLOOR_SHARE = 0.02  # ... and never below 2 % of the idle threshold
_CUBE = 8.0  # twice the time from the onset: 8x the displacement
_IDLE_PART = 4  # the first quarter of the samples before the threshold is crossed: still idle
_HYSTERESIS = (0.3, 0.7)  # a gripper is open below 30 % of its swing, closed above 70 %
_SETTLED = 0.05  # a closing starts and ends within 5 % of the swing of the open / closed level


@dataclass(frozen=True)
class GripperEvent:
    """A gripper (a column of a gripper stream) closing or opening over ``[start_ns, stop_ns)``."""

    gripper: str
    event: str  # "close" or "open"
    start_ns: int
    stop_ns: int


@dataclass(frozen=True)
class Segment:
    """A phase of the episode: ``kind`` is one of SEGMENT_KINDS, ``label`` its text for this task."""

    start_ns: int
    stop_ns: int
    kind: str
    label: str


def active_span(values: FloatArray, threshold: float) -> tuple[int, int] | None:
    """Sample indices ``[first, stop)`` between the end of the idle start and the start of the idle end.

    The robot has moved once the largest displacement of any column from the
    rest pose (the median of the first few samples) exceeds ``threshold``, a
    level above sensor noise and operator tremor. Motion starts gently (a
    minimum-jerk move takes a while to reach any threshold), so the onset is
    dated back to where the displacement left the idle stretch's own band of
    noise, as a minimum-jerk start does. The idle end is found the same way, backwards. ``None`` if nothing
    moves that far. Samples are taken as evenly spaced.

    >>> t = np.arange(100.0)
    >>> q = np.where(t < 30, 0.0, ((t - 30) / 50) ** 3)[:, None]  # starts at sample 30
    >>> active_span(q, 0.05)
    (30, 100)
    """
    n = values.shape[0]
    if n == 0 or values.shape[1] == 0:
        return None
    rest = min(_REST_SAMPLES, n)
    start = _onset(values, np.median(values[:rest], axis=0), threshold)
    if start is None:
        return None
    end = _onset(values[::-1], np.median(values[-rest:], axis=0), threshold)
    stop = n - (end if end is not None else 0)
    return (start, stop) if stop > start else None


def _onset(values: FloatArray, rest: FloatArray, threshold: float) -> int | None:
    with np.errstate(invalid="ignore"):
        away = np.nan_to_num(np.abs(values - rest).max(axis=1), nan=0.0)  # NaN rows never start motion
    above = np.flatnonzero(away > threshold)
    if above.size == 0:
        return None
    first = int(above[0])
    # The idle stretch tells how still "still" is (noise, tremor). Motion leaves that band
    # gently: a minimum-jerk move (a person's, a scripted operator's) is ~ c (t - onset)^3 at
    # first, so displacements L and 8 L are reached at onset + d and onset + 2 d.
    idle = away[: max(first // _IDLE_PART, 1)]
    low = max(_NOISE_MARGIN * float(np.percentile(idle, 95)), _FLOOR_SHARE * threshold)
    t_low = _last_crossing(away[:first], low)
    if t_low is None:
        return 0
    high = low * _CUBE
    t_high = _last_crossing(away[:first], high) if high < threshold else None
    onset = 2 * t_low - t_high if t_high is not None else t_low
    return int(np.clip(round(onset), 0, round(t_low)))


def _last_crossing(away: FloatArray, level: float) -> float | None:
    """Where ``away`` last rose through ``level`` (fractional sample index)."""
    below = np.flatnonzero(away <= level)
    if below.size == 0:
        return None
    j = int(below[-1])
    if j + 1 >= away.size:
        return float(j)
    rise = float(away[j + 1] - away[j])
    return j + (level - float(away[j])) / rise if rise > 0 else float(j)


def gripper_events(
    name: str, stamps: Int64Array, closure: FloatArray, min_swing: float
) -> list[GripperEvent]:
    """Closings and openings of one gripper's closure signal (0 open .. 1 closed).

    The open and closed levels are the signal's 2nd and 98th percentiles, so a
    gripper that closes on an object (and stops at, say, 0.6) still has events.
    Hysteresis at 30 % and 70 % of the swing ignores noise; each event runs from
    the last sample at the old level to the first at the new one.

    >>> t = np.arange(0, 100, dtype=np.int64) * 10
    >>> c = np.clip((np.arange(100) - 40) / 10, 0, 0.6)
    >>> gripper_events("left", t, c, 0.2)
    [GripperEvent(gripper='left', event='close', start_ns=400, stop_ns=460)]
    """
    finite = np.isfinite(closure)
    if closure.size == 0 or not finite.any():
        return []
    low, high = np.percentile(closure[finite], [2.0, 98.0])
    swing = float(high - low)
    if swing < min_swing:
        return []
    # -1 open, +1 closed, 0 in between: carried forward, so the state only changes past a threshold.
    level = np.where(
        closure >= low + _HYSTERESIS[1] * swing, 1, np.where(closure <= low + _HYSTERESIS[0] * swing, -1, 0)
    )
    known = np.flatnonzero(level != 0)
    if known.size == 0:
        return []
    carried = level[known[np.maximum(np.searchsorted(known, np.arange(closure.size), side="right") - 1, 0)]]
    changes = np.flatnonzero(np.diff(carried) != 0) + 1
    is_open = closure <= low + _SETTLED * swing
    is_closed = closure >= high - _SETTLED * swing
    events = []
    for c in changes.tolist():  # a few per episode
        closing = carried[c] > 0
        before = np.flatnonzero((is_open if closing else is_closed)[:c])
        after = np.flatnonzero((is_closed if closing else is_open)[c:])
        first = int(before[-1]) if before.size else 0
        last = c + int(after[0]) if after.size else closure.size - 1
        events.append(
            GripperEvent(name, "close" if closing else "open", int(stamps[first]), int(stamps[last]))
        )
    return events


def segments(
    span_ns: tuple[int, int], events: Sequence[GripperEvent], template: TaskTemplate
) -> list[Segment]:
    """Split the active span at gripper events into reach / grasp / transport / release / retreat.

    Events of several grippers that overlap in time count as one (two hands
    closing together); segments follow each other without overlapping.
    Without any event the whole span is one ``motion``.

    >>> ev = [GripperEvent("g", "close", 20, 30), GripperEvent("g", "open", 60, 70)]
    >>> [(s.start_ns, s.stop_ns, s.kind) for s in segments((0, 100), ev, TaskTemplate())]
    [(0, 20, 'reach'), (20, 30, 'grasp'), (30, 60, 'transport'), (60, 70, 'release'), (70, 100, 'retreat')]
    """
    start, stop = span_ns
    merged: list[list[int | str]] = []
    for ev in sorted(events, key=lambda e: e.start_ns):
        if merged and merged[-1][0] == ev.event and int(merged[-1][2]) >= ev.start_ns:
            merged[-1][2] = max(int(merged[-1][2]), ev.stop_ns)
        else:
            merged.append([ev.event, ev.start_ns, ev.stop_ns])
    if not merged:
        return [Segment(start, stop, "motion", template.label("motion"))]
    pieces: list[tuple[int, int, str]] = []
    t = start
    closed = merged[0][0] == "open"  # the first event opens: the gripper started closed
    for event, ev_start, ev_stop in merged:
        # Events of different grippers may overlap; segments never do.
        a = max(int(ev_start), t)
        b = max(int(ev_stop), a)
        between = "transport" if closed else ("reach" if event == "close" else "retreat")
        pieces.append((t, a, between))
        pieces.append((a, b, "grasp" if event == "close" else "release"))
        closed = event == "close"
        t = b
    pieces.append((t, stop, "transport" if closed else "retreat"))
    out = []
    for a, b, kind in pieces:
        a, b = max(a, start), min(b, stop)
        if b > a:
            out.append(Segment(a, b, kind, template.label(kind)))
    return out
