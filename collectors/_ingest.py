"""Bag ingestion: ROS 1 / ROS 2 bags become episodes, driven by a robot profile.

One bag is one episode, or several when it is split at gaps or at a marker
topic. The episode is written by the one writer, exactly as a live recording
(``source = "bag"``, the bag's path and start time in ``extra``): array values
go through the profile's field expressions and unit conversions; JPEG frames of
the right size are stored as they are in the bag.

Time: ``stamp_ns`` is the message's ``header.stamp``, or the bag's receive time
for streams with ``stamp: arrival``; ``arrival_ns`` is always the bag's receive
time (when the recorder got the message).

A bag either becomes all of its episodes or none: any error discards what was
written from it, so a failed bag leaves nothing half done behind.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import shutil
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from collectors._bag_camera_info import CAMERA_INFO, camera_info_topics, read_calibrations
from collectors._bags import Bag, BagTopic, bag_size
from collectors._errors import BagError, TopicError
from collectors._fields import FieldReader, StampReader, normalize_msg_type
from collectors._find import SkippedBag
from collectors._resume import bag_source, ingesting, pending_bags, remove_interrupted
from collectors._topics import FrameReader, bind_array, bind_camera
from episodes import _layout as fmt
from episodes._errors import EpisodeWriteError, StorageFullError, TimestampOrderError
from episodes._ids import new_episode_id
from episodes._spec import ArrayStreamSpec, EpisodeInfo, ImageStreamSpec, JsonValue, StreamSpec
from episodes._writer import EpisodeWriter
from tg_base import TgError
from tg_config import Camera, ConfigError, RobotProfile, Stream
from tg_exec import Executor, LocalExecutor, report_progress

__all__ = [
    "BagFailure",
    "IngestOptions",
    "IngestResult",
    "IngestSummary",
    "Outcome",
    "ingest_bag",
    "ingest_bags",
]

_ROWS_PER_BLOCK = 2048
# Frames are handed to the writer in bursts: its I/O thread then finds many frames per wake
# and pays its fixed per-write HDF5 cost once for all of them (64 JPEG frames: about 6 MB).
_FRAMES_PER_BURST = 64
_PROGRESS_EVERY = 2000  # messages

Progress = Callable[[float], None]


@dataclass(frozen=True)
class IngestOptions:
    """Labels of the episodes and how to split bags (at most one of ``split_gap_s``, ``split_topic``)."""

    task: str = ""
    instruction: str = ""
    dataset: str = ""
    operator: str = ""
    station: str = ""
    split_gap_s: float | None = None  # a new episode where no message arrived for this long
    split_topic: str = ""  # a new episode at each message on this topic
    # ingest_bags: also the bags that have episodes in the output directory already
    reingest: bool = False

    def __post_init__(self) -> None:
        if self.split_gap_s is not None and not (math.isfinite(self.split_gap_s) and self.split_gap_s > 0):
            raise ConfigError(f"split_gap_s must be a positive number of seconds, got {self.split_gap_s}")
        if self.split_gap_s is not None and self.split_topic:
            raise ConfigError("split at gaps or at a marker topic, not both")


@dataclass(frozen=True)
class IngestResult:
    """What one bag became: its episodes, and the parts left out with why."""

    bag: Path
    episodes: tuple[Path, ...]
    skipped: tuple[str, ...] = ()
    messages: int = 0
    cleaned: tuple[str, ...] = ()  # what an earlier attempt at this bag that died had left, removed


@dataclass(frozen=True)
class BagFailure:
    bag: Path
    reason: str


Outcome = IngestResult | BagFailure | SkippedBag


@dataclass(frozen=True)
class IngestSummary:
    results: tuple[IngestResult, ...]
    failures: tuple[BagFailure, ...]
    skipped: tuple[SkippedBag, ...] = ()  # bags not ingested again (see IngestOptions.reingest)
    cleaned: tuple[str, ...] = ()  # what killed ingests had left, removed (collectors._resume)

    @property
    def episodes(self) -> tuple[Path, ...]:
        return tuple(p for r in self.results for p in r.episodes)

    @property
    def ok(self) -> bool:
        return not self.failures


def ingest_bag(
    bag: str | Path,
    profile: RobotProfile,
    out: str | Path,
    *,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Turn one bag into episodes in ``out``; raise a :class:`TgError` naming the bag if it cannot be.

    ``progress`` is called now and then with the fraction of the bag's messages read.

    >>> from collectors import ingest_bag, load_profile
    >>> result = ingest_bag("kuavo.bag", load_profile("kuavo4pro"), "datasets/kuavo")  # doctest: +SKIP
    >>> result.episodes  # doctest: +SKIP
    (PosixPath('datasets/kuavo/01J....h5'),)
    """
    opts = options or IngestOptions()
    path = Path(bag)
    with Bag(
        path, msg_definitions=profile.msg_definitions, definitions_from=_profile_where(profile)
    ) as reader:
        plan = _plan(reader, profile, opts)
        run = _Run(reader, plan, profile, Path(out), opts, progress)
        with ingesting(Path(out), path, str(run.source["bag_fingerprint"])) as attempt:
            run.started = attempt
            try:
                run.read_all()
            except EpisodeWriteError as exc:
                run.discard()
                raise _write_failed(path, Path(out), exc) from None
            except BaseException:
                run.discard()
                raise
    cleaned = (attempt.earlier.describe(),) if attempt.earlier is not None else ()
    return IngestResult(path, tuple(run.written), tuple(plan.notes + run.skipped), run.messages, cleaned)


