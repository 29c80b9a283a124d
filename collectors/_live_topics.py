"""The live recorder's topics: which streams each feeds, and how its samples reach the writer.

Built once from a resolved session (:func:`plan_topics`). An array topic keeps
what its streams *picked* out of each message and converts a block of them at
once (:meth:`ArrayTopic.flush`); a camera topic hands each frame to the writer
(:meth:`CameraTarget.add`). Both screen their samples with
:mod:`collectors._live_screen` and count what they refuse in the topic's
:class:`~collectors._recorder_counters.TopicCounters`.

A writer that fails for good (a full disk: an :class:`EpisodeError` that is not
a :class:`SampleError`) is not handled here: the error goes up to the
recorder, which ends the episode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from collectors._errors import FieldError
from collectors._fields import Schemas
from collectors._live_inputs import config_source, recorded_items, topic_types
from collectors._live_screen import (
    Signature,
    Source,
    frame_stamp_problem,
    header_stamps,
    image_changed,
    read_rows,
    screen_block,
)
from collectors._recorder_counters import TopicCounters, gap_ns_for
from collectors._topics import ArrayBinding, CameraBinding, bind_array, bind_camera
from episodes._errors import SampleError
from episodes._spec import ImageStreamSpec, StreamSpec
from episodes._writer import EpisodeWriter
from tg_config import Camera, ConfigError, ResolvedSession

__all__ = [
    "ArrayTarget",
    "ArrayTopic",
    "CameraTarget",
    "LiveTopics",
    "frames_in_flight",
    "plan_topics",
    "queue_depth",
]

# History a subscription keeps: enough for its fastest stream to wait this long for the executor.
_QUEUE_S = 0.5
_MIN_DEPTH = 10
# Frames that may wait for the encoders before a camera callback blocks: this many seconds of
# every camera together. A blocked callback stalls every topic, so a burst of CPU contention
# is absorbed in RAM (about 80 MB for three raw VGA cameras at 30 Hz) instead.
_FRAMES_IN_FLIGHT_S = 1.0
_NO_STAMP = -(2**63)
_NS = 1_000_000_000


@dataclass
class ArrayTarget:
    """One array stream of a topic: its binding, its picks waiting for conversion, its last stamp."""

    binding: ArrayBinding
    source: Source  # made once: the screening names it in its messages
    picked: list[Any] = field(default_factory=list)
    last_stamp: int = _NO_STAMP

    def flush(
        self,
        c: TopicCounters,
        writer: EpisodeWriter,
        arrivals: npt.NDArray[np.int64],
        header: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.bool_]:
        """Convert and screen the picks, give the good rows to ``writer``; return the messages it refused."""
        binding = self.binding
        name = binding.spec.name
        rows, bad, mismatches = read_rows(binding.reader, self.picked)
        for why in mismatches:
            c.reject(why.reason, why.message, counted=False)
        stamps = header if binding.stamp is not None else arrivals
        verdict = screen_block(
            rows,
            stamps,
            bad,
            last_stamp=self.last_stamp,
            source=self.source,
            header=binding.stamp is not None,
        )
        for why in verdict.rejections:
            c.reject(why.reason, why.message, why.count, counted=False)
        bad, good = verdict.bad, verdict.good
        if good.size:
            try:
                writer.append_block(name, stamps[good], rows[good], arrivals_ns=arrivals[good])
            except SampleError as exc:
                c.reject("writer", f"{c.topic}: stream {name!r}: {exc}", int(good.size), counted=False)
                bad = bad.copy()
                bad[good] = True
            else:
                self.last_stamp = int(stamps[good[-1]])
                kept = arrivals[good]
                c.wrote(name, int(kept.size), int(kept.min()), int(kept.max()))
        self.picked.clear()
        return bad


@dataclass
class ArrayTopic:
    """The array streams of one topic and the messages waiting to be converted (arrival order)."""

    targets: list[ArrayTarget]
    header: bool  # some stream of the topic uses the header stamp
    stamp_picks: list[Any] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)

    def reset(self) -> None:
        """A new episode: nothing waits, no stream has a previous sample."""
        self.stamp_picks.clear()
        self.arrivals.clear()
        for t in self.targets:
            t.picked.clear()
            t.last_stamp = _NO_STAMP

    def flush(self, c: TopicCounters, writer: EpisodeWriter) -> None:
        """Convert the waiting messages, drop the bad ones, hand the rest to ``writer``."""
        n = len(self.arrivals)
        if n == 0:
            return
        arrivals = np.array(self.arrivals, dtype=np.int64)
        header = header_stamps(self.stamp_picks) if self.header else arrivals
        if self.header:
            offsets = (arrivals - header)[header > 0]
            c.offsets.extend(offsets[-(c.offsets.maxlen or 1) :].tolist())
        rejected = np.zeros(n, dtype=bool)
        for target in self.targets:
            rejected |= target.flush(c, writer, arrivals, header)
        # A message counts once however many of its streams refused it; reasons count per stream.
        c.rejected += int(rejected.sum())
        self.stamp_picks.clear()
        self.arrivals.clear()


@dataclass
class CameraTarget:
    """One camera fed by a topic: its binding and what its episode's frames must keep."""

    binding: CameraBinding
    camera: Camera
    signature: Signature | None = None
    last_stamp: int = _NO_STAMP

    def reset(self) -> None:
        """A new episode: any first frame is fine."""
        self.signature = None
        self.last_stamp = _NO_STAMP

    def add(self, writer: EpisodeWriter, c: TopicCounters, msg: Any, signature: Signature, now: int) -> None:
        """Screen one frame and hand it to ``writer``; a bad one is counted instead."""
        name = self.binding.spec.name
        if self.signature is None:
            self.signature = signature
        else:
            changed = image_changed(self.signature, signature, c.topic, name)
            if changed is not None:
                c.reject(changed.reason, changed.message)
                return
        stamp = now
        if self.binding.stamp is not None:
            sec, nanosec = self.binding.stamp.pick(msg)
            stamp = int(sec) * _NS + int(nanosec)
            c.stamped(now, (sec, nanosec))
        problem = frame_stamp_problem(
            stamp, self.last_stamp, header=self.binding.stamp is not None, topic=c.topic
        )
        if problem is not None:
            c.reject(problem.reason, problem.message)
            return
        try:
            frame = self.binding.frame(msg)
            if isinstance(frame, bytes):
                writer.append_encoded(name, stamp, frame, arrival_ns=now)
            else:
                writer.append(name, stamp, frame, arrival_ns=now)
        except (FieldError, SampleError) as exc:
            c.reject("bad_frame", str(exc))
            return
        self.last_stamp = stamp
        c.wrote(name, 1, now, now)

    def note_stamp(self, c: TopicCounters, msg: Any, now: int) -> None:
        """While idle: only how far the frame's stamp is from ``now`` (the clocks' agreement)."""
        if self.binding.stamp is not None:
            c.stamped(now, self.binding.stamp.pick(msg))


