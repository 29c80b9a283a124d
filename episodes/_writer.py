"""EpisodeWriter: records one episode into one HDF5 file while it happens.

Why it is built this way (see datasets/FORMAT.md for the layout itself):

* HDF5's SWMR mode keeps the file readable after a ``kill -9``, but forbids
  creating datasets or attributes once it is on. So every dataset and attribute,
  the aligned view's included, is created when the writer opens, from the one
  declaration of the layout (:mod:`episodes._schema`); recording only extends
  datasets and rewrites attribute values.
* The caller's thread (a ROS callback, a simulator loop) only copies a sample
  into a chunk-sized block; a background thread (:mod:`episodes._writer_io`)
  writes full blocks, and every ``flush_interval_s`` also the partly filled
  ones, then flushes the file: at most that much recorded data is lost if the
  process dies. It also hashes what it writes, for the content digest.
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
import dataclasses
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes import _schema as schema
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
from episodes._schema_digest import combine_digest, identity
from episodes._spec import (
    ArrayStreamSpec,
    CameraCalibration,
    EpisodeInfo,
    ImageStreamSpec,
    JsonValue,
    StreamSpec,
)
from episodes._storage import FULL_ERRNOS, error_number
from episodes._writer_io import WriterIO, WriterStream

if TYPE_CHECKING:
    from typing_extensions import TypedDict, Unpack

__all__ = ["EpisodeWriter", "WriterOptions", "write_alignment"]


@dataclass(frozen=True)
class WriterOptions:
    """How to record, beyond the streams, the episode info and the aligned rate; every field optional.

    ``align_clock``/``required``: what the aligned view is computed on (default: source
    stamps; the streams whose spec says ``required``). ``episode_id`` (default: a new
    ULID), ``urdf``, ``calibrations`` (per camera), ``provenance`` (default: this
    process, now; recovery passes the original's). ``flush_interval_s``: at most this
    much data is lost on a crash. ``encoder_threads``, ``frames_in_flight`` (default 6
    per thread), ``encoder_nice``: image encoding and its back-pressure. ``fsync``:
    make the final file durable. ``clock``: arrival times when a caller gives none.
    """

    align_clock: str = fmt.CLOCK_STAMP
    required: Sequence[str] | None = None
    episode_id: str | None = None
    urdf: str | None = None
    calibrations: Mapping[str, CameraCalibration] | None = None
    flush_interval_s: float = 1.0
    encoder_threads: int = 2
    frames_in_flight: int | None = None
    encoder_nice: int = 0
    fsync: bool = True
    clock: Callable[[], int] | None = None
    provenance: schema.Provenance | None = None


if TYPE_CHECKING:

    class WriterKeywords(TypedDict, total=False):
        """The fields of :class:`WriterOptions` as keywords of ``EpisodeWriter(...)``."""

        align_clock: str
        required: Sequence[str] | None
        episode_id: str | None
        urdf: str | None
        calibrations: Mapping[str, CameraCalibration] | None
        flush_interval_s: float
        encoder_threads: int
        frames_in_flight: int | None
        encoder_nice: int
        fsync: bool
        clock: Callable[[], int] | None
        provenance: schema.Provenance | None


class EpisodeWriter:
    """Record one episode, sample by sample, into ``<dataset_dir>/<episode_id>.h5``.

    Use it as a context manager: leaving the block normally finalises the episode
    (aligned view, ``status=complete``); an exception inside the block finalises it
    with ``status=aborted`` and re-raises. :meth:`discard` throws the episode away.
    How to record (flush interval, encoders, episode id...) is a :class:`WriterOptions`,
    given as ``options=`` or as its fields' keywords.

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
        options: WriterOptions | None = None,
        **keywords: Unpack[WriterKeywords],
    ) -> None:
        opts = dataclasses.replace(options or WriterOptions(), **keywords)
        self._required = _check_declaration(streams, aligned_rate_hz, opts)
        self.episode_id = opts.episode_id or new_episode_id()
        directory = Path(dataset_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self.final_path = directory / f"{self.episode_id}{fmt.EPISODE_SUFFIX}"
        self.path = self.final_path.with_name(self.final_path.name + fmt.PARTIAL_SUFFIX)
        if self.final_path.exists():
            raise EpisodeExistsError(f"{self.final_path}: episode exists; refusing to overwrite it")
        if self.path.exists():
            raise EpisodeExistsError(f"{self.path}: partial episode exists; refusing to overwrite it")
        self._options = opts
        self._rate_hz = float(aligned_rate_hz)
        self._success: bool | None = None
        self._notes = info.notes
        self._extra: dict[str, JsonValue] = dict(info.extra)
        self._closed = False
        plan = schema.LayoutPlan(
            episode_id=self.episode_id,
            dataset=info.dataset or directory.name,
            info=info,
            streams=streams,
            required=self._required,
            aligned_rate_hz=self._rate_hz,
            align_clock=opts.align_clock,
            urdf=opts.urdf or "",
            calibrations=opts.calibrations or {},
            provenance=opts.provenance,
        )
        self._file, groups = _create_file(self.path, plan)
        self._streams = {
            spec.name: WriterStream(
                spec=spec,
                group=groups[spec.name],
                block_rows=schema.data_chunk_rows(spec) if isinstance(spec, ArrayStreamSpec) else 0,
            )
            for spec in streams
        }
        self._io = WriterIO(
            self._file,
            self._streams,
            name=self.episode_id[-6:],
            flush_interval_s=opts.flush_interval_s,
            encoder_threads=opts.encoder_threads,
            frames_in_flight=opts.frames_in_flight,
            encoder_nice=opts.encoder_nice,
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
            encode = functools.partial(encode_frame, _frame_of(spec, value), spec)
            self._io.submit_frame(st, stamp, arrival, encode, self._closed_error)
            return
        self._io.add_row(st, stamp, arrival, _rows_of(spec, value, 1)[0], self._closed_error)

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
        _check_encoded(spec, data)
        stamp, arrival = self._stamps(st, stamp_ns, arrival_ns)
        frame = np.frombuffer(data, dtype=np.uint8)
        self._io.queue_frame(st, stamp, arrival, frame, self._closed_error)

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
        rows = _rows_of(spec, values, stamps.shape[0], arrivals.shape)
        if stamps.shape[0] == 0:
            return
        _check_block_order(stream, stamps, st.last_stamp)
        self._io.add_rows(st, stamps, arrivals, rows, self._closed_error, wake=True)

    def set_calibration(self, camera: str, calibration: CameraCalibration) -> None:
        """Store a camera's intrinsics and mount, e.g. once its CameraInfo arrives."""
        st = self._stream(camera)
        if not st.is_image:
            raise StreamSpecError(f"stream {camera!r} is not a camera; only cameras have a calibration")
        self._io.queue_calibration(camera, calibration)

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

    def _stream(self, name: str) -> WriterStream:
        self._check_open()
        try:
            return self._streams[name]
        except KeyError:
            raise UnknownStreamError(
                f"{self.path.name}: no stream {name!r}; declared streams: {', '.join(self._streams)}"
            ) from None

    def _check_open(self) -> None:
        if self._closed or self._io.closing:
            raise self._closed_error()
        if self._io.error is not None:
            raise _write_error(self._io.error, self.path, "writing samples")

    def _closed_error(self) -> EpisodeError:
        if self._io.error is not None:
            return _write_error(self._io.error, self.path, "writing samples")
        return WriterClosedError(f"{self.path.name}: the writer is closed")

    def _stamps(self, st: WriterStream, stamp_ns: int, arrival_ns: int | None) -> tuple[int, int]:
        stamp = int(stamp_ns)
        if stamp < st.last_stamp:
            raise TimestampOrderError(
                f"stream {st.spec.name!r}: stamp {stamp} ns is earlier than the previous "
                f"sample's {st.last_stamp} ns"
            )
        if arrival_ns is not None:
            arrival = int(arrival_ns)
        elif self._options.clock is not None:
            arrival = int(self._options.clock())
        else:
            arrival = stamp
        return stamp, arrival

    def _stop_io(self) -> None:
        self._io.stop()

    def _abandon(self) -> None:
        self._stop_io()
        with contextlib.suppress(Exception):
            self._file.close()
        self._closed = True

    def _finish(self, status: str, reason: str) -> Path:
        if self._closed:
            raise WriterClosedError(f"{self.path.name}: the writer is already closed")
        self._stop_io()
        if self._io.error is not None:
            self._abandon()
            raise _write_error(self._io.error, self.path, "writing samples")
        try:
            self._write_final_attrs(status, reason)
            self._file.flush()
            self._file.close()
            if self._options.fsync:
                fmt.fsync_path(self.path)
            os.replace(self.path, self.final_path)
            if self._options.fsync:
                fmt.fsync_path(self.final_path.parent)
        # Disk-full fix: a failed File.flush() raises RuntimeError in h5py, not OSError.
        except (OSError, RuntimeError) as exc:
            self._abandon()
            raise _write_error(exc, self.path, "finalising the episode") from exc
        self._closed = True
        return self.final_path

    def _write_final_attrs(self, status: str, reason: str) -> None:
        streams = self._streams
        alignment = _alignment(streams, self._options.align_clock, self._rate_hz, self._required)
        write_alignment(self._file, alignment)
        attrs = self._file.attrs
        recorded = [s for s in streams.values() if s.written]
        attrs.modify("start_time_ns", np.int64(min((s.min_arrival for s in recorded), default=-1)))
        attrs.modify("end_time_ns", np.int64(max((s.max_arrival for s in recorded), default=-1)))
        attrs.modify(fmt.ATTR_SUCCESS, fmt.success_text(self._success))
        attrs.modify(fmt.ATTR_NOTES, self._notes)
        attrs.modify(fmt.ATTR_EXTRA, fmt.json_attr(self._extra))
        attrs.modify(fmt.ATTR_ABORT_REASON, reason)
        attrs.modify(fmt.ATTR_CONTENT_DIGEST, _content_digest(self._file, streams))
        # The status goes last: a file that says "complete" has everything before it.
        attrs.modify(fmt.ATTR_STATUS, status)


def _content_digest(f: Any, streams: Mapping[str, WriterStream]) -> str:
    """From what the I/O thread hashed and the attributes as they are now (datasets/FORMAT.md)."""
    # Only the attributes the digest covers: each attribute read costs HDF5 tens of microseconds.
    root = schema.read_attrs(f.attrs, identity(schema.ROOT_ATTRS), f"{f.filename}: root")
    urdf = schema.text(f[fmt.EMBODIMENT][fmt.URDF][()])
    per_stream = {
        name: (
            schema.read_attrs(st.group.attrs, identity(schema.stream_attr_decls(st.is_image)), name),
            st.hasher,
        )
        for name, st in streams.items()
    }
    return combine_digest(root, urdf, per_stream)


def _alignment(
    streams: Mapping[str, WriterStream], clock: str, rate_hz: float, required: Sequence[str]
) -> Alignment:
    # Read back rather than kept in RAM: memory stays flat however long the episode.
    dataset = fmt.STAMP_NS if clock == fmt.CLOCK_STAMP else fmt.ARRIVAL_NS
    stamps = {
        name: sortable_times(np.asarray(st.group[dataset][: st.written], dtype=np.int64))
        for name, st in streams.items()
    }
    return compute_alignment(stamps, rate_hz=rate_hz, required=required)


def _create_file(path: Path, plan: schema.LayoutPlan) -> tuple[Any, dict[str, Any]]:
    """The new partial file with its whole layout, in SWMR mode."""
    try:
        # "w-" creates exclusively, should another writer have won a race for the name.
        # Disk-full fix: no raw-data chunk cache (rdcc_nbytes=0). Every block then goes to the
        # OS when it is written, so ENOSPC/EFBIG surfaces at that write; with a cache, HDF5
        # (2.0) keeps the unwritable dirty chunk and segfaults when it later closes the
        # dataset (File.close, garbage collection or interpreter exit). No measurable cost in
        # benchmarks/bench_writer.py: the writer writes whole blocks, not single samples.
        f = h5py.File(path, "w-", libver="latest", rdcc_nbytes=0)
    except OSError as exc:
        raise _write_error(exc, path, "creating the episode file") from exc
    try:
        groups = schema.create_layout(f, plan)
        f.swmr_mode = True
        f.flush()
    # Disk-full fix: h5py raises RuntimeError, not OSError, when starting SWMR or flushing
    # fails (e.g. "Unable to start swmr writing (... errno = 28 ...)").
    except (OSError, RuntimeError) as exc:
        with contextlib.suppress(Exception):
            f.close()
        raise _write_error(exc, path, "creating the episode layout") from exc
    except BaseException:
        with contextlib.suppress(Exception):
            f.close()
        path.unlink(missing_ok=True)
        raise
    return f, groups


def _check_declaration(streams: Sequence[StreamSpec], rate_hz: float, opts: WriterOptions) -> tuple[str, ...]:
    """Refuse a declaration that cannot be recorded; returns the streams the aligned view requires."""
    if not streams:
        raise StreamSpecError("an episode needs at least one stream")
    names = [s.name for s in streams]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise StreamSpecError(f"stream names repeat: {dupes}")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise StreamSpecError(f"aligned_rate_hz must be a positive number, got {rate_hz}")
    if opts.align_clock not in (fmt.CLOCK_STAMP, fmt.CLOCK_ARRIVAL):
        raise StreamSpecError(f"align_clock must be 'stamp' or 'arrival', got {opts.align_clock!r}")
    wanted = (
        tuple(opts.required) if opts.required is not None else tuple(s.name for s in streams if s.required)
    )
    if not wanted:
        raise StreamSpecError("at least one stream must be required: the aligned view starts from them")
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise StreamSpecError(f"required streams {unknown} are not declared (declared: {names})")
    if not opts.flush_interval_s > 0:
        raise StreamSpecError(f"flush_interval_s must be positive, got {opts.flush_interval_s}")
    if opts.frames_in_flight is not None and opts.frames_in_flight < 1:
        raise StreamSpecError(f"frames_in_flight must be at least 1, got {opts.frames_in_flight}")
    return wanted


def _frame_of(spec: ImageStreamSpec, value: npt.ArrayLike) -> npt.NDArray[Any]:
    frame = np.asarray(value)
    if frame.shape != spec.frame_shape or frame.dtype != np.dtype(spec.dtype):
        raise SampleError(
            f"stream {spec.name!r}: expected a {spec.dtype} frame of shape {spec.frame_shape}, "
            f"got {frame.dtype} {frame.shape}"
        )
    # Encoding happens later, on another thread: a frame the caller may still change is copied.
    return frame.copy() if frame.flags.writeable else frame


def _rows_of(
    spec: ArrayStreamSpec, values: npt.ArrayLike, count: int, arrivals: tuple[int, ...] | None = None
) -> npt.NDArray[Any]:
    """``values`` as ``count`` rows of the stream's dtype (``arrivals``: a block's arrival stamps' shape)."""
    what = "value is" if arrivals is None else "values are"
    try:
        rows = np.asarray(values, dtype=spec.dtype)
    except (TypeError, ValueError) as exc:
        raise SampleError(f"stream {spec.name!r}: {what} not numeric ({exc})") from exc
    if arrivals is None:  # one sample (append)
        if rows.shape != (spec.dim,) and not (rows.ndim == 0 and spec.dim == 1):
            raise SampleError(
                f"stream {spec.name!r}: expected {spec.dim} values ({', '.join(spec.names[:4])}"
                f"{', ...' if spec.dim > 4 else ''}), got shape {rows.shape}"
            )
        return rows.reshape(1, spec.dim)
    if rows.shape != (count, spec.dim) or arrivals != (count,):
        raise SampleError(
            f"stream {spec.name!r}: expected {count} rows of {spec.dim} values and "
            f"{count} arrival stamps, got values {rows.shape}, arrivals {arrivals}"
        )
    return rows


def _check_encoded(spec: ImageStreamSpec, data: bytes) -> None:
    header = read_header(data)
    if header is None:
        raise SampleError(f"stream {spec.name!r}: data is neither JPEG nor PNG ({len(data)} bytes)")
    expected = (spec.encoding, spec.width, spec.height, spec.channels)
    if (header.encoding, header.width, header.height, header.channels) != expected:
        raise SampleError(
            f"stream {spec.name!r}: expected {spec.encoding.value} "
            f"{spec.width}x{spec.height}x{spec.channels}, got {header.encoding.value} "
            f"{header.width}x{header.height}x{header.channels}"
        )


def _check_block_order(stream: str, stamps: npt.NDArray[np.int64], last_stamp: int) -> None:
    back = np.flatnonzero(np.diff(stamps) < 0)
    if stamps[0] < last_stamp or back.size:
        at = int(back[0]) + 1 if back.size else 0
        prev = int(stamps[at - 1]) if at else last_stamp
        raise TimestampOrderError(
            f"stream {stream!r}: stamp {int(stamps[at])} ns at row {at} is earlier than "
            f"the previous sample's {prev} ns"
        )


def write_alignment(
    f: Any, alignment: Alignment, *, clock: str | None = None, required: Sequence[str] | None = None
) -> None:
    """Store ``alignment`` in ``f``'s ``/aligned`` by resizing its datasets: it works in SWMR mode too.

    ``clock`` and ``required`` (what it was computed on) are rewritten when given,
    which SWMR does not allow (``tg realign`` works on a copy).
    """
    group = f[fmt.ALIGNED]
    group.attrs.modify(fmt.ATTR_RATE_HZ, float(alignment.rate_hz))
    group.attrs.modify(fmt.ATTR_T0_NS, np.int64(alignment.t0_ns))
    group.attrs.modify(fmt.ATTR_NUM_FRAMES, np.int64(alignment.num_frames))
    group.attrs.modify(fmt.ATTR_REASON, alignment.reason)
    changed = {fmt.ATTR_CLOCK: clock, fmt.ATTR_REQUIRED: required}
    schema.write_attrs(group, [d for d in schema.ALIGNED_ATTRS if changed.get(d.name) is not None], changed)
    n = alignment.num_frames
    columns: list[tuple[str, npt.NDArray[np.int64]]] = [(fmt.TIME_NS, alignment.time_ns)]
    for name in alignment.index:
        columns.append((f"{fmt.ALIGNED_STREAMS}/{name}/{fmt.INDEX}", alignment.index[name]))
        columns.append((f"{fmt.ALIGNED_STREAMS}/{name}/{fmt.ERROR_NS}", alignment.error_ns[name]))
    for path, values in columns:
        ds = group[path]
        ds.resize((n,))
        ds[:] = values


def _write_error(exc: BaseException, path: Path, doing: str) -> EpisodeWriteError:
    """Turn an OS/HDF5 failure into a message that says what happened to the data."""
    if isinstance(exc, EpisodeWriteError):
        return exc
    errno = error_number(exc)
    keep = (
        f"Earlier episodes are intact; what was flushed before the failure stays in {path} "
        f"(turn it into an episode with `tg recover {path}`)."
        if path.exists()
        else "Earlier episodes are intact; nothing of this episode was kept (its file could not be created)."
    )
    if errno in FULL_ERRNOS:
        return StorageFullError(f"disk full while {doing} in {path} ({os.strerror(errno)}). {keep}")
    return EpisodeWriteError(f"writing {path} failed while {doing}: {exc}. {keep}")