def ingest_bags(
    bags: Sequence[str | Path],
    profile: RobotProfile,
    out: str | Path,
    *,
    options: IngestOptions | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[int, float], None] | None = None,
    done: Callable[[Outcome], None] | None = None,
) -> IngestSummary:
    """Ingest many bags on ``executor`` (default: ``workers`` local processes); one bad bag stops no other.

    Bags with episodes in ``out`` already (an earlier run, perhaps interrupted)
    and bags given twice are passed over, unless ``options.reingest``.
    ``progress(i, fraction)`` reports how far bag ``bags[i]`` is; ``done`` gets each
    bag's result, failure or skip as it finishes. A bag whose worker died is run
    again as often as the executor retries, after what the dead attempt wrote is
    removed; on a cluster, ``bags`` and ``out`` must be paths every node sees.
    """
    opts = options or IngestOptions()
    paths = [Path(b) for b in bags]
    outcomes: list[Outcome | None] = [None] * len(paths)

    def finish(i: int, outcome: Outcome) -> None:
        outcomes[i] = outcome
        if progress is not None:
            progress(i, 1.0)
        if done is not None:
            done(outcome)

    # A killed ingest left a partial episode (and maybe finished segments) of a bag: ingest it again.
    cleaned = remove_interrupted(Path(out))
    todo, skipped = (list(range(len(paths))), {}) if opts.reingest else pending_bags(paths, Path(out))
    for i, skip in skipped.items():
        finish(i, skip)
    jobs = [_Job(i, paths[i]) for i in todo]
    if jobs:
        with contextlib.ExitStack() as owned:
            run = executor or owned.enter_context(LocalExecutor(max(1, workers), stop_signal=signal.SIGTERM))
            run.map(
                _BagWork(profile, Path(out), opts, os.getpid()),
                jobs,
                on_failure=_worker_died,
                on_result=lambda d: finish(d.index, d.outcome),
                on_progress=(lambda k, f: progress(jobs[k].index, f)) if progress is not None else None,
            )
    results = tuple(o for o in outcomes if isinstance(o, IngestResult))
    return IngestSummary(
        results,
        tuple(o for o in outcomes if isinstance(o, BagFailure)),
        tuple(o for o in outcomes if isinstance(o, SkippedBag)),
        cleaned + tuple(note for r in results for note in r.cleaned),
    )


# ------------------------------------------------------------------ one bag


def _write_failed(bag: Path, out: Path, exc: EpisodeWriteError) -> EpisodeWriteError:
    """The writer's error saying what ingest left: nothing of the bag (no partial file to recover)."""
    left = (
        "nothing of this bag was kept (its partial episode was removed; the bag is unchanged and the "
        "episodes of other bags are intact)"
    )
    if isinstance(exc, StorageFullError):
        free = shutil.disk_usage(out).free if out.is_dir() else 0
        return StorageFullError(
            f"{bag}: no room left to write in {out} ({free / 1e6:.1f} MB free on its disk); {left}. "
            "Free space, then run the same ingest again: the bags already ingested are skipped"
        )
    what = str(exc).split(" Earlier episodes are intact", 1)[0]
    return EpisodeWriteError(f"{bag}: {what}; {left}")