@dataclass
class LiveTopics:
    """Every subscribed topic of a session: counters for all, streams of array and camera topics."""

    counters: dict[str, TopicCounters] = field(default_factory=dict)
    arrays: dict[str, ArrayTopic] = field(default_factory=dict)
    cameras: dict[str, list[CameraTarget]] = field(default_factory=dict)
    specs: list[StreamSpec] = field(default_factory=list)  # every recorded stream, as the episode stores it
    info_topics: dict[str, str] = field(default_factory=dict)  # CameraInfo topic -> camera

    def reset(self) -> None:
        """A new episode: counts from zero, no samples waiting, no previous sample."""
        for c in self.counters.values():
            c.reset()
        for block in self.arrays.values():
            block.reset()
        for cams in self.cameras.values():
            for cam in cams:
                cam.reset()


def plan_topics(run: ResolvedSession, schemas: Schemas) -> LiveTopics:
    """Bind each recorded stream of ``run`` to its topic; ConfigError or FieldError when one cannot be."""
    types = topic_types(run)
    topics = LiveTopics()
    rates: dict[str, list[float]] = {}
    streams: dict[str, list[str]] = {}
    for item in recorded_items(run):
        msg_type = types[item.topic]
        where = f"{item.topic} ({msg_type}) stream {item.name!r}"
        final = run.stream(item.name)
        if isinstance(item, Camera):
            if not isinstance(final, ImageStreamSpec):
                raise ConfigError(f"{config_source(run)}: stream {item.name!r} is a camera in the profile")
            cam = bind_camera(item, final, msg_type, schemas, where=where)
            topics.cameras.setdefault(item.topic, []).append(CameraTarget(cam, item))
            topics.specs.append(cam.spec)
            if item.camera_info_topic:
                topics.info_topics[item.camera_info_topic] = item.name
        else:
            bound = bind_array(run.profile, item, msg_type, schemas, where=where)
            bound = replace(bound, spec=replace(bound.spec, rate_hz=final.rate_hz))
            block = topics.arrays.setdefault(item.topic, ArrayTopic([], header=False))
            block.targets.append(ArrayTarget(bound, Source(item.topic, item.name)))
            block.header = block.header or bound.stamp is not None
            topics.specs.append(bound.spec)
        if final.rate_hz is not None:
            rates.setdefault(item.topic, []).append(final.rate_hz)
        streams.setdefault(item.topic, []).append(item.name)
    if not any(s.required for s in topics.specs):
        raise ConfigError(f"{config_source(run)}: no required stream has a topic; an episode needs one")
    for topic, msg_type in types.items():
        expected = max(rates[topic]) if topic in rates else None
        topics.counters[topic] = TopicCounters(
            topic, msg_type, tuple(streams[topic]), expected, gap_ns_for(expected)
        )
    return topics


def queue_depth(rate_hz: float | None) -> int:
    """The history a subscription keeps: half a second of its fastest stream, at least 10 messages."""
    return max(_MIN_DEPTH, math.ceil((rate_hz or 0.0) * _QUEUE_S))


def frames_in_flight(specs: list[StreamSpec]) -> int | None:
    """How many frames may wait for the encoders: a second of every camera; None without cameras."""
    rate = sum(s.rate_hz or 30.0 for s in specs if isinstance(s, ImageStreamSpec))
    return max(12, math.ceil(rate * _FRAMES_IN_FLIGHT_S)) if rate else None
