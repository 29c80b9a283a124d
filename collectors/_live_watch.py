"""What the live recorder watches across an episode's topics: silent required streams, the data span, clocks.

One :class:`EpisodeWatch` per recorder, built from the quality gate's config
(``required_streams``, ``clock_offset_threshold_s``) so the recorder warns about
what the gate would later flag. It reads the topics'
:class:`~collectors._recorder_counters.TopicCounters` and keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collectors._recorder_counters import TopicCounters
from episodes import QaConfig

__all__ = ["EpisodeWatch"]

# A required stream may be empty this long after the start before the status warns.
_SILENT_GRACE_NS = 1_000_000_000
_NS = 1_000_000_000


@dataclass(frozen=True)
class EpisodeWatch:
    """The required streams (each with its topic) and the clock offset the quality gate allows."""

    required: tuple[str, ...]
    topic_of: Mapping[str, str]  # stream -> topic
    offset_limit_s: float

    @classmethod
    def of(cls, qa: QaConfig, counters: Mapping[str, TopicCounters]) -> EpisodeWatch:
        """The watch over ``counters`` (by topic): the gate's required streams among those recorded."""
        topic_of = {stream: c.topic for c in counters.values() for stream in c.streams}
        required = tuple(n for n in qa.required_streams if n in topic_of)
        return cls(required, topic_of, qa.clock_offset_threshold_s)

    def silent(self, counters: Mapping[str, TopicCounters]) -> tuple[str, ...]:
        """The required streams nothing has been written to in this episode."""
        return tuple(n for n in self.required if not counters[self.topic_of[n]].written_by.get(n, 0))

    def named(self, streams: Sequence[str]) -> str:
        """``cam (/cam/image_raw), imu (/imu)``: streams with their topics, for messages."""
        return ", ".join(f"{n} ({self.topic_of[n]})" for n in streams)

    @staticmethod
    def recorded_s(counters: Mapping[str, TopicCounters]) -> float:
        """First to last arrival of what was written: the episode's ``duration_s`` once closed."""
        firsts = [c.first_written for c in counters.values() if c.first_written >= 0]
        lasts = [c.last_written for c in counters.values() if c.last_written >= 0]
        return round((max(lasts) - min(firsts)) / _NS, 3) if firsts else 0.0

    def warnings(
        self, counters: Mapping[str, TopicCounters], silent: Sequence[str], since_start_ns: int
    ) -> tuple[str, ...]:
        """What the operator should see now: required streams still silent, clocks that disagree."""
        warnings = []
        if silent and since_start_ns > _SILENT_GRACE_NS:
            warnings.append(
                f"nothing yet on required stream(s) {self.named(silent)}: stopping now discards the episode"
            )
        for topic, c in counters.items():
            offset = c.clock_offset_s()
            if offset is not None and abs(offset) > self.offset_limit_s:
                side = "behind" if offset > 0 else "ahead of"
                warnings.append(
                    f"clock: {topic} stamps are {abs(offset):.3f} s {side} the recorder's clock "
                    f"(quality gate allows {self.offset_limit_s:g} s): use simulated time "
                    "(--use-sim-time) for a simulator, else synchronise the clocks"
                )
        return tuple(warnings)