def _ingest_or_fail(
    path: Path, profile: RobotProfile, out: Path, opts: IngestOptions, progress: Progress | None
) -> IngestResult | BagFailure:
    try:
        return ingest_bag(path, profile, out, options=opts, progress=progress)
    except TgError as exc:
        return BagFailure(path, str(exc))
    except Exception as exc:  # one bag's unforeseen failure must not stop the others
        return BagFailure(path, f"{path}: {type(exc).__name__}: {exc}")


def _profile_where(profile: RobotProfile) -> str:
    return (
        f"profile {profile.name!r} ({profile.source_path})"
        if profile.source_path
        else f"profile {profile.name!r}"
    )


@dataclass
class _ArrayTarget:
    spec: ArrayStreamSpec
    reader: FieldReader
    header_stamps: bool  # else the receive time is the sample time
    picked: list[Any] = field(default_factory=list)  # what reader.pick took from each waiting message
    total: int = 0


@dataclass
class _CameraTarget:
    spec: ImageStreamSpec
    frame: FrameReader
    stamp: StampReader | None  # None: the receive time
    waiting: list[tuple[int, int, bytes | npt.NDArray[Any]]] = field(default_factory=list)
    total: int = 0


@dataclass
class _TopicBlock:
    """What the streams of one topic took from its messages, until they are read together.

    Only the picks are kept, never the messages: thousands of live message
    objects would make Python's garbage collector walk them over and over.
    """

    targets: list[_ArrayTarget]
    stamps: StampReader | None
    stamp_picks: list[Any] = field(default_factory=list)
    receive: list[int] = field(default_factory=list)


@dataclass
class _Plan:
    specs: list[StreamSpec]
    arrays: dict[str, _TopicBlock]
    cameras: dict[str, list[_CameraTarget]]
    source_fields: dict[str, str]
    notes: list[str] = field(default_factory=list)
    info_topics: dict[str, Camera] = field(default_factory=dict)
    """CameraInfo topic -> the camera it calibrates."""

    @property
    def topics(self) -> set[str]:
        return set(self.arrays) | set(self.cameras)


def _plan(bag: Bag, profile: RobotProfile, opts: IngestOptions) -> _Plan:
    """Check the bag against the profile and compile every stream, before anything is written."""
    notes: list[str] = []
    problems: list[str] = []  # every mismatch at once: fixing one at a time per run is slow
    used: list[tuple[Camera | Stream, BagTopic]] = []
    items: list[Camera | Stream] = [*profile.cameras, *profile.streams]
    for item in items:
        topic = bag.topics.get(item.topic) if item.topic else None
        if topic is None or topic.count == 0:
            if not item.topic:
                why = "it has no topic in the profile"
            else:
                why = f"its topic {item.topic} " + ("has no messages" if topic else "is not in the bag")
            if item.required:
                problems.append(f"stream {item.name!r} is required but {why}")
            else:
                notes.append(f"stream {item.name!r} left out: {why}")
            continue
        expected = normalize_msg_type(item.msg_type)
        if item.msg_type and expected != topic.msg_type:
            problems.append(
                f"topic {item.topic} carries {topic.msg_type}, but stream {item.name!r} of "
                f"{_profile_where(profile)} expects {expected}"
            )
            continue
        used.append((item, topic))
    if problems:
        listed = ", ".join(f"{t.name} ({t.msg_type})" for t in bag.topics.values()) or "none"
        raise TopicError(f"{bag.path}: {'; '.join(problems)}; the bag has: {listed}")
    if opts.split_topic and opts.split_topic not in bag.topics:
        raise TopicError(
            f"{bag.path}: split topic {opts.split_topic} is not in the bag; the bag has: "
            f"{', '.join(sorted(bag.topics))}"
        )
    infos = camera_info_topics(bag, used)
    schemas = bag.schemas({**{t.name: t.msg_type for _, t in used}, **dict.fromkeys(infos, CAMERA_INFO)})

    plan = _Plan(specs=[], arrays={}, cameras={}, source_fields={}, notes=notes, info_topics=infos)
    for item, topic in used:
        where = f"{bag.path}: {topic.name} ({topic.msg_type}) stream {item.name!r}"
        if isinstance(item, Camera):
            cam = bind_camera(item, item.stream_spec(), topic.msg_type, schemas, where=where)
            plan.cameras.setdefault(topic.name, []).append(_CameraTarget(cam.spec, cam.frame, cam.stamp))
            plan.specs.append(cam.spec)
            continue
        bound = bind_array(profile, item, topic.msg_type, schemas, where=where)
        block = plan.arrays.setdefault(topic.name, _TopicBlock([], None))
        if bound.stamp is not None:
            block.stamps = bound.stamp
        block.targets.append(_ArrayTarget(bound.spec, bound.reader, header_stamps=bound.stamp is not None))
        plan.specs.append(bound.spec)
        plan.source_fields[item.name] = bound.reader.resolved
    if not any(s.required for s in plan.specs):
        raise TopicError(
            f"{bag.path}: no required stream of {_profile_where(profile)} is in the bag; an episode "
            "needs at least one (its aligned view starts from them)"
        )
    return plan


