"""The live recorder's core: a robot profile's topics into episodes, one message at a time. ROS-free.

The rclpy node (``tg_recorder.recorder_node``) only subscribes and calls the
handlers built here, so everything a recording decides — which stream a
message feeds, what is bad input, when a topic has a gap, what the status
says — is tested without ROS, with plain objects shaped like messages.

:class:`LiveRecorder` orchestrates: the episode's state (start, stop, discard,
labels), routing each message to its topic, and the writer. What it delegates:

* :mod:`collectors._live_inputs`: what it is given (labels, intrinsics, publishers, the topics);
* :mod:`collectors._live_topics`: each topic's streams and how their samples reach the writer;
* :mod:`collectors._live_screen`: what is bad input (pure functions over arrays);
* :mod:`collectors._recorder_counters` and :mod:`collectors._recorder_status`: the counts
  per topic and the :class:`RecorderStatus` they add up to.

What each message costs on the callback thread is kept small: array streams
only *pick* their fields (attribute access) and convert a block of messages at
once with numpy (every 128 messages or 0.25 s); frames go to the writer, whose
encoder pool and I/O thread do the rest.

Bad input never stops a recording and never reaches the file: a message whose
names or length do not fit the stream, non-finite values, a header stamp of 0
or one earlier than the stream's previous sample, a camera whose frame size or
encoding changes mid-episode are *rejected* — counted per topic and reason,
shown in the status, and stored with the episode (``extra_json["recorder"]``,
see ``datasets/FORMAT.md``). A topic silent for longer than its gap threshold
is a *gap*.

An episode in which a required stream (the quality gate's ``required_streams``)
got nothing is not kept: :meth:`LiveRecorder.stop` discards it and says which
streams were silent, unless the recorder keeps empty episodes (``keep_empty``).
While it happens, and while the publishers' header stamps disagree with the
recorder's clock by more than the gate's ``clock_offset_threshold_s``, the
status carries a warning.

>>> from tg_config import SessionConfig
>>> run = SessionConfig.for_profile("generic_ros2_arm").resolve()
>>> topic_types(run)["/joint_states"]
'sensor_msgs/msg/JointState'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from collectors._errors import RecorderError, RecorderStateError
from collectors._fields import Schemas
from collectors._live_health import HealthOptions, LiveHealth
from collectors._live_inputs import (
    CameraIntrinsics,
    EpisodeLabels,
    Publisher,
    SideInputs,
    TopicPlan,
    topic_types,
)
from collectors._live_screen import frame_signature, wrong_publishers
from collectors._live_topics import ArrayTopic, frames_in_flight, plan_topics, queue_depth
from collectors._live_watch import EpisodeWatch
from collectors._recorder_counters import TopicCounters
from collectors._recorder_status import STATE_IDLE, STATE_RECORDING, RecorderStatus, TopicStatus
from collectors._topics import COMPRESSED_IMAGE
from episodes._errors import EpisodeError
from episodes._maintenance import update_in_place
from episodes._spec import JsonValue
from episodes._writer import EpisodeWriter
from tg_base import TgError
from tg_config import ResolvedSession, qa_config

# The status types and inputs live in their own modules; the package facade still imports them from here.
__all__ = [
    "STATE_IDLE",
    "STATE_RECORDING",
    "CameraIntrinsics",
    "EpisodeLabels",
    "LiveRecorder",
    "Publisher",
    "RecorderStatus",
    "TopicPlan",
    "TopicStatus",
    "topic_types",
]

# Array messages are converted in blocks of this many (about 0.25 s at 500 Hz), or once the
# oldest has waited _BLOCK_WAIT_NS, so a crash loses little more than the writer's flush interval.
_BLOCK = 128
_BLOCK_WAIT_NS = 250_000_000
# Encoders yield the CPU to the thread that takes messages off DDS: it cannot wait, they can.
_ENCODER_NICE = 5
_NS = 1_000_000_000

Clock = Callable[[], int]


# About 330 lines: the message handlers are closures over the recorder's lock and writer, and
# the episode's state changes under that lock; what needs no lock lives in the modules above.
class LiveRecorder:
    """Records a resolved session's topics into episodes in ``out``; one episode at a time.

    ``schemas`` describe every message type of :func:`topic_types` (the node
    builds them from the rclpy classes); ``clock`` gives arrival times in ns (the
    node's clock: ROS time, simulated under ``use_sim_time``). Handlers, ticks and
    episode control may come from different threads: one lock orders them.
    ``keep_empty``: keep episodes in which a required stream got nothing.
    ``health``: thresholds of the live warnings (frozen/dark/saturated camera, silent topic, disk).
    """

    def __init__(
        self,
        run: ResolvedSession,
        *,
        schemas: Schemas,
        out: Path,
        clock: Clock,
        default_labels: EpisodeLabels | None = None,
        encoder_threads: int = 2,
        keep_empty: bool = False,
        health: HealthOptions | None = None,
    ) -> None:
        self.run = run
        self.out = out
        self._clock = clock
        self._defaults = default_labels or EpisodeLabels.of_session(run)
        self._encoder_threads = encoder_threads
        self._lock = threading.Lock()
        self._writer: EpisodeWriter | None = None
        self._start_ns = 0
        self._episodes = 0
        self._last_episode: Path | None = None
        self._last_success = "unknown"
        self._success = "unknown"
        self._error = ""
        self._inputs = SideInputs(run)
        self._topics = plan_topics(run, schemas)
        self._counters = self._topics.counters
        self._keep_empty = keep_empty
        self._watch = EpisodeWatch.of(qa_config(run.profile, run), self._counters)
        self._health = LiveHealth(health or HealthOptions(), out)
        plans = []
        for topic, c in self._counters.items():
            arrays = topic in self._topics.arrays
            handler = self._array_handler(topic) if arrays else self._camera_handler(topic)
            plans.append(TopicPlan(topic, c.msg_type, queue_depth(c.expected_hz), handler))
        self._plans = tuple(plans)

    @property
    def topics(self) -> tuple[TopicPlan, ...]:
        """The subscriptions to make, each with its callback and a history covering half a second."""
        return self._plans

    @property
    def camera_info_topics(self) -> Mapping[str, str]:
        """Topic → camera name of each camera's ``sensor_msgs/CameraInfo``."""
        return dict(self._topics.info_topics)

    @property
    def recording(self) -> bool:
        return self._writer is not None

    # -------------------------------------------------------------- message handlers (the hot path)

    def _array_handler(self, topic: str) -> Callable[[Any], None]:
        # Everything a message needs is bound here once: the callback only picks and appends.
        block = self._topics.arrays[topic]
        c = self._counters[topic]
        pickers = [(t.binding.reader.pick, t.picked.append) for t in block.targets]
        stamp_pick = next((t.binding.stamp.pick for t in block.targets if t.binding.stamp is not None), None)
        keep_stamp = block.stamp_picks.append
        keep_arrival = block.arrivals.append
        arrivals = block.arrivals
        seen, arrived, stamped = c.seen, c.arrived, c.stamped
        clock = self._clock
        lock = self._lock

        def on_message(msg: Any) -> None:
            now = clock()
            with lock:
                if self._writer is None:
                    seen(now)
                    if stamp_pick is not None:
                        stamped(now, stamp_pick(msg))
                    return
                arrived(now, self._start_ns)
                for pick, keep in pickers:
                    keep(pick(msg))
                if stamp_pick is not None:
                    keep_stamp(stamp_pick(msg))
                keep_arrival(now)
                if len(arrivals) >= _BLOCK or now - arrivals[0] >= _BLOCK_WAIT_NS:
                    self._flush_arrays(c, block)

        return on_message

    def _camera_handler(self, topic: str) -> Callable[[Any], None]:
        cams = self._topics.cameras[topic]
        c = self._counters[topic]
        clock = self._clock
        lock = self._lock
        compressed = c.msg_type == COMPRESSED_IMAGE
        health = self._health.camera(topic, compressed)

        def on_frame(msg: Any) -> None:
            now = clock()
            with lock:
                health(msg, now)
                writer = self._writer
                if writer is None:
                    c.seen(now)
                    cams[0].note_stamp(c, msg, now)
                    return
                c.arrived(now, self._start_ns)
                signature = frame_signature(msg, compressed)
                try:
                    for cam in cams:
                        cam.add(writer, c, msg, signature, now)
                except EpisodeError as exc:
                    self._fail(exc)

        return on_frame

    def _flush_arrays(self, c: TopicCounters, block: ArrayTopic) -> None:
        """Hand the waiting messages of one topic to the writer; a writer that fails ends the episode."""
        writer = self._writer
        if writer is None:
            return
        try:
            block.flush(c, writer)
        except EpisodeError as exc:
            self._fail(exc)

    # -------------------------------------------------------------- side inputs

    def set_camera_info(self, camera: str, info: CameraIntrinsics) -> None:
        """A camera's intrinsics, scaled to the size its stream stores; kept for every later episode."""
        if self._inputs.intrinsics.get(camera) == info:  # the usual case: the same, 30 times a second
            return
        with self._lock:
            calibration = self._inputs.camera_info(camera, info)
            if calibration is not None and self._writer is not None:
                self._writer.set_calibration(camera, calibration)

    def set_robot_description(self, urdf: str) -> None:
        """The robot's own description (``/robot_description``); used from the next episode on."""
        with self._lock:
            self._inputs.robot_description(urdf)

    def check_publishers(self, topic: str, publishers: Sequence[Publisher]) -> None:
        """The publishers of ``topic`` now: one of another message type is bad input, counted once.

        DDS never delivers its messages (the types do not match), so this is
        the only way to see it.
        """
        c = self._counters.get(topic)
        if c is None:
            return
        with self._lock:
            for wrong in wrong_publishers(topic, c.msg_type, publishers, c.wrong_publishers):
                c.wrong_publishers.add(wrong.key)
                c.reject(wrong.rejection.reason, wrong.rejection.message)

    # -------------------------------------------------------------- episode control

    def start(self, labels: EpisodeLabels | None = None) -> str:
        """Open a new episode; return its id. :class:`RecorderStateError` if one is being recorded."""
        labels = labels or EpisodeLabels()
        with self._lock:
            if self._writer is not None:
                raise RecorderStateError(
                    f"already recording episode {self._writer.episode_id}; stop or discard it first"
                )
            if self._clock() <= 0:
                raise RecorderStateError(
                    "no time yet: the recorder's clock reads 0 (under use_sim_time, no /clock has "
                    "arrived); start once the simulator or robot publishes /clock"
                )
            if "recorder" in labels.extra:
                raise RecorderError(
                    "extra_json: the key 'recorder' is reserved for the recorder's diagnostics"
                )
            writer = self._open_writer(labels)
            self._start_ns = self._clock()
            self._topics.reset()
            self._success = "unknown"
            self._error = ""
            self._writer = writer
            return writer.episode_id

    def _open_writer(self, labels: EpisodeLabels) -> EpisodeWriter:
        return EpisodeWriter(
            self.out,
            streams=self._topics.specs,
            info=labels.episode_info(self.run, self._defaults),
            aligned_rate_hz=self.run.aligned_rate_hz,
            urdf=self._inputs.urdf,
            calibrations=dict(self._inputs.calibrations),
            clock=self._clock,
            encoder_threads=self._encoder_threads,
            frames_in_flight=frames_in_flight(self._topics.specs),
            encoder_nice=_ENCODER_NICE,
        )

    def stop(self) -> Path:
        """Finish the episode (``complete``) and return its file; :class:`RecorderStateError` when idle.

        An episode in which a required stream got nothing is discarded instead
        (unless ``keep_empty``): :class:`RecorderStateError` names the silent streams.
        """
        return self._finish(None)

    def abort(self, reason: str) -> Path | None:
        """Finish the episode as ``aborted`` (data kept), e.g. on SIGTERM; None when idle."""
        if self._writer is None:
            return None
        return self._finish(reason)

    def discard(self) -> str:
        """Throw the episode away (its file is removed); return its id."""
        with self._lock:
            writer = self._require_writer("discard")
            self._writer = None
            writer.discard()
            return writer.episode_id

    def mark_success(self, success: bool, *, notes: str = "") -> str:
        """Label the current episode, or the last finished one when idle; return a message saying which.

        ``notes`` (why it failed, say) replaces the episode's notes when not empty.
        """
        text = "true" if success else "false"
        with self._lock:
            if self._writer is not None:
                self._writer.set_labels(success=success, notes=notes or None)
                self._success = text
                return f"episode {self._writer.episode_id} (recording) will be saved with success={text}"
            path = self._last_episode
            if path is None:
                raise RecorderStateError("no episode to label: none has been recorded yet")
            _label_file(path, text, notes)
            self._last_success = text
            return f"{path}: success={text}"

    def _finish(self, abort_reason: str | None) -> Path:
        with self._lock:
            writer = self._require_writer("stop")
            for topic, block in self._topics.arrays.items():
                self._flush_arrays(self._counters[topic], block)
            if self._writer is None:  # the writer failed on these last samples
                raise RecorderError(self._error)
            silent = self._watch.silent(self._counters)
            if abort_reason is None and silent and not self._keep_empty:
                self._writer = None
                writer.discard()
                raise RecorderStateError(
                    f"episode {writer.episode_id} discarded: nothing arrived on required "
                    f"stream(s) {self._watch.named(silent)}; check that their publishers run "
                    "(or keep such episodes with --keep-empty)"
                )
            writer.update_extra({"recorder": self._diagnostics()})
            self._writer = None
            path = writer.close() if abort_reason is None else writer.abort(abort_reason)
            self._episodes += 1
            self._last_episode = path
            self._last_success = self._success
            return path

    def _require_writer(self, what: str) -> EpisodeWriter:
        if self._writer is None:
            last = f"; the last episode is {self._last_episode}" if self._last_episode else ""
            if self._error:
                last = f"; {self._error}"
            raise RecorderStateError(f"cannot {what}: not recording{last}")
        return self._writer

    def _fail(self, exc: EpisodeError) -> None:
        """The writer failed (a full disk): end the episode keeping what it can, and go idle."""
        writer = self._writer
        if writer is None:
            return
        self._writer = None
        try:
            where = f"saved as aborted: {writer.abort(str(exc))}"
        except TgError:
            where = f"what reached the disk is kept in {writer.path} (tg recover turns it into an episode)"
        self._error = f"episode {writer.episode_id} ended: {exc}; {where}"

    def _diagnostics(self) -> dict[str, JsonValue]:
        topics: JsonValue = {t: c.diagnostics() for t, c in self._counters.items()}
        return {"topics": topics, **self._inputs.diagnostics()}

    # -------------------------------------------------------------- periodic work

    def tick(self) -> RecorderStatus:
        """Convert waiting messages, measure rates, find silent topics; return the status."""
        now = self._clock()
        with self._lock:
            recording = self._writer is not None
            for topic, c in self._counters.items():
                block = self._topics.arrays.get(topic)
                if block is not None and recording:
                    self._flush_arrays(c, block)
                c.measure_rate(now)
                if recording:
                    c.check_silence(now, self._start_ns)
            return self._status(now)

    def status(self) -> RecorderStatus:
        with self._lock:
            return self._status(self._clock())

    def _status(self, now: int) -> RecorderStatus:
        writer = self._writer
        watch, counters = self._watch, self._counters
        silent = watch.silent(counters) if writer is not None else ()
        return RecorderStatus(
            state=STATE_RECORDING if writer is not None else STATE_IDLE,
            episode_id=writer.episode_id if writer is not None else "",
            elapsed_s=round(max(0, now - self._start_ns) / _NS, 3) if writer is not None else 0.0,
            episodes_recorded=self._episodes,
            last_episode=str(self._last_episode or ""),
            topics={t: c.status() for t, c in self._counters.items()},
            profile=self.run.profile.name,
            out=str(self.out),
            success=self._success if writer is not None else self._last_success,
            error=self._error,
            recorded_s=watch.recorded_s(counters) if writer is not None else 0.0,
            silent=silent,
            warnings=watch.warnings(counters, silent, now - self._start_ns)
            + self._health.warnings(now, counters),
        )


def _label_file(path: Path, success: str, notes: str) -> None:
    # Through the update journal: never half-labelled, raw data never rewritten.
    with update_in_place(path) as f:
        f.attrs.modify("success", success)
        if notes:
            f.attrs.modify("notes", notes)
