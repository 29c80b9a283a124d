"""Per-topic bookkeeping of the live recorder: messages, rate, gaps, rejections by reason.

One :class:`TopicCounters` per subscribed topic. It is what the status
reports (:meth:`TopicCounters.status`) and what the episode keeps
(:meth:`TopicCounters.diagnostics`, stored as ``extra_json["recorder"]``, see
``datasets/FORMAT.md``). Not thread-safe: the recorder calls it under its lock.

>>> c = TopicCounters("/imu", "sensor_msgs/msg/Imu", ("imu",), 100.0, gap_ns_for(100.0))
>>> c.arrived(now=1_000_000_000, start_ns=900_000_000)  # 0.1 s after the start
>>> c.arrived(now=2_000_000_000, start_ns=900_000_000)  # silent for 1 s: a gap
>>> c.status().gaps, c.last_error
(1, '/imu: no message for 1.00 s (gap 1)')
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from collectors._recorder_status import TopicStatus
from episodes._spec import JsonValue

__all__ = ["TopicCounters", "gap_ns_for"]

# A topic is in a gap when silent for this many of its periods, and at least _MIN_GAP_S.
_GAP_PERIODS = 5
_MIN_GAP_S = 0.5
_GAP_S_UNKNOWN_RATE = 1.0
_ERRORS_KEPT = 10
_GAPS_KEPT = 100
_RATE_WINDOW_NS = 500_000_000
_NS = 1_000_000_000
# The clock offset is the median over this many recent messages: one late message is not a skew.
_OFFSETS_KEPT = 32


def gap_ns_for(rate_hz: float | None) -> int:
    """How long a topic of this rate may be silent before it is in a gap, in ns."""
    if rate_hz is None:
        return int(_GAP_S_UNKNOWN_RATE * _NS)
    return int(max(_MIN_GAP_S, _GAP_PERIODS / rate_hz) * _NS)


@dataclass
class TopicCounters:
    """The counts of one topic: ``total`` since the recorder started, the rest for the current episode."""

    topic: str
    msg_type: str
    streams: tuple[str, ...]
    expected_hz: float | None
    gap_ns: int
    total: int = 0  # since the recorder started, for rates
    received: int = 0  # this episode
    rejected: int = 0
    rejected_by: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    last_error: str = ""
    gaps: list[list[int]] = field(default_factory=list)  # [start_ns, end_ns], end -1 while open
    gap_count: int = 0
    in_gap: bool = False
    last_arrival: int = -1
    rate_hz: float = 0.0
    rate_total: int = 0
    rate_since: int = -1
    wrong_publishers: set[str] = field(default_factory=set)
    written_by: dict[str, int] = field(default_factory=dict)  # samples given to the writer, by stream
    first_written: int = -1  # arrival of the episode's first sample written, -1 before it
    last_written: int = -1
    offsets: deque[int] = field(default_factory=lambda: deque(maxlen=_OFFSETS_KEPT))

    def reset(self) -> None:
        """A new episode: its counts start from zero (the rate and the clock offset go on)."""
        self.received = self.rejected = self.gap_count = 0
        self.written_by = {}
        self.first_written = self.last_written = -1
        self.rejected_by = {}
        self.errors = []
        self.last_error = ""
        self.gaps = []
        self.in_gap = False
        self.wrong_publishers = set()

    def seen(self, now: int) -> None:
        """A message arrived while idle: it only counts for the rate."""
        self.total += 1
        self.last_arrival = now

    def arrived(self, now: int, start_ns: int) -> None:
        """A message arrived during the episode started at ``start_ns``; it may close or end a gap."""
        self.total += 1
        self.received += 1
        if self.in_gap:
            self.gaps[-1][1] = now
            self.in_gap = False
        else:
            last = max(self.last_arrival, start_ns)
            if now - last > self.gap_ns:
                self.open_gap(last, now, now)
        self.last_arrival = now

    def check_silence(self, now: int, start_ns: int) -> None:
        """Open a gap when the topic has been silent too long during the episode started at ``start_ns``."""
        if not self.in_gap:
            last = max(self.last_arrival, start_ns)
            if now - last > self.gap_ns:
                self.open_gap(last, -1, now)

    def open_gap(self, since: int, until: int, now: int) -> None:
        """A silence from ``since`` to ``until`` (-1: still silent at ``now``)."""
        self.gap_count += 1
        self.in_gap = until < 0
        if len(self.gaps) < _GAPS_KEPT:
            self.gaps.append([since, until])
        silent = ((until if until >= 0 else now) - since) / _NS
        self.last_error = f"{self.topic}: no message for {silent:.2f} s (gap {self.gap_count})"

    def wrote(self, stream: str, count: int, first_arrival: int, last_arrival: int) -> None:
        """``count`` samples of ``stream`` reached the writer; they arrived from ``first_arrival`` on."""
        self.written_by[stream] = self.written_by.get(stream, 0) + count
        if self.first_written < 0 or first_arrival < self.first_written:
            self.first_written = first_arrival
        self.last_written = max(self.last_written, last_arrival)

    def stamped(self, now: int, sec_nanosec: tuple[int, int]) -> None:
        """A message stamped ``(sec, nanosec)`` arrived at ``now``: how far the clocks disagree."""
        sec, nanosec = sec_nanosec
        stamp = int(sec) * _NS + int(nanosec)
        if stamp > 0:  # a zero stamp is bad input, rejected elsewhere, not a clock
            self.offsets.append(now - stamp)

    def clock_offset_s(self) -> float | None:
        """Median of arrival minus header stamp over recent messages (s; positive: stamps behind)."""
        if not self.offsets:
            return None
        return statistics.median(self.offsets) / _NS

    def measure_rate(self, now: int) -> None:
        """Update ``rate_hz`` once at least half a second has passed since the last measurement."""
        if self.rate_since < 0 or now < self.rate_since:
            self.rate_since, self.rate_total = now, self.total
        elif now - self.rate_since >= _RATE_WINDOW_NS:
            self.rate_hz = (self.total - self.rate_total) * _NS / (now - self.rate_since)
            self.rate_since, self.rate_total = now, self.total

    def reject(self, reason: str, message: str, count: int = 1, *, counted: bool = True) -> None:
        """Note ``count`` rejections for ``reason``; ``counted=False``: the caller counts messages."""
        if counted:
            self.rejected += count
        self.rejected_by[reason] = self.rejected_by.get(reason, 0) + count
        self.last_error = message
        if message not in self.errors and len(self.errors) < _ERRORS_KEPT:
            self.errors.append(message)

    def status(self) -> TopicStatus:
        return TopicStatus(
            msg_type=self.msg_type,
            streams=self.streams,
            received=self.received,
            rate_hz=round(self.rate_hz, 2),
            expected_hz=self.expected_hz,
            gaps=self.gap_count,
            rejected=self.rejected,
            last_error=self.last_error,
            rejected_by=dict(self.rejected_by),
            heard=self.total > 0,
        )

    def diagnostics(self) -> dict[str, JsonValue]:
        """What the episode keeps of this topic (``extra_json["recorder"]["topics"][topic]``)."""
        return {
            "msg_type": self.msg_type,
            "streams": list(self.streams),
            "received": self.received,
            "rejected": self.rejected,
            "rejected_by": dict(self.rejected_by),
            "gaps_ns": [list(g) for g in self.gaps[:_GAPS_KEPT]],
            "gap_count": self.gap_count,
            "errors": list(self.errors),
        }