class _Run:
    """Reads the bag once, in receive order, writing one episode per segment."""

    def __init__(
        self,
        bag: Bag,
        plan: _Plan,
        profile: RobotProfile,
        out: Path,
        opts: IngestOptions,
        progress: Progress | None,
    ) -> None:
        self.bag, self.plan, self.profile, self.out, self.opts = bag, plan, profile, out, opts
        self.progress = progress
        self.writer: EpisodeWriter | None = None
        self.partial: Path | None = None  # the file of the episode being written
        self.segment = -1
        self.segment_start_ns = 0
        self.written: list[Path] = []
        self.skipped: list[str] = []
        self.messages = 0
        self.urdf = profile.urdf_text()
        self.source = bag_source(bag.path)  # how a later run knows this bag's episodes
        self.started: Callable[[Path], None] = lambda partial: None  # told each partial before it exists
        cameras = {s.name: s for s in plan.specs if isinstance(s, ImageStreamSpec)}
        self.calibrations = read_calibrations(bag, plan.info_topics, cameras)

    def read_all(self) -> None:
        topics = self.plan.topics | ({self.opts.split_topic} if self.opts.split_topic else set())
        total = max(1, sum(self.bag.topics[t].count for t in topics))
        gap_ns = int(self.opts.split_gap_s * 1e9) if self.opts.split_gap_s else 0
        split_topic = self.opts.split_topic
        handlers = {topic: self._handler(topic) for topic in self.plan.topics}
        progress = self.progress
        count = 0
        last_ns = -1
        # The hot loop: one bag message per turn, so it only dispatches to per-topic handlers.
        for topic, receive_ns, raw in self.bag.messages(topics):
            count += 1
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(count / total)
            if topic == split_topic or (gap_ns and last_ns >= 0 and receive_ns - last_ns >= gap_ns):
                self._close_segment()
            last_ns = receive_ns
            handler = handlers.get(topic)
            if handler is not None:
                if self.writer is None:
                    self._open_segment(receive_ns)
                handler(receive_ns, raw)
        self.messages = count
        self._close_segment()
        if not self.written:
            raise BagError(f"{self.bag.path}: no episode written: {'; '.join(self.skipped) or 'no messages'}")
        if progress is not None:
            progress(1.0)

    def _handler(self, topic: str) -> Callable[[int, Any], None]:
        """What to do with one raw message of ``topic``: decode it once, feed its streams."""
        decode = self.bag.decoder(topic)
        block = self.plan.arrays.get(topic)
        cams = self.plan.cameras.get(topic, [])
        pickers = [(t.reader.pick, t.picked.append) for t in block.targets] if block is not None else []
        stamp_pick = block.stamps.pick if block is not None and block.stamps is not None else None
        stamp_picks = block.stamp_picks if block is not None else []
        receive = block.receive if block is not None else []

        def add_msg(receive_ns: int, raw: Any) -> None:
            msg = decode(raw)
            if block is not None:
                for pick, keep in pickers:
                    keep(pick(msg))
                if stamp_pick is not None:
                    stamp_picks.append(stamp_pick(msg))
                receive.append(receive_ns)
                if len(receive) == _ROWS_PER_BLOCK:
                    self._flush(topic, block)
            for cam in cams:
                self._add_frame(topic, cam, msg, receive_ns)

        return add_msg

    def _add_frame(self, topic: str, cam: _CameraTarget, msg: Any, receive_ns: int) -> None:
        stamp = cam.stamp.read(msg) if cam.stamp is not None else receive_ns
        cam.waiting.append((stamp, receive_ns, cam.frame(msg)))
        if len(cam.waiting) == _FRAMES_PER_BURST:
            self._flush_frames(topic, cam)

    def _flush_frames(self, topic: str, cam: _CameraTarget) -> None:
        writer = self._writer()
        name = cam.spec.name
        try:
            for stamp, receive_ns, frame in cam.waiting:
                if isinstance(frame, bytes):
                    writer.append_encoded(name, stamp, frame, arrival_ns=receive_ns)
                else:
                    writer.append(name, stamp, frame, arrival_ns=receive_ns)
        except TimestampOrderError as exc:
            raise self._order_error(topic, exc) from None
        cam.total += len(cam.waiting)
        cam.waiting.clear()

    def _flush(self, topic: str, block: _TopicBlock) -> None:
        """Read the waiting picks of ``topic`` into each of its streams, one block each."""
        if not block.receive:
            return
        writer = self._writer()
        receive = np.array(block.receive, dtype=np.int64)
        header = block.stamps.stamps(block.stamp_picks) if block.stamps is not None else receive
        for target in block.targets:
            rows = target.reader.rows(target.picked)
            stamps = header if target.header_stamps else receive
            try:
                writer.append_block(target.spec.name, stamps, rows, arrivals_ns=receive)
            except TimestampOrderError as exc:
                raise self._order_error(topic, exc) from None
            target.total += receive.shape[0]
            target.picked.clear()
        block.stamp_picks.clear()
        block.receive.clear()

    def _writer(self) -> EpisodeWriter:
        if self.writer is None:
            raise BagError(f"{self.bag.path}: internal error: no episode is open")
        return self.writer

    def _order_error(self, topic: str, exc: TimestampOrderError) -> BagError:
        return BagError(
            f"{self.bag.path}: {topic}: {exc}; header stamps of a stream must not go backwards "
            "(stamp: arrival in the profile uses the receive time instead)"
        )

    def _open_segment(self, receive_ns: int) -> None:
        self.segment += 1
        self.segment_start_ns = receive_ns
        extra: dict[str, JsonValue] = {
            "bag_path": str(self.bag.path.resolve()),
            "bag_start_time_ns": self.bag.start_ns,
            "bag_storage": self.bag.storage,
            **self.source,
            "source_fields": dict(self.plan.source_fields),
        }
        if self.opts.split_gap_s or self.opts.split_topic:
            extra["bag_segment"] = self.segment
            extra["bag_segment_start_ns"] = receive_ns
        info = EpisodeInfo(
            robot=self.profile.robot_info(),
            source="bag",
            dataset=self.opts.dataset,
            task=self.opts.task,
            instruction=self.opts.instruction,
            operator=self.opts.operator,
            station=self.opts.station,
            extra=extra,
        )
        for block in self.plan.arrays.values():
            for t in block.targets:
                t.total = 0
        for cams in self.plan.cameras.values():
            for c in cams:
                c.total = 0
                c.waiting.clear()
        episode_id = new_episode_id()
        # Known before the writer exists: a writer that fails to start may leave its file behind.
        self.partial = self.out / f"{episode_id}{fmt.EPISODE_SUFFIX}{fmt.PARTIAL_SUFFIX}"
        self.started(self.partial)
        self.writer = EpisodeWriter(
            self.out,
            streams=self.plan.specs,
            info=info,
            aligned_rate_hz=self.profile.aligned_rate_hz,
            urdf=self.urdf,
            episode_id=episode_id,
            calibrations=self.calibrations,
        )

    def _close_segment(self) -> None:
        writer = self.writer
        if writer is None:
            return
        for topic, cams in self.plan.cameras.items():
            for cam in cams:
                self._flush_frames(topic, cam)
        for topic, block in self.plan.arrays.items():
            self._flush(topic, block)
        counts = {t.spec.name: t.total for b in self.plan.arrays.values() for t in b.targets}
        counts.update({c.spec.name: c.total for cs in self.plan.cameras.values() for c in cs})
        empty = [s.name for s in self.plan.specs if s.required and counts.get(s.name, 0) == 0]
        self.writer = None
        if empty:
            writer.discard()
            start = (self.segment_start_ns - self.bag.start_ns) / 1e9
            self.skipped.append(
                f"segment {self.segment} (from {start:.1f} s) left out: no samples of required "
                f"stream(s) {', '.join(empty)}"
            )
            return
        self.written.append(writer.close())
        self.partial = None

    def discard(self) -> None:
        """Remove everything written from this bag (called when it fails)."""
        if self.writer is not None:
            self.writer.discard()
            self.writer = None
        # A writer that failed (a full disk) keeps its partial file for `tg recover`; the bag is
        # still there, so the partial is worth nothing and its space is needed.
        for path in [*self.written, *([self.partial] if self.partial else [])]:
            path.unlink(missing_ok=True)
        self.written.clear()
        self.partial = None


