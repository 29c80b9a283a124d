"""EpisodeWriter: records one episode into one HDF5 file while it happens.

Why it is built this way (see datasets/FORMAT.md for the layout itself):

* HDF5's SWMR mode keeps the file readable after a ``kill -9``, but forbids
  creating datasets or attributes once it is on. So every dataset and attribute,
  the aligned view's included, is created when the writer opens; recording only
  extends datasets and rewrites attribute values.
* The caller's thread (a ROS callback, a simulator loop) only copies a sample
  into a chunk-sized block. A background thread writes full blocks, and every
  ``flush_interval_s`` also the partly filled ones, then flushes the file: at
  most that much recorded data is lost if the process dies.
* Images are encoded in a thread pool (OpenCV releases the GIL). A bounded
  number of frames may wait for encoding (``frames_in_flight``, default 6 per
  encoder thread); past that the caller blocks, so a slow disk slows the
  recorder down instead of filling RAM. ``encoder_nice`` runs the encoders at
  a lower priority than the caller, for a caller that must keep up in real
  time (the ROS recorder).
* The file is recorded as ``<id>.h5.partial`` and renamed to ``<id>.h5`` in one
  atomic step once it is final; tools that scan a directory skip partial files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Union

import h5py
import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes._align import Alignment, compute_alignment, sortable_times
from episodes._errors import (
    EpisodeError,
    EpisodeExistsError,
    EpisodeWriteError,
    SampleError,
    StorageFullError,
    StreamSpecError,
    TimestampOrderError,
    UnknownStreamError,
    WriterClosedError,
)
from episodes._ids import new_episode_id
from episodes._images import encode_frame, read_header
from episodes._spec import (
    ArrayStreamSpec,
    CameraCalibration,
    EpisodeInfo,
    ImageStreamSpec,
    JsonValue,
    StreamSpec,
)
from tg_base import __version__

__all__ = ["EpisodeWriter"]

_ARRAY_BLOCK_BYTES = 64 * 1024
_IMAGE_BLOCK_BYTES = 1024 * 1024
_STAMP_CHUNK = 4096
_MAX_FRAMES_IN_FLIGHT_PER_THREAD = 6
_ERRNO_RE = re.compile(r"errno = (\d+)")
_FULL_ERRNOS = frozenset({28, 27, 122})  # ENOSPC, EFBIG (file-size limit), EDQUOT

EncodedFrame = Union["Future[npt.NDArray[np.uint8]]", npt.NDArray[np.uint8]]


@dataclass
class _ArrayBlock:
    stamps: npt.NDArray[np.int64]
    arrivals: npt.NDArray[np.int64]
    data: npt.NDArray[Any]
    count: int = 0

    @classmethod
    def empty(cls, rows: int, spec: ArrayStreamSpec) -> _ArrayBlock:
        return cls(
            stamps=np.empty(rows, np.int64),
            arrivals=np.empty(rows, np.int64),
            data=np.empty((rows, spec.dim), spec.dtype),
        )


@dataclass
class _Stream:
    spec: StreamSpec
    group: Any
    block_rows: int
    last_stamp: int = -(2**63)
    # Filled by the caller's thread under the writer's lock, emptied by the I/O thread.
    block: _ArrayBlock | None = None
    ready_blocks: list[_ArrayBlock] = field(default_factory=list)
    pending_frames: list[tuple[int, int, EncodedFrame]] = field(default_factory=list)
    # Owned by the I/O thread.
    written: int = 0
    bytes_written: int = 0
    min_arrival: int = 2**63 - 1
    max_arrival: int = -(2**63)

    @property
    def is_image(self) -> bool:
        return isinstance(self.spec, ImageStreamSpec)

    def fresh_block(self) -> _ArrayBlock:
        if not isinstance(self.spec, ArrayStreamSpec):
            raise StreamSpecError(f"stream {self.spec.name!r}: camera streams are not buffered in blocks")
        return _ArrayBlock.empty(self.block_rows, self.spec)


def _rows_for(row_bytes: int) -> int:
    return int(min(4096, max(64, _ARRAY_BLOCK_BYTES // max(1, row_bytes))))


class EpisodeWriter:
    """Record one episode, sample by sample, into ``<dataset_dir>/<episode_id>.h5``.

    Use it as a context manager: leaving the block normally finalises the episode
    (aligned view, ``status=complete``); an exception inside the block finalises it
    with ``status=aborted`` and re-raises. :meth:`discard` throws the episode away.

    >>> import numpy as np, tempfile
    >>> from episodes import EpisodeWriter, ArrayStreamSpec, EpisodeInfo, RobotInfo, StreamKind
    >>> spec = ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, ("j1", "j2"), ("rad",))
    >>> info = EpisodeInfo(robot=RobotInfo("demo"), source="synthetic", task="wave")
    >>> with EpisodeWriter(tempfile.mkdtemp(), streams=[spec], info=info, aligned_rate_hz=10) as w:
    ...     for k in range(20):
    ...         w.append("joint_position", k * 50_000_000, np.array([0.1 * k, -0.1 * k]))
    >>> w.final_path.exists()
    True
    """

    def __init__(
        self,
        dataset_dir: str | os.PathLike[str],
        *,
        streams: Sequence[StreamSpec],
        info: EpisodeInfo,
        aligned_rate_hz: float,
        align_clock: str = fmt.CLOCK_STAMP,
        required: Sequence[str] | None = None,
        episode_id: str | None = None,
        urdf: str | None = None,
        calibrations: dict[str, CameraCalibration] | None = None,
        flush_interval_s: float = 1.0,
        encoder_threads: int = 2,
        frames_in_flight: int | None = None,
        encoder_nice: int = 0,
        fsync: bool = True,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._check_declaration(streams, aligned_rate_hz, align_clock, required, flush_interval_s)
        if frames_in_flight is not None and frames_in_flight < 1:
            raise StreamSpecError(f"frames_in_flight must be at least 1, got {frames_in_flight}")
        self.episode_id = episode_id or new_episode_id()
        directory = Path(dataset_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self.final_path = directory / f"{self.episode_id}{fmt.EPISODE_SUFFIX}"
        self.path = self.final_path.with_name(self.final_path.name + fmt.PARTIAL_SUFFIX)
        if self.final_path.exists():
            raise EpisodeExistsError(f"{self.final_path}: episode exists; refusing to overwrite it")
        if self.path.exists():
            raise EpisodeExistsError(f"{self.path}: partial episode exists; refusing to overwrite it")
        self._info = info
        self._rate_hz = float(aligned_rate_hz)
        self._align_clock = align_clock
        self._required = (
            tuple(required) if required is not None else tuple(s.name for s in streams if s.required)
        )
        self._fsync = fsync
        self._clock = clock
        self._flush_interval = flush_interval_s
        self._success: bool | None = None
        self._notes = info.notes
        self._extra: dict[str, JsonValue] = dict(info.extra)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._closed = False
        self._io_error: BaseException | None = None
        self._pending_calibrations: list[tuple[str, CameraCalibration]] = []
        encoder_threads = max(1, encoder_threads)
        if frames_in_flight is None:
            frames_in_flight = encoder_threads * _MAX_FRAMES_IN_FLIGHT_PER_THREAD
        self._in_flight = threading.BoundedSemaphore(frames_in_flight)
        self._streams: dict[str, _Stream] = {}

        try:
            # "w-" creates exclusively, should another writer have won a race for the name.
            # Disk-full fix: no raw-data chunk cache (rdcc_nbytes=0). Every block then goes to the
            # OS when it is written, so ENOSPC/EFBIG surfaces at that write; with a cache, HDF5
            # (2.0) keeps the unwritable dirty chunk and segfaults when it later closes the
            # dataset (File.close, garbage collection or interpreter exit). No measurable cost in
            # benchmarks/bench_writer.py: the writer writes whole blocks, not single samples.
            self._file = h5py.File(self.path, "w-", libver="latest", rdcc_nbytes=0)
        except OSError as exc:
            raise _write_error(exc, self.path, "creating the episode file") from exc
        try:
            self._create_layout(streams, urdf, calibrations or {})
            self._file.swmr_mode = True
            self._file.flush()
        # Disk-full fix: h5py raises RuntimeError, not OSError, when starting SWMR or flushing
        # fails (e.g. "Unable to start swmr writing (... errno = 28 ...)").
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(Exception):
                self._file.close()
            raise _write_error(exc, self.path, "creating the episode layout") from exc
        except BaseException:
            with contextlib.suppress(Exception):
                self._file.close()
            self.path.unlink(missing_ok=True)
            raise
        self._pool = ThreadPoolExecutor(
            encoder_threads,
            thread_name_prefix=f"tg-encode-{self.episode_id[-6:]}",
            initializer=functools.partial(_lower_priority, encoder_nice) if encoder_nice > 0 else None,
        )
        self._io_thread = threading.Thread(
            target=self._io_loop, name=f"tg-writer-{self.episode_id[-6:]}", daemon=True
        )
        self._io_thread.start()

    # ------------------------------------------------------------------ declaration

    @staticmethod
    def _check_declaration(
        streams: Sequence[StreamSpec],
        rate_hz: float,
        align_clock: str,
        required: Sequence[str] | None,
        flush_interval_s: float,
    ) -> None:
        if not streams:
            raise StreamSpecError("an episode needs at least one stream")
        names = [s.name for s in streams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise StreamSpecError(f"stream names repeat: {dupes}")
        if not (np.isfinite(rate_hz) and rate_hz > 0):
            raise StreamSpecError(f"aligned_rate_hz must be a positive number, got {rate_hz}")
        if align_clock not in (fmt.CLOCK_STAMP, fmt.CLOCK_ARRIVAL):
            raise StreamSpecError(f"align_clock must be 'stamp' or 'arrival', got {align_clock!r}")
        wanted = list(required) if required is not None else [s.name for s in streams if s.required]
        if not wanted:
            raise StreamSpecError("at least one stream must be required: the aligned view starts from them")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise StreamSpecError(f"required streams {unknown} are not declared (declared: {names})")
        if not flush_interval_s > 0:
            raise StreamSpecError(f"flush_interval_s must be positive, got {flush_interval_s}")

    def _create_layout(
        self,
        streams: Sequence[StreamSpec],
        urdf: str | None,
        calibrations: dict[str, CameraCalibration],
    ) -> None:
        f = self._file
        info = self._info
        str_t = h5py.string_dtype()
        attrs: dict[str, Any] = {
            "format": fmt.FORMAT_NAME,
            "format_version": np.int64(fmt.FORMAT_VERSION),
            "episode_id": self.episode_id,
            "dataset": info.dataset or self.final_path.parent.name,
            "task": info.task,
            "instruction": info.instruction,
            "operator": info.operator,
            "station": info.station,
            "source": info.source,
            "software_version": f"training-ground {__version__}",
            "robot_profile": info.robot.profile,
            "robot_model": info.robot.model,
            "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "start_time_ns": np.int64(-1),
            "end_time_ns": np.int64(-1),
            "status": fmt.STATUS_RECORDING,
            "success": "unknown",
            "notes": info.notes,
            "abort_reason": "",
            "extra_json": fmt.json_attr(dict(info.extra)),
            "writer_host": socket.gethostname(),
            "writer_pid": np.int64(os.getpid()),
        }
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs.create("robot_joint_names", np.array(info.robot.joint_names, dtype=object), dtype=str_t)

        emb = f.create_group(fmt.EMBODIMENT)
        emb.create_dataset("urdf", data=urdf or "", dtype=str_t)
        f.create_group(fmt.ANNOTATIONS)

        root = f.create_group(fmt.STREAMS)
        for spec in streams:
            g = root.create_group(spec.name)
            g.attrs["kind"] = spec.kind.value
            g.attrs["role"] = spec.role.value
            g.attrs["rate_hz"] = float(spec.rate_hz) if spec.rate_hz is not None else float("nan")
            g.attrs["required"] = spec.name in self._required
            g.attrs["topic"] = spec.topic
            g.attrs["msg_type"] = spec.msg_type
            for ds_name in ("stamp_ns", "arrival_ns"):
                g.create_dataset(
                    ds_name, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(_STAMP_CHUNK,)
                )
            if isinstance(spec, ArrayStreamSpec):
                rows = _rows_for(spec.dim * np.dtype(spec.dtype).itemsize)
                g.attrs.create("names", np.array(spec.names, dtype=object), dtype=str_t)
                g.attrs.create("units", np.array(spec.units, dtype=object), dtype=str_t)
                g.create_dataset(
                    "data",
                    shape=(0, spec.dim),
                    maxshape=(None, spec.dim),
                    dtype=spec.dtype,
                    chunks=(rows, spec.dim),
                )
                stream = _Stream(spec=spec, group=g, block_rows=rows)
                stream.block = stream.fresh_block()
            else:
                g.attrs["width"] = np.int64(spec.width)
                g.attrs["height"] = np.int64(spec.height)
                g.attrs["channels"] = np.int64(spec.channels)
                g.attrs["encoding"] = spec.encoding.value
                g.attrs["quality"] = np.int64(spec.quality)
                g.attrs["pixel_format"] = _pixel_format(spec)
                g.attrs["depth_scale_m"] = 0.001 if spec.dtype == "uint16" else float("nan")
                calib = calibrations.get(spec.name)
                g.attrs["calibration_json"] = fmt.json_attr(calib.to_json()) if calib else ""
                g.create_dataset(
                    "frame_offset",
                    shape=(0,),
                    maxshape=(None,),
                    dtype=np.int64,
                    chunks=(_STAMP_CHUNK,),
                )
                g.create_dataset(
                    "frame_size",
                    shape=(0,),
                    maxshape=(None,),
                    dtype=np.int64,
                    chunks=(_STAMP_CHUNK,),
                )
                g.create_dataset(
                    "frames",
                    shape=(0,),
                    maxshape=(None,),
                    dtype=np.uint8,
                    chunks=(_IMAGE_BLOCK_BYTES,),
                )
                stream = _Stream(spec=spec, group=g, block_rows=0)
            self._streams[spec.name] = stream
        unknown_calib = sorted(
            set(calibrations) - {s.name for s in streams if isinstance(s, ImageStreamSpec)}
        )
        if unknown_calib:
            raise StreamSpecError(f"calibrations given for streams that are not cameras: {unknown_calib}")

        aligned = f.create_group(fmt.ALIGNED)
        aligned.attrs["rate_hz"] = self._rate_hz
        aligned.attrs["t0_ns"] = np.int64(0)
        aligned.attrs["clock"] = self._align_clock
        aligned.attrs.create("required", np.array(self._required, dtype=object), dtype=str_t)
        aligned.attrs["num_frames"] = np.int64(0)
        aligned.attrs["reason"] = "recording"
        aligned.create_dataset(
            "time_ns", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(_STAMP_CHUNK,)
        )
        per_stream = aligned.create_group("streams")
        for spec in streams:
            g = per_stream.create_group(spec.name)
            for ds_name in ("index", "error_ns"):
                g.create_dataset(
                    ds_name, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(_STAMP_CHUNK,)
                )

    # ------------------------------------------------------------------ recording

    @property
    def stream_names(self) -> tuple[str, ...]:
        return tuple(self._streams)

    def append(
        self,
        stream: str,
        stamp_ns: int,
        value: npt.ArrayLike,
        *,
        arrival_ns: int | None = None,
    ) -> None:
        """Add one sample: a vector for array streams, an (H, W[, C]) frame for cameras.

        Frames are RGB (or mono, or uint16 depth in millimetres). A frame array
        that is writeable is copied, because encoding happens later on another
        thread. ``arrival_ns`` defaults to the writer's clock, or to ``stamp_ns``
        when the writer has none (direct simulated collection).
        """
        st = self._stream(stream)
        stamp, arrival = self._stamps(st, stamp_ns, arrival_ns)
        spec = st.spec
        if isinstance(spec, ImageStreamSpec):
            frame = np.asarray(value)
            if frame.shape != spec.frame_shape or frame.dtype != np.dtype(spec.dtype):
                raise SampleError(
                    f"stream {stream!r}: expected a {spec.dtype} frame of shape {spec.frame_shape}, "
                    f"got {frame.dtype} {frame.shape}"
                )
            if frame.flags.writeable:
                frame = frame.copy()
            self._acquire_frame_slot()
            try:
                future = self._pool.submit(encode_frame, frame, spec)
            except RuntimeError as exc:  # pool already shut down by a failed I/O thread
                self._in_flight.release()
                raise self._closed_error() from exc
            try:
                self._queue_frame(st, stamp, arrival, future)
            except EpisodeError:  # closed meanwhile by another thread: this frame is not recorded
                future.cancel()
                self._in_flight.release()
                raise
            return
        try:
            row = np.asarray(value, dtype=spec.dtype)
        except (TypeError, ValueError) as exc:
            raise SampleError(f"stream {stream!r}: value is not numeric ({exc})") from exc
        if row.shape != (spec.dim,) and not (row.ndim == 0 and spec.dim == 1):
            raise SampleError(
                f"stream {stream!r}: expected {spec.dim} values ({', '.join(spec.names[:4])}"
                f"{', ...' if spec.dim > 4 else ''}), got shape {row.shape}"
            )
        with self._lock:
            block = st.block
            if block is None:
                raise self._closed_error()
            block.stamps[block.count] = stamp
            block.arrivals[block.count] = arrival
            block.data[block.count] = row
            block.count += 1
            if block.count == st.block_rows:
                st.ready_blocks.append(block)
                st.block = st.fresh_block()
                self._wake.set()
        st.last_stamp = stamp

    def append_encoded(
        self, stream: str, stamp_ns: int, data: bytes, *, arrival_ns: int | None = None
    ) -> None:
        """Add one already encoded frame (a ROS CompressedImage, a bag) without re-encoding it.

        Its JPEG/PNG header must match the stream's encoding and size.
        """
        st = self._stream(stream)
        spec = st.spec
        if not isinstance(spec, ImageStreamSpec):
            raise SampleError(f"stream {stream!r} is not a camera stream; use append()")
        header = read_header(data)
        if header is None:
            raise SampleError(f"stream {stream!r}: data is neither JPEG nor PNG ({len(data)} bytes)")
        expected = (spec.encoding, spec.width, spec.height, spec.channels)
        if (header.encoding, header.width, header.height, header.channels) != expected:
            raise SampleError(
                f"stream {stream!r}: expected {spec.encoding.value} "
                f"{spec.width}x{spec.height}x{spec.channels}, got {header.encoding.value} "
                f"{header.width}x{header.height}x{header.channels}"
            )
        stamp, arrival = self._stamps(st, stamp_ns, arrival_ns)
        self._queue_frame(st, stamp, arrival, np.frombuffer(data, dtype=np.uint8))

    def append_block(
        self,
        stream: str,
        stamps_ns: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        arrivals_ns: npt.ArrayLike | None = None,
    ) -> None:
        """Add many samples of an array stream at once (ingestion, recovery); same rules as append."""
        st = self._stream(stream)
        spec = st.spec
        if not isinstance(spec, ArrayStreamSpec):
            raise SampleError(f"stream {stream!r} is a camera stream; append its frames one by one")
        stamps = np.asarray(stamps_ns, dtype=np.int64).reshape(-1)
        arrivals = stamps if arrivals_ns is None else np.asarray(arrivals_ns, dtype=np.int64).reshape(-1)
        try:
            rows = np.asarray(values, dtype=spec.dtype)
        except (TypeError, ValueError) as exc:
            raise SampleError(f"stream {stream!r}: values are not numeric ({exc})") from exc
        if rows.shape != (stamps.shape[0], spec.dim) or arrivals.shape != stamps.shape:
            raise SampleError(
                f"stream {stream!r}: expected {stamps.shape[0]} rows of {spec.dim} values and "
                f"{stamps.shape[0]} arrival stamps, got values {rows.shape}, arrivals {arrivals.shape}"
            )
        if stamps.shape[0] == 0:
            return
        back = np.flatnonzero(np.diff(stamps) < 0)
        if stamps[0] < st.last_stamp or back.size:
            at = int(back[0]) + 1 if back.size else 0
            prev = int(stamps[at - 1]) if at else st.last_stamp
            raise TimestampOrderError(
                f"stream {stream!r}: stamp {int(stamps[at])} ns at row {at} is earlier than "
                f"the previous sample's {prev} ns"
            )
        with self._lock:
            if st.block is None:
                raise self._closed_error()
            start = 0
            while start < stamps.shape[0]:
                block = st.block
                take = min(st.block_rows - block.count, stamps.shape[0] - start)
                sl = slice(block.count, block.count + take)
                block.stamps[sl] = stamps[start : start + take]
                block.arrivals[sl] = arrivals[start : start + take]
                block.data[sl] = rows[start : start + take]
                block.count += take
                start += take
                if block.count == st.block_rows:
                    st.ready_blocks.append(block)
                    st.block = st.fresh_block()
            self._wake.set()
        st.last_stamp = int(stamps[-1])

    def set_calibration(self, camera: str, calibration: CameraCalibration) -> None:
        """Store a camera's intrinsics and mount, e.g. once its CameraInfo arrives."""
        st = self._stream(camera)
        if not st.is_image:
            raise StreamSpecError(f"stream {camera!r} is not a camera; only cameras have a calibration")
        with self._lock:
            self._pending_calibrations.append((camera, calibration))
        self._wake.set()

    def set_labels(self, *, success: bool | None = None, notes: str | None = None) -> None:
        """Labels given at stop; written when the episode is finalised."""
        self._check_open()
        if success is not None:
            self._success = bool(success)
        if notes is not None:
            self._notes = notes

    def update_extra(self, values: Mapping[str, JsonValue]) -> None:
        """Add keys to ``extra_json``; written when the episode is finalised.

        For what is only known at the end, such as a live recorder's per-topic
        diagnostics (messages rejected, gaps).
        """
        self._check_open()
        self._extra.update(values)

    # ------------------------------------------------------------------ ending

    def close(self) -> Path:
        """Finalise as ``complete`` and return the episode's final path."""
        return self._finish(fmt.STATUS_COMPLETE, "")

    def abort(self, reason: str) -> Path:
        """Finalise as ``aborted``, keeping everything recorded so far."""
        return self._finish(fmt.STATUS_ABORTED, reason)

    def discard(self) -> None:
        """Throw the episode away: stop writing and delete its partial file."""
        if self._closed:
            return
        self._stop_io()
        with contextlib.suppress(Exception):
            self._file.close()
        self._closed = True
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        if exc is None:
            self.close()
        elif isinstance(exc, EpisodeWriteError):
            # The disk failed: leave the partial file as it is for `tg recover`.
            self._abandon()
        else:
            self.abort(f"{type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ internals

    def _stream(self, name: str) -> _Stream:
        self._check_open()
        try:
            return self._streams[name]
        except KeyError:
            raise UnknownStreamError(
                f"{self.path.name}: no stream {name!r}; declared streams: {', '.join(self._streams)}"
            ) from None

    def _check_open(self) -> None:
        if self._closed or self._closing:
            raise self._closed_error()
        if self._io_error is not None:
            raise _write_error(self._io_error, self.path, "writing samples")

    def _closed_error(self) -> EpisodeError:
        if self._io_error is not None:
            return _write_error(self._io_error, self.path, "writing samples")
        return WriterClosedError(f"{self.path.name}: the writer is closed")

    def _stamps(self, st: _Stream, stamp_ns: int, arrival_ns: int | None) -> tuple[int, int]:
        stamp = int(stamp_ns)
        if stamp < st.last_stamp:
            raise TimestampOrderError(
                f"stream {st.spec.name!r}: stamp {stamp} ns is earlier than the previous "
                f"sample's {st.last_stamp} ns"
            )
        if arrival_ns is not None:
            arrival = int(arrival_ns)
        elif self._clock is not None:
            arrival = int(self._clock())
        else:
            arrival = stamp
        return stamp, arrival

    def _acquire_frame_slot(self) -> None:
        if self._in_flight.acquire(blocking=False):
            return
        # Every slot holds a frame the I/O thread has not collected yet: wake it, or with
        # many cameras each below the per-stream wake threshold we would wait for the flush timer.
        self._wake.set()
        while not self._in_flight.acquire(timeout=0.5):
            if self._io_error is not None or not self._io_thread.is_alive():
                raise self._closed_error()
            self._wake.set()

    def _queue_frame(self, st: _Stream, stamp: int, arrival: int, frame: EncodedFrame) -> None:
        with self._lock:
            if self._closing:
                raise self._closed_error()
            st.pending_frames.append((stamp, arrival, frame))
            if len(st.pending_frames) >= 4:
                self._wake.set()
        st.last_stamp = stamp

    def _io_loop(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        while True:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            closing = self._closing
            now = time.monotonic()
            flush_due = closing or now >= next_flush
            with self._lock:
                work: list[tuple[_Stream, list[_ArrayBlock], list[tuple[int, int, EncodedFrame]]]] = []
                for st in self._streams.values():
                    blocks = st.ready_blocks
                    st.ready_blocks = []
                    if flush_due and st.block is not None and st.block.count:
                        blocks.append(st.block)
                        st.block = st.fresh_block() if not closing else None
                    elif closing:
                        st.block = None
                    frames = st.pending_frames
                    st.pending_frames = []
                    if blocks or frames:
                        work.append((st, blocks, frames))
                calibrations = self._pending_calibrations
                self._pending_calibrations = []
            try:
                for st, blocks, frames in work:
                    if blocks:
                        self._write_arrays(st, blocks)
                    if frames:
                        self._write_frames(st, frames)
                for camera, calib in calibrations:
                    text = fmt.json_attr(calib.to_json())
                    self._streams[camera].group.attrs.modify("calibration_json", text)
                if flush_due:
                    self._file.flush()
                    next_flush = now + self._flush_interval
            except BaseException as exc:
                self._io_error = exc
                self._release_frames_after_failure(work)
                return
            if closing:
                return

    def _release_frames_after_failure(
        self, work: list[tuple[_Stream, list[_ArrayBlock], list[tuple[int, int, EncodedFrame]]]]
    ) -> None:
        # Callers may be blocked waiting for a frame slot: free them so they see the error.
        for _, _, frames in work:
            for _, _, frame in frames:
                if isinstance(frame, Future):
                    frame.cancel()
                    with contextlib.suppress(ValueError):
                        self._in_flight.release()

    def _write_arrays(self, st: _Stream, blocks: list[_ArrayBlock]) -> None:
        stamps = np.concatenate([b.stamps[: b.count] for b in blocks])
        arrivals = np.concatenate([b.arrivals[: b.count] for b in blocks])
        data = np.concatenate([b.data[: b.count] for b in blocks])
        start, stop = st.written, st.written + stamps.shape[0]
        g = st.group
        # Data before stamps: a reader sizes a stream by its shortest dataset, so a
        # crash between the two writes never exposes a stamp without its data.
        _extend(g["data"], start, stop, data)
        _extend(g["arrival_ns"], start, stop, arrivals)
        _extend(g["stamp_ns"], start, stop, stamps)
        st.written = stop
        st.min_arrival = min(st.min_arrival, int(arrivals.min()))
        st.max_arrival = max(st.max_arrival, int(arrivals.max()))

    def _write_frames(self, st: _Stream, frames: list[tuple[int, int, EncodedFrame]]) -> None:
        encoded: list[npt.NDArray[np.uint8]] = []
        for _, _, frame in frames:
            if isinstance(frame, Future):
                try:
                    encoded.append(frame.result())
                finally:
                    self._in_flight.release()
            else:
                encoded.append(frame)
        sizes = np.array([e.shape[0] for e in encoded], dtype=np.int64)
        offsets = st.bytes_written + np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        blob = np.concatenate(encoded)
        stamps = np.array([f[0] for f in frames], dtype=np.int64)
        arrivals = np.array([f[1] for f in frames], dtype=np.int64)
        g = st.group
        start, stop = st.written, st.written + len(frames)
        _extend(g["frames"], st.bytes_written, st.bytes_written + blob.shape[0], blob)
        _extend(g["frame_offset"], start, stop, offsets)
        _extend(g["frame_size"], start, stop, sizes)
        _extend(g["arrival_ns"], start, stop, arrivals)
        _extend(g["stamp_ns"], start, stop, stamps)
        st.written = stop
        st.bytes_written += int(blob.shape[0])
        st.min_arrival = min(st.min_arrival, int(arrivals.min()))
        st.max_arrival = max(st.max_arrival, int(arrivals.max()))

    def _stop_io(self) -> None:
        with self._lock:
            self._closing = True
        self._wake.set()
        self._io_thread.join()
        self._pool.shutdown(wait=True)

    def _abandon(self) -> None:
        self._stop_io()
        with contextlib.suppress(Exception):
            self._file.close()
        self._closed = True

    def _finish(self, status: str, reason: str) -> Path:
        if self._closed:
            raise WriterClosedError(f"{self.path.name}: the writer is already closed")
        self._stop_io()
        if self._io_error is not None:
            self._abandon()
            raise _write_error(self._io_error, self.path, "writing samples")
        try:
            alignment = self._alignment()
            write_alignment(self._file[fmt.ALIGNED], alignment)
            attrs = self._file.attrs
            recorded = [s for s in self._streams.values() if s.written]
            start = min((s.min_arrival for s in recorded), default=-1)
            end = max((s.max_arrival for s in recorded), default=-1)
            attrs.modify("start_time_ns", np.int64(start))
            attrs.modify("end_time_ns", np.int64(end))
            attrs.modify("success", _success_text(self._success))
            attrs.modify("notes", self._notes)
            attrs.modify("extra_json", fmt.json_attr(self._extra))
            attrs.modify("abort_reason", reason)
            # The status goes last: a file that says "complete" has everything before it.
            attrs.modify("status", status)
            self._file.flush()
            self._file.close()
            if self._fsync:
                _fsync_path(self.path)
            os.replace(self.path, self.final_path)
            if self._fsync:
                _fsync_path(self.final_path.parent)
        # Disk-full fix: a failed File.flush() raises RuntimeError in h5py, not OSError.
        except (OSError, RuntimeError) as exc:
            self._abandon()
            raise _write_error(exc, self.path, "finalising the episode") from exc
        self._closed = True
        return self.final_path

    def _alignment(self) -> Alignment:
        # Read back rather than kept in RAM: memory stays flat however long the episode.
        dataset = "stamp_ns" if self._align_clock == fmt.CLOCK_STAMP else "arrival_ns"
        stamps = {
            name: sortable_times(np.asarray(st.group[dataset][: st.written], dtype=np.int64))
            for name, st in self._streams.items()
        }
        return compute_alignment(stamps, rate_hz=self._rate_hz, required=self._required)


def write_alignment(group: Any, alignment: Alignment) -> None:
    """Store ``alignment`` in ``/aligned`` by resizing its datasets: it works in SWMR mode too."""
    group.attrs.modify("rate_hz", float(alignment.rate_hz))
    group.attrs.modify("t0_ns", np.int64(alignment.t0_ns))
    group.attrs.modify("num_frames", np.int64(alignment.num_frames))
    group.attrs.modify("reason", alignment.reason)
    n = alignment.num_frames
    columns: list[tuple[str, npt.NDArray[np.int64]]] = [("time_ns", alignment.time_ns)]
    for name in alignment.index:
        columns.append((f"streams/{name}/index", alignment.index[name]))
        columns.append((f"streams/{name}/error_ns", alignment.error_ns[name]))
    for path, values in columns:
        ds = group[path]
        ds.resize((n,))
        ds[:] = values


def _extend(ds: Any, start: int, stop: int, values: npt.NDArray[Any]) -> None:
    ds.resize(stop, axis=0)
    ds[start:stop] = values


def _pixel_format(spec: ImageStreamSpec) -> str:
    if spec.dtype == "uint16":
        return "mono16"
    return "rgb8" if spec.channels == 3 else "mono8"


def _success_text(success: bool | None) -> str:
    return "unknown" if success is None else ("true" if success else "false")


def _lower_priority(nice: int) -> None:
    """Run the calling thread ``nice`` steps below its process (Linux schedules threads one by one)."""
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority on this platform
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_error(exc: BaseException, path: Path, doing: str) -> EpisodeWriteError:
    """Turn an OS/HDF5 failure into a message that says what happened to the data."""
    if isinstance(exc, EpisodeWriteError):
        return exc
    errno = getattr(exc, "errno", None)
    if errno is None:
        match = _ERRNO_RE.search(str(exc))
        errno = int(match.group(1)) if match else None
    keep = (
        f"Earlier episodes are intact; what was flushed before the failure stays in {path} "
        f"(turn it into an episode with `tg recover {path}`)."
    )
    if errno in _FULL_ERRNOS:
        return StorageFullError(f"disk full while {doing} in {path} ({os.strerror(errno)}). {keep}")
    return EpisodeWriteError(f"writing {path} failed while {doing}: {exc}. {keep}")
