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
_NOISE_MARGIN = 3.0  # still = speed within 3x the idle stretch's 99th percentile speed
_FLOOR_SHARE = 0.02  # ... and never below 2 % of the idle threshold per speed span
_SPEED_SPAN = 2  # speed: change over +-2 samples
_IDLE_PART = 4  # the first quarter of the samples before the threshold is crossed: still idle
_HYSTERESIS = (0.3, 0.7)  # a gripper is open below 30 % of its swing, closed above 70 %
_SETTLED = 0.05  # a measured closing starts and ends within 5 % of the swing of the open / closed level
_SETTLED_COMMAND = 0.005  # a commanded one (no sensor noise) within 0.5 %: where the command starts changing


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
    level above sensor noise and operator tremor. Motion starts gently, so the
    onset is dated from the speed: the minimum-jerk law is fitted to the move's
    rising speed, above the idle stretch's own noise, and followed back to zero.
    The idle end is found the same way, backwards. ``None`` if nothing moves
    that far. Samples are taken as evenly spaced.

    >>> s = np.clip((np.arange(100.0) - 30) / 50, 0, 1)  # a move over samples 30..80
    >>> q = 0.5 * s**3 * (10 - 15 * s + 6 * s**2)
    >>> active_span(q[:, None], 0.05)
    (30, 81)
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
    # The speed (largest per-column change over a few samples) dates the start: slow tremor and
    # drift move the displacement far more than the speed. The idle stretch says how still "still" is.
    speed = _speed(values)
    idle = speed[: max(first // _IDLE_PART, 1)]
    low = max(_NOISE_MARGIN * float(np.percentile(idle, 99)), _FLOOR_SHARE * threshold / _SPEED_SPAN)
    quiet = np.flatnonzero(speed[: first + 1] <= low)
    if quiet.size == 0:
        return 0
    rise = int(quiet[-1])  # the move's speed leaves the noise band after this sample
    calm = np.flatnonzero(speed[rise + 1 :] <= low)
    end = rise + 1 + int(calm[0]) if calm.size else speed.size
    if end <= rise + 1:
        return rise
    peak = rise + 1 + int(np.argmax(speed[rise + 1 : end]))
    return int(np.clip(round(_min_jerk_start(speed[rise : peak + 1], float(speed[peak])) + rise), 0, rise))


def _min_jerk_start(flank: FloatArray, peak: float) -> float:
    """Where a move whose speed rises through ``flank`` (to its ``peak``) started, in samples of ``flank``.

    A person's reach (and a scripted operator's) follows the minimum-jerk law: at the
    fraction ``s`` of its duration its speed is ``16 s^2 (1 - s)^2`` of the peak. Inverting
    it maps each speed of the rising half to ``s``, which grows linearly in time: the line
    fitted through the whole flank meets ``s = 0`` at the start, so the noise of a single
    sample barely moves it (a threshold crossing would come late by the time the move takes
    to outgrow the noise).
    """
    if flank.size < 3 or peak <= 0:
        return 0.0
    u = np.sqrt(np.clip(flank / peak, 0.0, 1.0))
    s = (1.0 - np.sqrt(1.0 - u)) / 2.0
    slope, intercept = np.polyfit(np.arange(flank.size, dtype=np.float64), s, 1)
    return float(-intercept / slope) if slope > 0 else 0.0


def _speed(values: FloatArray) -> FloatArray:
    """Per sample: the largest change of any column over the surrounding ``2 * _SPEED_SPAN`` samples."""
    n = values.shape[0]
    w = _SPEED_SPAN
    padded = np.concatenate([np.repeat(values[:1], w, axis=0), values, np.repeat(values[-1:], w, axis=0)])
    with np.errstate(invalid="ignore"):
        change = np.abs(padded[2 * w :] - padded[:n]).max(axis=1)
    speed: FloatArray = np.nan_to_num(change, nan=0.0) / (2 * w)
    return speed


def gripper_events(
    name: str, stamps: Int64Array, closure: FloatArray, min_swing: float, *, commanded: bool = False
) -> list[GripperEvent]:
    """Closings and openings of one gripper's closure signal (0 open .. 1 closed).

    The open and closed levels are the signal's 2nd and 98th percentiles, so a
    gripper that closes on an object (and stops at, say, 0.6) still has events.
    Hysteresis at 30 % and 70 % of the swing ignores noise; each event runs from
    the last sample at the old level to the first at the new one (within 5 % of
    the swing of a measured closure, 0.5 % of a ``commanded`` one).

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
    settled = _SETTLED_COMMAND if commanded else _SETTLED
    is_open = closure <= low + settled * swing
    is_closed = closure >= high - settled * swing
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