# ------------------------------------------------------------------ many bags


@dataclass(frozen=True)
class _Job:
    index: int  # in the bags given to ingest_bags
    bag: Path


@dataclass(frozen=True)
class _Done:
    index: int
    outcome: IngestResult | BagFailure


def _worker_died(job: _Job, why: str) -> _Done:
    return _Done(job.index, BagFailure(job.bag, f"{job.bag}: {why}"))


@dataclass(frozen=True)
class _BagWork:
    """One bag's ingest, as an executor runs it: picklable, to travel to a worker process or node.

    Its progress goes through :func:`tg_exec.report_progress`. In a local worker process (not
    ``caller_pid``, which runs the bags itself with one worker) SIGTERM stops the bag at its next
    progress report and removes what it wrote. A Ray worker keeps Ray's own SIGTERM handling
    (Ray ends idle workers with it); its SystemExit unwinds the bag, which discards its files too.
    """

    profile: RobotProfile
    out: Path
    opts: IngestOptions
    caller_pid: int

    def __call__(self, job: _Job) -> _Done:
        if os.getpid() != self.caller_pid and multiprocessing.parent_process() is not None:
            _stop_on_sigterm()
        return _Done(job.index, _ingest_stoppable(job.bag, self.profile, self.out, self.opts))


_handler_installed = False
_busy = False
_stop_asked = False
_STOP_WITHIN_S = 10.0  # a stopped worker that has not removed its bag's files by then just ends


