"""The live recorder's core: a robot profile's topics into episodes, one message at a time. ROS-free.

The rclpy node (``tg_recorder.recorder_node``) only subscribes and calls the
handlers built here, so everything a recording decides — which stream a
message feeds, what is bad input, when a topic has a gap, what the status
says — is tested without ROS, with plain objects shaped like messages.

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

>>> from tg_config import SessionConfig
>>> run = SessionConfig.for_profile("generic_ros2_arm").resolve()
>>> topic_types(run)["/joint_states"]
'sensor_msgs/msg/JointState'
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from collectors._errors import FieldError, RecorderError, RecorderStateError
from collectors._fields import Schemas, normalize_msg_type
from collectors._topics import COMPRESSED_IMAGE, ArrayBinding, CameraBinding, bind_array, bind_camera
from episodes._errors import EpisodeError, SampleError
from episodes._images import read_header
from episodes._maintenance import update_in_place
from episodes._spec import (
    CameraCalibration,
    EpisodeInfo,
    ImageStreamSpec,
    JsonValue,
    StreamSpec,
)
from episodes._writer import EpisodeWriter
from tg_base import TgError
from tg_config import Camera, ConfigError, ResolvedSession, Stream

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

STATE_IDLE = "idle"
STATE_RECORDING = "recording"

# Array messages are converted in blocks of this many (about 0.25 s at 500 Hz), or once the
# oldest has waited _BLOCK_WAIT_NS, so a crash loses little more than the writer's flush interval.
_BLOCK = 128
_BLOCK_WAIT_NS = 250_000_000
# History a subscription keeps: enough for its fastest stream to wait this long for the executor.
_QUEUE_S = 0.5
_MIN_DEPTH = 10
# A topic is in a gap when silent for this many of its periods, and at least _MIN_GAP_S.
_GAP_PERIODS = 5
_MIN_GAP_S = 0.5
_GAP_S_UNKNOWN_RATE = 1.0
_ERRORS_KEPT = 10
_GAPS_KEPT = 100
_RATE_WINDOW_NS = 500_000_000
# Frames that may wait for the encoders before a camera callback blocks: this many seconds of
# every camera together. A blocked callback stalls every topic, so a burst of CPU contention
# is absorbed in RAM (about 80 MB for three raw VGA cameras at 30 Hz) instead.
_FRAMES_IN_FLIGHT_S = 1.0
# Encoders yield the CPU to the thread that takes messages off DDS: it cannot wait, they can.
_ENCODER_NICE = 5
_NS = 1_000_000_000

Clock = Callable[[], int]


# ------------------------------------------------------------------ status (the contract with the runner)


@dataclass(frozen=True)
class TopicStatus:
    """One subscribed topic as the status reports it.

    ``received`` counts the messages of the current episode (the last one when
    idle); ``rate_hz`` is measured over the last half second or more, idle or
    not; ``rejected`` counts bad input (``rejected_by`` by reason); ``gaps``
    the silences of the current episode.
    """

    msg_type: str
    streams: tuple[str, ...]
    received: int
    rate_hz: float
    expected_hz: float | None
    gaps: int
    rejected: int
    last_error: str = ""
    rejected_by: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RecorderStatus:
    """What the recorder publishes on ``~/status`` about once a second, as JSON.

    >>> s = RecorderStatus(state="idle", episode_id="", elapsed_s=0.0, episodes_recorded=0, last_episode="")
    >>> RecorderStatus.from_json(s.to_json()) == s
    True
    """

    state: str  # "idle" | "recording"
    episode_id: str  # "" when idle
    elapsed_s: float
    episodes_recorded: int
    last_episode: str  # path of the last finished episode, "" before the first
    topics: Mapping[str, TopicStatus] = field(default_factory=dict)
    profile: str = ""
    out: str = ""
    success: str = "unknown"  # label of the current episode, else of the last one
    error: str = ""  # why the last episode ended on its own (the disk failed), "" otherwise

    @property
    def recording(self) -> bool:
        return self.state == STATE_RECORDING

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> RecorderStatus:
        """Parse a status message; :class:`RecorderError` says what is wrong with it."""
        try:
            data = json.loads(text)
            topics = {
                str(name): TopicStatus(
                    msg_type=str(t["msg_type"]),
                    streams=tuple(str(s) for s in t["streams"]),
                    received=int(t["received"]),
                    rate_hz=float(t["rate_hz"]),
                    expected_hz=None if t["expected_hz"] is None else float(t["expected_hz"]),
                    gaps=int(t["gaps"]),
                    rejected=int(t["rejected"]),
                    last_error=str(t.get("last_error", "")),
                    rejected_by={str(k): int(v) for k, v in t.get("rejected_by", {}).items()},
                )
                for name, t in data.get("topics", {}).items()
            }
            status = cls(
                state=str(data["state"]),
                episode_id=str(data["episode_id"]),
                elapsed_s=float(data["elapsed_s"]),
                episodes_recorded=int(data["episodes_recorded"]),
                last_episode=str(data["last_episode"]),
                topics=topics,
                profile=str(data.get("profile", "")),
                out=str(data.get("out", "")),
                success=str(data.get("success", "unknown")),
                error=str(data.get("error", "")),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise RecorderError(
                f"recorder status is not valid: {type(exc).__name__}: {exc}: {text[:200]}"
            ) from None
        if status.state not in (STATE_IDLE, STATE_RECORDING):
            raise RecorderError(f"recorder status: unknown state {status.state!r}")
        return status


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class EpisodeLabels:
    """Labels of the next episode (the node's parameters at ``~/start``); empty means the session's."""

    task: str = ""
    instruction: str = ""
    operator: str = ""
    station: str = ""
    extra: Mapping[str, JsonValue] = field(default_factory=dict)

    @staticmethod
    def parse_extra(text: str) -> dict[str, JsonValue]:
        """``extra_json`` as given on the command line: a JSON object, or "" for none."""
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise RecorderError(f"extra_json is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise RecorderError(f"extra_json must be a JSON object, got {type(value).__name__}")
        return value


@dataclass(frozen=True)
class CameraIntrinsics:
    """The fields of a ``sensor_msgs/CameraInfo`` the episode keeps."""

    width: int
    height: int
    k: tuple[float, ...]
    distortion_model: str
    d: tuple[float, ...]


@dataclass(frozen=True)
class Publisher:
    """A publisher of a topic, as the ROS graph reports it; ``endpoint`` identifies it uniquely."""

    node: str
    msg_type: str
    endpoint: str = ""


@dataclass(frozen=True)
class TopicPlan:
    """A subscription the node makes: ``callback`` takes each message of ``topic``."""

    topic: str
    msg_type: str
    depth: int
    callback: Callable[[Any], None]


def topic_types(run: ResolvedSession) -> dict[str, str]:
    """The topic → message type of every stream the session records live.

    Raises :class:`ConfigError` for a recorded stream without a topic or type, or
    a topic given two types.
    """
    out: dict[str, str] = {}
    for item in _recorded_items(run):
        if not item.msg_type:
            raise ConfigError(
                f"{_where(run)}: stream {item.name!r} ({item.topic}) has no msg_type; "
                "live recording subscribes by type"
            )
        msg_type = normalize_msg_type(item.msg_type)
        if out.setdefault(item.topic, msg_type) != msg_type:
            raise ConfigError(
                f"{_where(run)}: topic {item.topic} is given two message types: "
                f"{out[item.topic]} and {msg_type}"
            )
    return out


def _recorded_items(run: ResolvedSession) -> list[Camera | Stream]:
    names = {s.name for s in run.streams}
    items: list[Camera | Stream] = [*run.profile.cameras, *run.profile.streams]
    kept = [i for i in items if i.name in names]
    untopical = [i.name for i in kept if not i.topic and i.required]
    if untopical:
        raise ConfigError(
            f"{_where(run)}: required stream(s) {', '.join(untopical)} have no topic; "
            "live recording needs one for each"
        )
    return [i for i in kept if i.topic]


def _where(run: ResolvedSession) -> str:
    source = run.session.source_path or run.profile.source_path
    return str(source) if source else f"profile {run.profile.name!r}"


# ------------------------------------------------------------------ per-topic bookkeeping


@dataclass
class _Counters:
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

    def reset(self) -> None:
        self.received = self.rejected = self.gap_count = 0
        self.rejected_by = {}
        self.errors = []
        self.last_error = ""
        self.gaps = []
        self.in_gap = False
        self.wrong_publishers = set()

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
        )

    def diagnostics(self) -> dict[str, JsonValue]:
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


@dataclass
class _ArrayTarget:
    binding: ArrayBinding
    picked: list[Any] = field(default_factory=list)
    last_stamp: int = -(2**63)


@dataclass
class _ArrayTopic:
    targets: list[_ArrayTarget]
    header: bool  # some stream of the topic uses the header stamp
    stamp_picks: list[Any] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)


@dataclass
class _CameraTarget:
    binding: CameraBinding
    camera: Camera
    signature: tuple[Any, ...] | None = None
    last_stamp: int = -(2**63)


def _gap_ns(rate_hz: float | None) -> int:
    if rate_hz is None:
        return int(_GAP_S_UNKNOWN_RATE * _NS)
    return int(max(_MIN_GAP_S, _GAP_PERIODS / rate_hz) * _NS)


# ------------------------------------------------------------------ the recorder


class LiveRecorder:
    """Records a resolved session's topics into episodes in ``out``; one episode at a time.

    ``schemas`` describe every message type of :func:`topic_types` (the node
    builds them from the rclpy classes); ``clock`` gives arrival times in ns (the
    node's clock: ROS time, simulated under ``use_sim_time``). Handlers, ticks and
    episode control may come from different threads: one lock orders them.
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
    ) -> None:
        self.run = run
        self.out = out
        self._clock = clock
        self._defaults = default_labels or EpisodeLabels(
            task=run.session.task.name,
            instruction=run.session.task.instruction,
            operator=run.session.operator,
            station=run.session.station,
        )
        self._encoder_threads = encoder_threads
        self._lock = threading.Lock()
        self._writer: EpisodeWriter | None = None
        self._start_ns = 0
        self._episodes = 0
        self._last_episode: Path | None = None
        self._last_success = "unknown"
        self._success = "unknown"
        self._error = ""
        self._urdf = run.profile.urdf_text()
        self._urdf_source = "profile" if self._urdf is not None else "none"
        self._calibrations: dict[str, CameraCalibration] = {}
        self._intrinsics: dict[str, CameraIntrinsics] = {}
        self._counters: dict[str, _Counters] = {}
        self._arrays: dict[str, _ArrayTopic] = {}
        self._cameras: dict[str, list[_CameraTarget]] = {}
        self._specs: list[StreamSpec] = []
        self._info_topics: dict[str, str] = {}
        self._plan(schemas)
        self._plans = self._topic_plans()

    # -------------------------------------------------------------- setup

    def _plan(self, schemas: Schemas) -> None:
        run = self.run
        types = topic_types(run)
        rates: dict[str, list[float]] = {}
        streams: dict[str, list[str]] = {}
        for item in _recorded_items(run):
            msg_type = types[item.topic]
            where = f"{item.topic} ({msg_type}) stream {item.name!r}"
            final = run.stream(item.name)
            if isinstance(item, Camera):
                if not isinstance(final, ImageStreamSpec):
                    raise ConfigError(f"{_where(run)}: stream {item.name!r} is a camera in the profile")
                cam = bind_camera(item, final, msg_type, schemas, where=where)
                self._cameras.setdefault(item.topic, []).append(_CameraTarget(cam, item))
                self._specs.append(cam.spec)
                if item.camera_info_topic:
                    self._info_topics[item.camera_info_topic] = item.name
            else:
                bound = bind_array(run.profile, item, msg_type, schemas, where=where)
                bound = replace(bound, spec=replace(bound.spec, rate_hz=final.rate_hz))
                block = self._arrays.setdefault(item.topic, _ArrayTopic([], header=False))
                block.targets.append(_ArrayTarget(bound))
                block.header = block.header or bound.stamp is not None
                self._specs.append(bound.spec)
            if final.rate_hz is not None:
                rates.setdefault(item.topic, []).append(final.rate_hz)
            streams.setdefault(item.topic, []).append(item.name)
        if not any(s.required for s in self._specs):
            raise ConfigError(f"{_where(run)}: no required stream has a topic; an episode needs one")
        for topic, msg_type in types.items():
            expected = max(rates[topic]) if topic in rates else None
            self._counters[topic] = _Counters(
                topic, msg_type, tuple(streams[topic]), expected, _gap_ns(expected)
            )

    @property
    def topics(self) -> tuple[TopicPlan, ...]:
        """The subscriptions to make, each with its callback and a history covering half a second."""
        return self._plans

    def _topic_plans(self) -> tuple[TopicPlan, ...]:
        plans = []
        for topic, counters in self._counters.items():
            rate = counters.expected_hz or 0.0
            depth = max(_MIN_DEPTH, math.ceil(rate * _QUEUE_S))
            callback = self._array_handler(topic) if topic in self._arrays else self._camera_handler(topic)
            plans.append(TopicPlan(topic, counters.msg_type, depth, callback))
        return tuple(plans)

    @property
    def camera_info_topics(self) -> Mapping[str, str]:
        """Topic → camera name of each camera's ``sensor_msgs/CameraInfo``."""
        return dict(self._info_topics)

    @property
    def recording(self) -> bool:
        return self._writer is not None

    # -------------------------------------------------------------- message handlers (the hot path)

    def _arrived(self, c: _Counters, now: int) -> None:
        c.total += 1
        if self._writer is not None:
            c.received += 1
            last = max(c.last_arrival, self._start_ns)
            if c.in_gap:
                c.gaps[-1][1] = now
                c.in_gap = False
            elif now - last > c.gap_ns:
                self._open_gap(c, last, now)
        c.last_arrival = now

    def _array_handler(self, topic: str) -> Callable[[Any], None]:
        block = self._arrays[topic]
        c = self._counters[topic]
        pickers = [(t.binding.reader.pick, t.picked.append) for t in block.targets]
        stamp_pick = next((t.binding.stamp.pick for t in block.targets if t.binding.stamp is not None), None)
        keep_stamp = block.stamp_picks.append
        keep_arrival = block.arrivals.append
        arrivals = block.arrivals
        clock = self._clock
        lock = self._lock

        def on_message(msg: Any) -> None:
            now = clock()
            with lock:
                self._arrived(c, now)
                if self._writer is None:
                    return
                for pick, keep in pickers:
                    keep(pick(msg))
                if stamp_pick is not None:
                    keep_stamp(stamp_pick(msg))
                keep_arrival(now)
                if len(arrivals) >= _BLOCK or now - arrivals[0] >= _BLOCK_WAIT_NS:
                    self._flush_arrays(c, block)

        return on_message

    def _camera_handler(self, topic: str) -> Callable[[Any], None]:
        cams = self._cameras[topic]
        c = self._counters[topic]
        clock = self._clock
        lock = self._lock
        compressed = c.msg_type == COMPRESSED_IMAGE

        def on_frame(msg: Any) -> None:
            now = clock()
            with lock:
                self._arrived(c, now)
                writer = self._writer
                if writer is None:
                    return
                signature = _signature(msg, compressed)
                for cam in cams:
                    self._add_frame(writer, c, cam, msg, signature, now)

        return on_frame

    def _add_frame(
        self,
        writer: EpisodeWriter,
        c: _Counters,
        cam: _CameraTarget,
        msg: Any,
        signature: tuple[Any, ...],
        now: int,
    ) -> None:
        name = cam.binding.spec.name
        if cam.signature is None:
            cam.signature = signature
        elif signature != cam.signature:
            c.reject(
                "image_changed",
                f"{c.topic}: camera {name!r} changed from {_describe(cam.signature)} to "
                f"{_describe(signature)} mid-episode; frames that differ from the first are not recorded",
            )
            return
        stamp = now
        if cam.binding.stamp is not None:
            sec, nanosec = cam.binding.stamp.pick(msg)
            stamp = int(sec) * _NS + int(nanosec)
            if stamp == 0:
                c.reject("zero_stamp", f"{c.topic}: header.stamp is 0; the frame is not recorded")
                return
        if stamp < cam.last_stamp:
            c.reject(
                "stamp_backwards",
                f"{c.topic}: header.stamp {stamp} ns is earlier than the previous frame's "
                f"{cam.last_stamp} ns; the frame is not recorded",
            )
            return
        try:
            frame = cam.binding.frame(msg)
            if isinstance(frame, bytes):
                writer.append_encoded(name, stamp, frame, arrival_ns=now)
            else:
                writer.append(name, stamp, frame, arrival_ns=now)
        except (FieldError, SampleError) as exc:
            c.reject("bad_frame", str(exc))
            return
        except EpisodeError as exc:
            self._fail(exc)
            return
        cam.last_stamp = stamp

    def _flush_arrays(self, c: _Counters, block: _ArrayTopic) -> None:
        """Convert the waiting messages of one topic, drop the bad ones, hand the rest to the writer."""
        n = len(block.arrivals)
        writer = self._writer
        if n == 0 or writer is None:
            return
        arrivals = np.array(block.arrivals, dtype=np.int64)
        header = arrivals
        if block.header:
            sec_ns = np.array(block.stamp_picks, dtype=np.int64).reshape(-1, 2)
            header = sec_ns[:, 0] * _NS + sec_ns[:, 1]
        rejected = np.zeros(n, dtype=bool)
        for target in block.targets:
            binding = target.binding
            name = binding.spec.name
            rows, bad = self._rows(c, target, n)
            stamps = header if binding.stamp is not None else arrivals
            if binding.stamp is not None:
                zero = ~bad & (stamps == 0)
                if zero.any():
                    c.reject(
                        "zero_stamp",
                        f"{c.topic}: header.stamp is 0 in {int(zero.sum())} message(s); not recorded "
                        f"in stream {name!r} (stamp: arrival in the profile records the arrival time)",
                        int(zero.sum()),
                        counted=False,
                    )
                    bad |= zero
            finite = np.isfinite(rows).all(axis=1)
            nan = ~bad & ~finite
            if nan.any():
                c.reject(
                    "not_finite",
                    f"{c.topic}: {int(nan.sum())} message(s) hold NaN or infinite values for stream "
                    f"{name!r}; not recorded",
                    int(nan.sum()),
                    counted=False,
                )
                bad |= nan
            good = np.flatnonzero(~bad)
            if good.size:
                kept = stamps[good]
                before = np.maximum.accumulate(np.concatenate(([target.last_stamp], kept)))[:-1]
                back = kept < before
                if back.any():
                    c.reject(
                        "stamp_backwards",
                        f"{c.topic}: {int(back.sum())} message(s) stamped earlier than the previous "
                        f"sample of stream {name!r}; not recorded",
                        int(back.sum()),
                        counted=False,
                    )
                    bad[good[back]] = True
                    good = good[~back]
            if good.size:
                try:
                    writer.append_block(name, stamps[good], rows[good], arrivals_ns=arrivals[good])
                except SampleError as exc:
                    c.reject("writer", f"{c.topic}: stream {name!r}: {exc}", int(good.size), counted=False)
                    bad[good] = True
                except EpisodeError as exc:
                    self._fail(exc)
                    return
                else:
                    target.last_stamp = int(stamps[good[-1]])
            rejected |= bad
            target.picked.clear()
        # A message counts once however many of its streams refused it; reasons count per stream.
        c.rejected += int(rejected.sum())
        block.stamp_picks.clear()
        block.arrivals.clear()

    def _rows(
        self, c: _Counters, target: _ArrayTarget, n: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        reader = target.binding.reader
        bad = np.zeros(n, dtype=bool)
        try:
            return reader.rows(target.picked), bad
        except FieldError:
            pass
        # Some message does not fit: find which, one by one (rare, so the slow path is fine).
        rows = np.full((n, reader.dim), np.nan)
        for i, picked in enumerate(target.picked):
            try:
                rows[i] = reader.rows((picked,))[0]
            except (FieldError, ValueError, TypeError) as exc:
                bad[i] = True
                c.reject("mismatch", f"{exc}; not recorded", counted=False)
        return rows, bad

    # -------------------------------------------------------------- side inputs

    def set_camera_info(self, camera: str, info: CameraIntrinsics) -> None:
        """A camera's intrinsics, scaled to the size its stream stores; kept for every later episode."""
        if self._intrinsics.get(camera) == info:
            return
        with self._lock:
            self._intrinsics[camera] = info
            calibration = self._calibration(camera, info)
            if calibration is None:
                return
            self._calibrations[camera] = calibration
            if self._writer is not None:
                self._writer.set_calibration(camera, calibration)

    def _calibration(self, camera: str, info: CameraIntrinsics) -> CameraCalibration | None:
        spec = self.run.stream(camera)
        item = next(c for c in self.run.profile.cameras if c.name == camera)
        if not isinstance(spec, ImageStreamSpec) or info.width <= 0 or info.height <= 0 or len(info.k) != 9:
            return None
        sx, sy = spec.width / info.width, spec.height / info.height
        k = list(info.k)
        k[0], k[2], k[4], k[5] = k[0] * sx, k[2] * sx, k[4] * sy, k[5] * sy
        return CameraCalibration(
            width=spec.width,
            height=spec.height,
            camera_matrix=tuple(k),
            distortion_model=info.distortion_model,
            distortion=info.d,
            mount_parent=item.mount_parent,
            mount_pose=tuple(item.mount_pose or ()),
        )

    def set_robot_description(self, urdf: str) -> None:
        """The robot's own description (``/robot_description``); used from the next episode on."""
        with self._lock:
            self._urdf = urdf
            self._urdf_source = "topic"

    def check_publishers(self, topic: str, publishers: Sequence[Publisher]) -> None:
        """The publishers of ``topic`` now: one of another message type is bad input, counted once.

        DDS never delivers its messages (the types do not match), so this is
        the only way to see it.
        """
        c = self._counters.get(topic)
        if c is None:
            return
        with self._lock:
            for pub in publishers:
                if normalize_msg_type(pub.msg_type) == c.msg_type:
                    continue
                # The endpoint id is stable; a node's name may only be known after discovery settles.
                key = pub.endpoint or f"{pub.node} ({pub.msg_type})"
                if key in c.wrong_publishers:
                    continue
                c.wrong_publishers.add(key)
                c.reject(
                    "wrong_type",
                    f"{topic}: publisher {pub.node} sends {pub.msg_type}, but the profile expects "
                    f"{c.msg_type}; its messages cannot be received",
                )

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
            d = self._defaults
            info = EpisodeInfo(
                robot=self.run.robot,
                source="ros2",
                dataset=self.run.dataset,
                task=labels.task or d.task,
                instruction=labels.instruction or d.instruction,
                operator=labels.operator or d.operator,
                station=labels.station or d.station,
                extra={**d.extra, **labels.extra},
            )
            writer = EpisodeWriter(
                self.out,
                streams=self._specs,
                info=info,
                aligned_rate_hz=self.run.aligned_rate_hz,
                urdf=self._urdf,
                calibrations=dict(self._calibrations),
                clock=self._clock,
                encoder_threads=self._encoder_threads,
                frames_in_flight=self._frames_in_flight(),
                encoder_nice=_ENCODER_NICE,
            )
            self._start_ns = self._clock()
            for c in self._counters.values():
                c.reset()
            for block in self._arrays.values():
                block.stamp_picks.clear()
                block.arrivals.clear()
                for t in block.targets:
                    t.picked.clear()
                    t.last_stamp = -(2**63)
            for cams in self._cameras.values():
                for cam in cams:
                    cam.signature = None
                    cam.last_stamp = -(2**63)
            self._success = "unknown"
            self._error = ""
            self._writer = writer
            return writer.episode_id

    def _frames_in_flight(self) -> int | None:
        rate = sum(s.rate_hz or 30.0 for s in self._specs if isinstance(s, ImageStreamSpec))
        return max(12, math.ceil(rate * _FRAMES_IN_FLIGHT_S)) if rate else None

    def stop(self) -> Path:
        """Finish the episode (``complete``) and return its file; :class:`RecorderStateError` when idle."""
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
            # Through the update journal: never half-labelled, raw data never rewritten.
            with update_in_place(path) as f:
                f.attrs.modify("success", text)
                if notes:
                    f.attrs.modify("notes", notes)
            self._last_success = text
            return f"{path}: success={text}"

    def _finish(self, abort_reason: str | None) -> Path:
        with self._lock:
            writer = self._require_writer("stop")
            for topic, block in self._arrays.items():
                self._flush_arrays(self._counters[topic], block)
            if self._writer is None:  # the writer failed on these last samples
                raise RecorderError(self._error)
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
        return {
            "topics": {t: c.diagnostics() for t, c in self._counters.items()},
            "robot_description": self._urdf_source,
            "calibrated_cameras": sorted(self._calibrations),
        }

    # -------------------------------------------------------------- periodic work

    def tick(self) -> RecorderStatus:
        """Convert waiting messages, measure rates, find silent topics; return the status."""
        now = self._clock()
        with self._lock:
            recording = self._writer is not None
            for topic, c in self._counters.items():
                block = self._arrays.get(topic)
                if block is not None and recording:
                    self._flush_arrays(c, block)
                if c.rate_since < 0 or now < c.rate_since:
                    c.rate_since, c.rate_total = now, c.total
                elif now - c.rate_since >= _RATE_WINDOW_NS:
                    c.rate_hz = (c.total - c.rate_total) * _NS / (now - c.rate_since)
                    c.rate_since, c.rate_total = now, c.total
                if recording and not c.in_gap:
                    last = max(c.last_arrival, self._start_ns)
                    if now - last > c.gap_ns:
                        self._open_gap(c, last, -1)
            return self._status(now)

    def _open_gap(self, c: _Counters, since: int, until: int) -> None:
        c.gap_count += 1
        c.in_gap = until < 0
        if len(c.gaps) < _GAPS_KEPT:
            c.gaps.append([since, until])
        silent = ((until if until >= 0 else self._clock()) - since) / _NS
        c.last_error = f"{c.topic}: no message for {silent:.2f} s (gap {c.gap_count})"

    def status(self) -> RecorderStatus:
        with self._lock:
            return self._status(self._clock())

    def _status(self, now: int) -> RecorderStatus:
        writer = self._writer
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
        )


def _signature(msg: Any, compressed: bool) -> tuple[Any, ...]:
    """What must stay the same for every frame of an episode: encoding and size."""
    if compressed:
        header = read_header(bytes(msg.data))
        if header is None:
            return (str(msg.format),)
        return (header.encoding.value, header.width, header.height, header.channels)
    return (str(msg.encoding), int(msg.width), int(msg.height))


def _describe(signature: tuple[Any, ...]) -> str:
    if len(signature) >= 3:
        return f"{signature[0]} {signature[1]}x{signature[2]}"
    return str(signature[0])