class _Stopped(BaseException):
    """The worker was told to stop: unwinds the bag in progress, which then discards its files."""


def _stop_on_sigterm() -> None:
    """SIGTERM, not SIGKILL, is what a local worker gets when ``tg ingest`` ends: the bag in
    progress removes what it wrote first (all or nothing). Installed once per worker process,
    by the work itself: an executor has no per-verb initializer."""
    global _handler_installed
    if not _handler_installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        _handler_installed = True


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM: end now when idle, else at the bag's next progress report (never mid-write)."""
    global _stop_asked
    if not _busy:
        os._exit(128 + signum)
    if not _stop_asked:
        _stop_asked = True
        deadline = threading.Timer(_STOP_WITHIN_S, os._exit, (128 + signum,))
        deadline.daemon = True
        deadline.start()


def _report(fraction: float) -> None:
    if _stop_asked:
        raise _Stopped  # ingest_bag discards what it wrote from this bag
    report_progress(fraction)


def _ingest_stoppable(
    path: Path, profile: RobotProfile, out: Path, opts: IngestOptions
) -> IngestResult | BagFailure:
    global _busy
    _busy = True
    try:
        outcome = _ingest_or_fail(path, profile, out, opts, _report)
    except _Stopped:
        os._exit(128 + signal.SIGTERM)
    if _stop_asked:  # asked while the bag was closing its last episode
        for episode in outcome.episodes if isinstance(outcome, IngestResult) else ():
            episode.unlink(missing_ok=True)
        os._exit(128 + signal.SIGTERM)
    _busy = False
    return outcome


def bag_sizes(bags: Sequence[str | Path]) -> list[int]:
    """Bytes of each bag, to weigh progress by."""
    return [bag_size(Path(b)) for b in bags]
