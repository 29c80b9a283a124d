"""EpisodeReader: streams, half-open time ranges, aligned frames, lazily decoded images.

It opens finished episodes, files still being recorded and files whose writer
died, always read-only and in SWMR mode, so it never takes a live file over.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import h5py
import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._errors import (
    CorruptEpisodeError,
    EpisodeError,
    NotAnEpisodeError,
    StreamSpecError,
    UnknownStreamError,
    UnsupportedFormatVersionError,
)
from episodes._images import decode_frame
from episodes._journal import open_overlaid
from episodes._reader_frames import FrameBytes
from episodes._schema import Provenance
from episodes._spec import (
    ArrayStreamSpec,
    CameraCalibration,
    ImageEncoding,
    ImageStreamSpec,
    ImportOrigin,
    JsonValue,
    LabelChange,
    ReviewState,
    RobotInfo,
    Role,
    StreamKind,
    StreamSpec,
)
from episodes._swmr import open_swmr

__all__ = [
    "AlignedFrame",
    "AlignedInfo",
    "AlignedView",
    "AnnotationGroup",
    "ArraySamples",
    "EncodedImage",
    "EpisodeMetadata",
    "EpisodeReader",
    "FrameBytes",
    "FrameIndex",
    "ImageSamples",
    "Provenance",
    "StreamInfo",
    "check_format",
    "open_episode",
]

Int64Array = npt.NDArray[np.int64]
_OPEN_ATTEMPTS = 3
_OPEN_RETRY_S = 0.05
# What h5py and numpy raise on a damaged file: HDF5 errors (OSError, RuntimeError, KeyError for
# an object that is not there), values of the wrong type or shape (ValueError, IndexError).
_DAMAGE = (OSError, RuntimeError, KeyError, ValueError, IndexError)
P = ParamSpec("P")
R = TypeVar("R")


def _damage_is_corrupt(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn what a damaged file makes h5py raise in a reader method into a CorruptEpisodeError.

    The message names the file and ``what`` was read (with the method's first argument,
    a stream or annotation name, if it has one) and what to do next.
    """

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except EpisodeError:
                raise
            except _DAMAGE as exc:
                reader = args[0]
                if not isinstance(reader, EpisodeReader):
                    raise
                named = args[1] if len(args) > 1 and isinstance(args[1], str) else None
                raise reader.damaged(f"{what} {named!r}" if named else what, exc) from exc

        return wrapper

    return decorate


@dataclass(frozen=True)
class EpisodeMetadata:
    """The episode's labels and provenance: the single source of truth for them."""

    format_version: int
    episode_id: str
    dataset: str
    task: str
    instruction: str
    operator: str
    station: str
    source: str
    software_version: str
    robot: RobotInfo
    recorded_at: str
    start_time_ns: int
    end_time_ns: int
    status: str
    success: bool | None
    notes: str
    abort_reason: str
    extra: Mapping[str, JsonValue]
    content_digest: str | None = None
    """SHA-256 (hex) of the recorded content (datasets/FORMAT.md, "Content identity"); None for
    files still recording and files written before digests existed (``episodes.content_digest``)."""
    task_id: str = ""
    """The site task the episode was recorded for ("" if none; ``episodes.set_labels``)."""
    review: ReviewState | None = None
    """The last review verdict (``episodes.set_review``); None if never reviewed."""
    label_history: tuple[LabelChange, ...] = ()
    """Every relabelling since recording (``episodes.set_labels``), oldest first."""
    origin: ImportOrigin | None = None
    """Where an imported episode came from (``tg import``); None for our own recordings."""

    @property
    def duration_s(self) -> float:
        if self.start_time_ns < 0 or self.end_time_ns < 0:
            return 0.0
        return (self.end_time_ns - self.start_time_ns) / 1e9


@dataclass(frozen=True)
class StreamInfo:
    """A stream's declaration and what was recorded in it."""

    spec: StreamSpec
    count: int
    first_stamp_ns: int
    last_stamp_ns: int
    calibration: CameraCalibration | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def is_image(self) -> bool:
        return isinstance(self.spec, ImageStreamSpec)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if isinstance(self.spec, ImageStreamSpec):
            return self.spec.frame_shape
        return (self.spec.dim,)

    @property
    def duration_s(self) -> float:
        return (self.last_stamp_ns - self.first_stamp_ns) / 1e9 if self.count > 1 else 0.0

    @property
    def measured_rate_hz(self) -> float:
        return (self.count - 1) / self.duration_s if self.duration_s > 0 else 0.0


@dataclass(frozen=True)
class ArraySamples:
    """Samples of an array stream: ``data[i]`` was stamped ``stamp_ns[i]``."""

    stream: str
    stamp_ns: Int64Array
    arrival_ns: Int64Array
    data: npt.NDArray[Any]
    first_index: int

    def __len__(self) -> int:
        return int(self.stamp_ns.shape[0])


@dataclass(frozen=True)
class EncodedImage:
    """One stored frame; :meth:`decode` returns RGB (H, W, 3), mono (H, W) or uint16 depth."""

    data: bytes
    channels: int
    where: str

    def decode(self) -> npt.NDArray[Any]:
        return decode_frame(self.data, channels=self.channels, where=self.where)


@dataclass(frozen=True)
class ImageSamples:
    """Frames of a camera stream, still encoded; decode one with ``images[i].decode()``."""

    stream: str
    stamp_ns: Int64Array
    arrival_ns: Int64Array
    images: tuple[EncodedImage, ...]
    first_index: int

    def __len__(self) -> int:
        return int(self.stamp_ns.shape[0])

    def decode_all(self) -> npt.NDArray[Any]:
        """All frames decoded into one (N, H, W[, C]) array."""
        return np.stack([image.decode() for image in self.images]) if self.images else np.empty(0)


@dataclass(frozen=True)
class AlignedView:
    """The derived, fixed-rate view: see datasets/FORMAT.md, "Aligned view"."""

    rate_hz: float
    t0_ns: int
    clock: str
    required: tuple[str, ...]
    time_ns: Int64Array
    index: Mapping[str, Int64Array]
    error_ns: Mapping[str, Int64Array]
    reason: str

    @property
    def num_frames(self) -> int:
        return int(self.time_ns.shape[0])


@dataclass(frozen=True)
class AlignedFrame:
    """Grid tick ``k``: each stream's latest sample at or before ``time_ns``.

    ``values`` holds array streams' rows, ``images`` the camera frames (decode
    on demand). A stream that had no sample yet (only possible for streams not
    required by the view) is absent from both and has index -1.
    """

    k: int
    time_ns: int
    sample_index: Mapping[str, int]
    error_ns: Mapping[str, int]
    values: Mapping[str, npt.NDArray[Any]] = field(default_factory=dict)
    images: Mapping[str, EncodedImage] = field(default_factory=dict)


@dataclass(frozen=True)
class AlignedInfo:
    """The aligned view's attributes (no arrays): what it was computed from and how long it is."""

    rate_hz: float
    t0_ns: int
    clock: str
    required: tuple[str, ...]
    num_frames: int
    reason: str


@dataclass(frozen=True)
class FrameIndex:
    """Where a camera stream's frames lie in its ``frames`` bytes: frame i is ``[offsets[i], +sizes[i])``."""

    offsets: Int64Array
    sizes: Int64Array

    def __len__(self) -> int:
        return int(self.offsets.shape[0])


@dataclass(frozen=True)
class AnnotationGroup:
    """One group under ``/annotations``, read whole (annotations are small): attributes and datasets.

    ``group["name"]`` is a dataset's values; ``groups`` names the subgroups, read
    with ``EpisodeReader.annotation("<this>/<sub>")``. Attribute values are as HDF5
    stores them (str, numpy scalars and arrays).
    """

    name: str
    attrs: Mapping[str, Any]
    datasets: Mapping[str, npt.NDArray[Any]]
    groups: tuple[str, ...]

    def __contains__(self, key: object) -> bool:
        return key in self.datasets or key in self.groups

    def __getitem__(self, key: str) -> npt.NDArray[Any]:
        return self.datasets[key]


def open_episode(path: str | os.PathLike[str]) -> EpisodeReader:
    """Open an episode file for reading (also one being recorded, or interrupted).

    >>> import episodes
    >>> with episodes.open("datasets/demo/01J....h5") as ep:  # doctest: +SKIP
    ...     print(ep.metadata.task, list(ep.streams))
    """
    return EpisodeReader(path)


class EpisodeReader:
    """Read-only access to one episode file. Use as a context manager.

    The only way into an episode's HDF5 objects besides the writer: other modules
    use its public methods (metadata, streams, samples, frame bytes, annotations).
    Being that one gateway, it is over 300 lines; the work is in module functions.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._counts: dict[str, int] = {}
        self._frame_bytes: dict[str, FrameBytes] = {}
        self._origins: dict[str, int] = {}
        self._groups: dict[str, Any] = {}
        self._identity = _Verified.identity(self.path)  # before opening: a later write changes it
        self._fd: int | None = None
        # SWMR does not cover attribute rewrites: a reader that opens a file while its writer
        # finalises it (rewriting status, notes... in the global heap) can read a heap entry
        # mid-update and get h5py's "bad heap index". The writer is done within milliseconds.
        for attempt in range(_OPEN_ATTEMPTS):
            self._file = _open_h5(self.path)
            try:
                check_format(self._file, self.path)
                self._metadata = _metadata_of(self.root_attrs(), self.path)
                return
            except EpisodeError:
                self._file.close()
                raise
            except OSError as exc:
                self._file.close()
                if attempt + 1 == _OPEN_ATTEMPTS:
                    raise CorruptEpisodeError(
                        f"{self.path}: cannot read the episode's attributes ({exc}); if the episode "
                        "is still being recorded or finalised, open it again"
                    ) from exc
                time.sleep(_OPEN_RETRY_S)
            except (RuntimeError, KeyError, ValueError, IndexError) as exc:
                self._file.close()
                raise CorruptEpisodeError(
                    f"{self.path}: the episode's attributes cannot be read ({type(exc).__name__}: {exc}); "
                    "the file is damaged"
                ) from exc
            except BaseException:
                self._file.close()
                raise

    # ------------------------------------------------------------------ metadata

    @property
    def metadata(self) -> EpisodeMetadata:
        return self._metadata

    @property
    def is_partial(self) -> bool:
        """True for a file still being recorded or whose writer died."""
        return self.path.name.endswith(fmt.PARTIAL_SUFFIX)

    def damaged(self, what: str, exc: BaseException) -> CorruptEpisodeError:
        """The error for a part of this file that cannot be read: which file, which part, what next."""
        if self.is_partial:
            advice = (
                "if its recorder is still running, try again once it has finished; otherwise the file "
                "is damaged beyond what `tg recover` can rebuild: keep a copy and move it out of the dataset"
            )
        else:
            advice = "the file is damaged: restore it from a copy, or move it out of the dataset directory"
        return CorruptEpisodeError(
            f"{self.path}: {what} cannot be read ({type(exc).__name__}: {exc}); {advice}"
        )

    @property
    @_damage_is_corrupt("the provenance attributes")
    def provenance(self) -> Provenance:
        """Which process recorded the episode (recovery checks it is no longer running)."""
        a = self.root_attrs()
        return Provenance(a[fmt.ATTR_RECORDED_AT], a[fmt.ATTR_WRITER_HOST], a[fmt.ATTR_WRITER_PID])

    def root_attrs(self) -> dict[str, Any]:
        """Every root attribute datasets/FORMAT.md declares, decoded (``episodes._schema.ROOT_ATTRS``)."""
        return schema.read_attrs(self._file.attrs, schema.ROOT_ATTRS, f"{self.path}: root")

    @_damage_is_corrupt("stream")
    def stream_attrs(self, name: str) -> dict[str, Any]:
        """A stream's declared attributes, decoded (``episodes._schema.STREAM_ATTRS``)."""
        g = self._group(name)
        return schema.read_attrs(
            g.attrs, schema.stream_attr_decls(_is_image(g)), f"{self.path}: stream {name!r}"
        )

    @property
    @_damage_is_corrupt("the embodiment's URDF")
    def urdf(self) -> str:
        return schema.text(self._file[fmt.EMBODIMENT][fmt.URDF][()])

    # ------------------------------------------------------------------ streams

    @property
    @_damage_is_corrupt("the list of streams")
    def stream_names(self) -> tuple[str, ...]:
        return tuple(self._file[fmt.STREAMS].keys())

    @property
    def streams(self) -> dict[str, StreamInfo]:
        return {name: self.stream(name) for name in self.stream_names}

    @_damage_is_corrupt("stream")
    def spec(self, name: str) -> StreamSpec:
        """A stream's declaration, from attributes only (no sample is read)."""
        return _spec_from_group(name, self._group(name), self.path)

    @_damage_is_corrupt("stream")
    def stream(self, name: str) -> StreamInfo:
        g = self._group(name)
        count = self._count(g)
        stamps = g[fmt.STAMP_NS]
        first = int(stamps[0]) if count else 0
        last = int(stamps[count - 1]) if count else 0
        calibration = None
        if fmt.ATTR_CALIBRATION in g.attrs:
            calibration = _calibration_of(g.attrs[fmt.ATTR_CALIBRATION], f"{self.path}: stream {name!r}")
        return StreamInfo(
            spec=_spec_from_group(name, g, self.path),
            count=count,
            first_stamp_ns=first,
            last_stamp_ns=last,
            calibration=calibration,
        )

    def refresh(self) -> None:
        """See samples a live writer flushed since this reader opened the file."""
        self._counts.clear()
        self._frame_bytes.clear()
        self._origins.clear()
        for name in self.stream_names:
            for ds in self._group(name).values():
                ds.refresh()

    # ------------------------------------------------------------------ raw streams

    @_damage_is_corrupt("stream")
    def times(self, stream: str, clock: str = fmt.CLOCK_STAMP) -> Int64Array:
        """Every complete sample's source stamp (``clock="stamp"``) or arrival time, in one read."""
        g = self._group(stream)
        return np.asarray(g[_clock_dataset(clock)][: self._count(g)], dtype=np.int64)

    @_damage_is_corrupt("stream")
    def values(
        self, stream: str, start: int = 0, stop: int | None = None, *, dtype: npt.DTypeLike | None = None
    ) -> npt.NDArray[Any]:
        """An array stream's rows ``[start, stop)`` (default: all complete ones) in one read, as ``dtype``."""
        g = self._group(stream)
        if _is_image(g):
            raise UnknownStreamError(f"{self.path}: {stream!r} is a camera stream; it has frames, not values")
        n = self._count(g)
        stop = n if stop is None else min(stop, n)
        return np.asarray(g[fmt.DATA][start:stop], dtype=dtype)

    @_damage_is_corrupt("stream")
    def frame_index(self, stream: str) -> FrameIndex:
        """A camera stream's frame offsets and sizes in its frame bytes (complete frames only)."""
        g = self._image_group(stream)
        n = self._count(g)
        return FrameIndex(
            np.asarray(g[fmt.FRAME_OFFSET][:n], dtype=np.int64),
            np.asarray(g[fmt.FRAME_SIZE][:n], dtype=np.int64),
        )

    @_damage_is_corrupt("stream")
    def frame_bytes(self, stream: str) -> FrameBytes:
        """The one way to a camera stream's encoded frame bytes (see :class:`FrameBytes`)."""
        found = self._frame_bytes.get(stream)
        if found is None:
            g = self._image_group(stream)
            found = self._frame_bytes[stream] = FrameBytes(self.path, g[fmt.FRAMES], self._descriptor)
        return found

    @_damage_is_corrupt("stream")
    def read(
        self,
        stream: str,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        *,
        clock: str = fmt.CLOCK_STAMP,
        start_s: float | None = None,
        stop_s: float | None = None,
    ) -> ArraySamples | ImageSamples:
        """All samples with ``start <= t < stop`` (t: source stamp, or arrival time).

        The range is absolute (``start_ns``/``stop_ns``, int64 ns on that clock) or in
        seconds from the episode's start on that clock (``start_s``/``stop_s``; see
        :meth:`origin_ns`): ``read("joint_position", start_s=0, stop_s=2)`` is the first
        two seconds.
        """
        g = self._group(stream)
        start_ns, stop_ns = self._window(start_ns, stop_ns, start_s, stop_s, clock)
        first, stop = self._index_range(g, start_ns, stop_ns, clock)
        return self._read_rows(stream, g, first, stop)

    @_damage_is_corrupt("the first sample on clock")
    def origin_ns(self, clock: str = fmt.CLOCK_STAMP) -> int:
        """The episode's start on ``clock``: its earliest sample of any stream (-1 if it has none).

        On the arrival clock this is ``metadata.start_time_ns``; source stamps may be
        offset from arrivals (another machine's clock), so each clock has its own start.
        """
        if clock not in self._origins:
            dataset = _clock_dataset(clock)
            firsts = [int(g[dataset][0]) for g in map(self._group, self.stream_names) if self._count(g)]
            self._origins[clock] = min(firsts, default=-1)
        return self._origins[clock]

    def _window(
        self,
        start_ns: int | None,
        stop_ns: int | None,
        start_s: float | None,
        stop_s: float | None,
        clock: str,
    ) -> tuple[int | None, int | None]:
        """The absolute range of a read given absolutely or in seconds from the start."""
        if start_s is None and stop_s is None:
            return start_ns, stop_ns
        if start_ns is not None or stop_ns is not None:
            raise EpisodeError(
                f"{self.path}: give the range in ns (start_ns/stop_ns, absolute) "
                "or in seconds from the start (start_s/stop_s), not both"
            )
        origin = self.origin_ns(clock)
        return (
            None if start_s is None else origin + round(start_s * 1e9),
            None if stop_s is None else origin + round(stop_s * 1e9),
        )

    def iter_samples(
        self,
        stream: str,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        *,
        clock: str = fmt.CLOCK_STAMP,
        max_rows: int = 4096,
        start_s: float | None = None,
        stop_s: float | None = None,
    ) -> Iterator[ArraySamples | ImageSamples]:
        """Like :meth:`read`, but in blocks of at most ``max_rows`` samples, for long episodes."""
        try:
            g = self._group(stream)
            start_ns, stop_ns = self._window(start_ns, stop_ns, start_s, stop_s, clock)
            first, stop = self._index_range(g, start_ns, stop_ns, clock)
            for begin in range(first, stop, max(1, max_rows)):
                yield self._read_rows(stream, g, begin, min(stop, begin + max_rows))
        except EpisodeError:
            raise
        except _DAMAGE as exc:
            raise self.damaged(f"stream {stream!r}", exc) from exc

    @_damage_is_corrupt("stream")
    def image(self, stream: str, index: int) -> EncodedImage:
        """Frame ``index`` of a camera stream, still encoded."""
        g = self._group(stream)
        samples = self._read_rows(stream, g, index, index + 1)
        if not isinstance(samples, ImageSamples) or len(samples) != 1:
            raise UnknownStreamError(f"{self.path}: {stream!r} has no frame {index}")
        return samples.images[0]

    # ------------------------------------------------------------------ aligned view, annotations

    @property
    @_damage_is_corrupt("the aligned view's attributes")
    def aligned_info(self) -> AlignedInfo:
        """The aligned view's attributes, without reading its arrays."""
        a = schema.read_attrs(
            self._file[fmt.ALIGNED].attrs, schema.ALIGNED_ATTRS, f"{self.path}: aligned view"
        )
        return AlignedInfo(
            rate_hz=a[fmt.ATTR_RATE_HZ],
            t0_ns=a[fmt.ATTR_T0_NS],
            clock=a[fmt.ATTR_CLOCK],
            required=a[fmt.ATTR_REQUIRED],
            num_frames=a[fmt.ATTR_NUM_FRAMES],
            reason=a[fmt.ATTR_REASON],
        )

    @property
    @_damage_is_corrupt("the aligned view")
    def aligned(self) -> AlignedView:
        view = _read_aligned(self._file[fmt.ALIGNED], self.aligned_info, self.path)
        if self._identity is not None and self._identity in _VERIFIED.aligned:
            return view
        for name, index in view.index.items():
            # An index past a stream's samples would make every consumer fail later (export: IndexError).
            count = self._readable_count(name)
            if count is not None and index.size and (int(index.max()) >= count or int(index.min()) < -1):
                raise CorruptEpisodeError(
                    f"{self.path}: the aligned view's index of stream {name!r} points outside its "
                    f"{count} samples; recompute the view: tg realign {self.path} --rate {view.rate_hz:g}"
                )
        _VERIFIED.remember_aligned(self._identity)
        return view

    def iter_aligned(
        self,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        *,
        streams: Sequence[str] | None = None,
        block: int = 256,
    ) -> Iterator[AlignedFrame]:
        """Aligned frames with ``start_ns <= time_ns < stop_ns``, read in contiguous blocks."""
        view = self.aligned
        try:
            yield from self._aligned_blocks(view, streams, start_ns, stop_ns, block)
        except EpisodeError:
            raise
        except _DAMAGE as exc:
            raise self.damaged("the streams of the aligned view", exc) from exc

    def _aligned_blocks(
        self,
        view: AlignedView,
        streams: Sequence[str] | None,
        start_ns: int | None,
        stop_ns: int | None,
        block: int,
    ) -> Iterator[AlignedFrame]:
        names = list(streams) if streams is not None else list(view.index)
        for name in names:
            if name not in view.index:
                raise UnknownStreamError(
                    f"{self.path}: no stream {name!r} in the aligned view; streams: {', '.join(view.index)}"
                )
        lo = 0 if start_ns is None else int(np.searchsorted(view.time_ns, start_ns, side="left"))
        hi = view.num_frames if stop_ns is None else int(np.searchsorted(view.time_ns, stop_ns, side="left"))
        for begin in range(lo, hi, block):
            end = min(hi, begin + block)
            rows: dict[str, ArraySamples | ImageSamples | None] = {}
            for name in names:
                idx = view.index[name][begin:end]
                valid = idx[idx >= 0]
                # One contiguous read per stream and block: h5py's fancy indexing is far slower.
                rows[name] = (
                    self._read_rows(name, self._group(name), int(valid.min()), int(valid.max()) + 1)
                    if valid.size
                    else None
                )
            yield from (_aligned_frame(view, names, rows, k) for k in range(begin, end))

    @property
    @_damage_is_corrupt("the annotations")
    def annotations(self) -> tuple[str, ...]:
        """Names of the groups under ``/annotations``."""
        kind = self._file.get(fmt.ANNOTATIONS, getclass=True)
        if kind is None:
            return ()
        if kind is not h5py.Group:
            raise CorruptEpisodeError(f"{self.path}: /annotations is not a group; the file is damaged")
        return tuple(self._file[fmt.ANNOTATIONS].keys())

    @_damage_is_corrupt("annotation")
    def annotation(self, name: str) -> AnnotationGroup | None:
        """The group ``/annotations/<name>`` (``name`` may hold ``/``), or None if it is not there."""
        group = self._file.get(f"{fmt.ANNOTATIONS}/{name}")
        if group is None:
            return None
        if not isinstance(group, h5py.Group):
            raise CorruptEpisodeError(f"{self.path}: annotation {name!r} is not a group; the file is damaged")
        return _annotation_group(group, name)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        self._frame_bytes.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._file.close()

    def __enter__(self) -> EpisodeReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EpisodeReader({str(self.path)!r}, status={self._metadata.status!r})"

    # ------------------------------------------------------------------ internals

    def _group(self, name: str) -> Any:
        found = self._groups.get(name)
        if found is None:
            streams = self._file[fmt.STREAMS]
            if name not in streams:
                raise UnknownStreamError(
                    f"{self.path}: no stream {name!r}; streams: {', '.join(streams.keys())}"
                )
            found = streams[name]
            if not _VERIFIED.stream_ok(self._identity, name):
                _checked_stream_group(found, name, self.path)
                _VERIFIED.remember_stream(self._identity, name)
            self._groups[name] = found
        return found

    def _image_group(self, name: str) -> Any:
        g = self._group(name)
        if not _is_image(g):
            raise UnknownStreamError(f"{self.path}: {name!r} is not a camera stream; it has no frames")
        return g

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def _readable_count(self, name: str) -> int | None:
        """A stream's complete samples; None if it is not there or damaged (reported where it is read)."""
        if name not in self.stream_names:
            return None
        try:
            return self._count(self._group(name))
        except CorruptEpisodeError:
            return None

    def _count(self, g: Any) -> int:
        name = g.name
        if name not in self._counts:
            self._counts[name] = _count_complete_samples(g)
        return self._counts[name]

    def _index_range(self, g: Any, start_ns: int | None, stop_ns: int | None, clock: str) -> tuple[int, int]:
        n = self._count(g)
        if start_ns is None and stop_ns is None:
            return 0, n
        times = g[_clock_dataset(clock)][:n]
        first = 0 if start_ns is None else int(np.searchsorted(times, start_ns, side="left"))
        stop = n if stop_ns is None else int(np.searchsorted(times, stop_ns, side="left"))
        return first, max(first, stop)

    def _read_rows(self, name: str, g: Any, first: int, stop: int) -> ArraySamples | ImageSamples:
        stop = min(stop, self._count(g))
        first = max(0, min(first, stop))
        stamps = np.asarray(g[fmt.STAMP_NS][first:stop], dtype=np.int64)
        arrivals = np.asarray(g[fmt.ARRIVAL_NS][first:stop], dtype=np.int64)
        if not _is_image(g):
            return ArraySamples(name, stamps, arrivals, g[fmt.DATA][first:stop], first)
        images = _images_of(self.frame_bytes(name), g, name, first, stop) if stop > first else ()
        return ImageSamples(name, stamps, arrivals, images, first)


def _images_of(frames: FrameBytes, g: Any, name: str, first: int, stop: int) -> tuple[EncodedImage, ...]:
    """Frames ``[first, stop)`` of a camera stream, read in one piece."""
    if stop <= first:
        return ()
    offsets = g[fmt.FRAME_OFFSET][first:stop]
    sizes = g[fmt.FRAME_SIZE][first:stop]
    channels = int(g.attrs[fmt.ATTR_CHANNELS])
    base = int(offsets[0])
    blob = frames.read(base, int(offsets[-1] + sizes[-1]) - base).tobytes()
    return tuple(
        EncodedImage(
            blob[int(o) - base : int(o) - base + int(s)],
            channels,
            f"{frames.path}: stream {name!r} frame {first + j}",
        )
        for j, (o, s) in enumerate(zip(offsets, sizes, strict=False))
    )


def _read_aligned(g: Any, info: AlignedInfo, path: Path) -> AlignedView:
    n = info.num_frames
    index: dict[str, Int64Array] = {}
    error: dict[str, Int64Array] = {}
    for name, sg in g[fmt.ALIGNED_STREAMS].items():
        index[name] = np.asarray(sg[fmt.INDEX][:n], dtype=np.int64)
        error[name] = np.asarray(sg[fmt.ERROR_NS][:n], dtype=np.int64)
    short = [
        key
        for key, got in (("time_ns", g[fmt.TIME_NS]), *((f"streams/{k}", v) for k, v in index.items()))
        if got.shape[0] < n
    ]
    if n < 0 or short:
        raise CorruptEpisodeError(
            f"{path}: the aligned view has {n} ticks but {short or 'a negative count'} hold fewer values"
        )
    return AlignedView(
        rate_hz=info.rate_hz,
        t0_ns=info.t0_ns,
        clock=info.clock,
        required=info.required,
        time_ns=np.asarray(g[fmt.TIME_NS][:n], dtype=np.int64),
        index=index,
        error_ns=error,
        reason=info.reason,
    )


def _annotation_group(group: Any, name: str) -> AnnotationGroup:
    # getclass: the kind of each member without opening it (stats has one subgroup per stream).
    kinds = {key: group.get(key, getclass=True) for key in group}
    return AnnotationGroup(
        name=name,
        attrs=dict(group.attrs.items()),
        datasets={key: group[key][()] for key, cls in kinds.items() if cls is h5py.Dataset},
        groups=tuple(key for key, cls in kinds.items() if cls is h5py.Group),
    )


def _aligned_frame(
    view: AlignedView, names: Sequence[str], rows: Mapping[str, ArraySamples | ImageSamples | None], k: int
) -> AlignedFrame:
    values: dict[str, npt.NDArray[Any]] = {}
    images: dict[str, EncodedImage] = {}
    sample_index: dict[str, int] = {}
    errors: dict[str, int] = {}
    for name in names:
        i = int(view.index[name][k])
        sample_index[name] = i
        errors[name] = int(view.error_ns[name][k])
        got = rows[name]
        if i < 0 or got is None:
            continue
        if isinstance(got, ImageSamples):
            images[name] = got.images[i - got.first_index]
        else:
            values[name] = got.data[i - got.first_index]
    return AlignedFrame(
        k=k,
        time_ns=int(view.time_ns[k]),
        sample_index=sample_index,
        error_ns=errors,
        values=values,
        images=images,
    )


def _metadata_of(a: Mapping[str, Any], path: Path) -> EpisodeMetadata:
    """Root attributes (decoded through the schema) as the typed metadata.

    Fields named as an attribute take its value; the others are built from attributes here.
    """
    names = {f.name for f in dataclasses.fields(EpisodeMetadata)}
    values = {name: value for name, value in a.items() if name in names}
    success = a[fmt.ATTR_SUCCESS]
    if success not in (fmt.SUCCESS_TRUE, fmt.SUCCESS_FALSE, fmt.SUCCESS_UNKNOWN):
        raise CorruptEpisodeError(
            f"{path}: root attribute 'success' is {success!r}, not one of "
            f"{fmt.SUCCESS_TRUE!r}, {fmt.SUCCESS_FALSE!r}, {fmt.SUCCESS_UNKNOWN!r}"
        )
    try:
        extra = fmt.parse_json_attr(a[fmt.ATTR_EXTRA]) or {}
    except ValueError as exc:
        raise CorruptEpisodeError(f"{path}: root attribute {fmt.ATTR_EXTRA!r} is not JSON ({exc})") from exc
    if not isinstance(extra, dict):
        raise CorruptEpisodeError(f"{path}: root attribute {fmt.ATTR_EXTRA!r} is not a JSON object")
    values.update(
        robot=RobotInfo(
            profile=a["robot_profile"], model=a["robot_model"], joint_names=a["robot_joint_names"]
        ),
        success=fmt.parse_success(success),
        extra=extra,
        content_digest=a[fmt.ATTR_CONTENT_DIGEST] or None,
        task_id=a[fmt.ATTR_TASK_ID] or "",
        review=_review_of(a[fmt.ATTR_REVIEW], path),
        label_history=_label_history_of(a[fmt.ATTR_LABEL_HISTORY], path),
        origin=_origin_of(a[fmt.ATTR_IMPORT], path),
    )
    return EpisodeMetadata(**values)


def _review_of(value: str | None, path: Path) -> ReviewState | None:
    return _json_attr(
        value,
        path,
        fmt.ATTR_REVIEW,
        lambda parsed: ReviewState.from_json(parsed) if parsed is not None else None,
        "a review (JSON with state, reason, note, reviewer, at_ns",
        "; set it again with episodes.set_review",
    )


def _label_history_of(value: str | None, path: Path) -> tuple[LabelChange, ...]:
    def changes(parsed: Any) -> tuple[LabelChange, ...]:
        if parsed is not None and not isinstance(parsed, list):
            raise ValueError("not a JSON list")
        return tuple(LabelChange.from_json(entry) for entry in parsed or ())

    what = "a label history (a JSON list of changes, by, reason, at_ns"
    return _json_attr(value, path, fmt.ATTR_LABEL_HISTORY, changes, what)


def _origin_of(value: str | None, path: Path) -> ImportOrigin | None:
    return _json_attr(
        value,
        path,
        fmt.ATTR_IMPORT,
        lambda parsed: ImportOrigin.from_json(parsed) if parsed is not None else None,
        "an import origin (JSON with format, source, ...",
    )


def _json_attr(
    value: str | None, path: Path, attr: str, decode: Callable[[Any], R], what: str, advice: str = ""
) -> R:
    """A JSON root attribute decoded by ``decode``; damage is a CorruptEpisodeError naming it."""
    try:
        return decode(fmt.parse_json_attr(value))
    except (ValueError, AttributeError, StreamSpecError) as exc:
        raise CorruptEpisodeError(f"{path}: root attribute {attr!r} is not {what}: {exc}){advice}") from exc


def _calibration_of(value: Any, where: str) -> CameraCalibration | None:
    try:
        parsed = fmt.parse_json_attr(value)
        return CameraCalibration.from_json(parsed) if parsed else None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptEpisodeError(
            f"{where}: attribute {fmt.ATTR_CALIBRATION!r} is not a camera calibration ({exc})"
        ) from exc


def _clock_dataset(clock: str) -> str:
    if clock not in (fmt.CLOCK_STAMP, fmt.CLOCK_ARRIVAL):
        raise StreamSpecError(f"clock must be 'stamp' or 'arrival', got {clock!r}")
    return fmt.STAMP_NS if clock == fmt.CLOCK_STAMP else fmt.ARRIVAL_NS


def _count_complete_samples(g: Any) -> int:
    """Samples fully on disk: the shortest of the stream's datasets, as a crash may cut any."""
    n = min(g[fmt.STAMP_NS].shape[0], g[fmt.ARRIVAL_NS].shape[0])
    if not _is_image(g):
        return int(min(n, g[fmt.DATA].shape[0]))
    n = min(n, g[fmt.FRAME_OFFSET].shape[0], g[fmt.FRAME_SIZE].shape[0])
    if n == 0:
        return 0
    stored = g[fmt.FRAMES].shape[0]
    ends = g[fmt.FRAME_OFFSET][:n] + g[fmt.FRAME_SIZE][:n]
    return int(np.searchsorted(ends > stored, True))


def check_format(file: Any, path: Path) -> None:
    """Refuse an open HDF5 file that is not a version this reader knows of a Training Ground episode."""
    attrs = file.attrs
    if schema.text(attrs.get("format", "")) != fmt.FORMAT_NAME:
        raise NotAnEpisodeError(
            f"{path}: HDF5 file but not a Training Ground episode "
            f"(root attribute 'format' is not {fmt.FORMAT_NAME!r})"
        )
    try:
        version = schema.decode_attr(schema.ROOT_ATTRS[1], attrs.get("format_version", -1))
    except CorruptEpisodeError as exc:
        raise CorruptEpisodeError(f"{path}: root attribute 'format_version': {exc}") from None
    if version > fmt.FORMAT_VERSION:
        raise UnsupportedFormatVersionError(
            f"{path}: format version {version} is newer than this reader "
            f"(reads up to {fmt.FORMAT_VERSION}); upgrade training-ground"
        )
    missing = [g for g in (fmt.STREAMS, fmt.ALIGNED, fmt.EMBODIMENT) if g not in file]
    if version < 1 or missing:
        raise CorruptEpisodeError(
            f"{path}: episode lacks {missing or 'a valid format_version'}; "
            "the file is damaged or was cut short while being created"
        )


def _open_h5(path: Path) -> Any:
    if not path.exists():
        raise NotAnEpisodeError(f"{path}: no such file")
    if path.is_dir():
        raise NotAnEpisodeError(f"{path}: is a directory, not an episode file (use list_episodes)")
    # A finished file opens normally, which also checks that it is not cut short.
    # A recording in progress or interrupted one still says "open for writing" and
    # only opens in SWMR mode (which skips that check, as the file may be growing).
    partial = path.name.endswith(fmt.PARTIAL_SUFFIX)
    # An in-place update (annotations) that committed its journal: the episode is what the
    # journal makes of it, whatever part of it already reached the file (datasets/FORMAT.md).
    overlaid = None if partial else open_overlaid(path)
    if overlaid is not None:
        return overlaid
    message = ""
    for swmr in (True,) if partial else (False, True):
        try:
            opened = open_swmr(path) if swmr else h5py.File(path, "r")
        except (OSError, RuntimeError) as exc:
            message = str(exc)
            # An update may have committed after the check above and be writing onto the file now.
            overlaid = None if partial else open_overlaid(path)
            if overlaid is not None:
                return overlaid
            if "signature" in message:
                raise NotAnEpisodeError(f"{path}: not an HDF5 file, so not an episode") from None
            if "already open for write" not in message:
                break
        else:
            overlaid = None if partial else open_overlaid(path)
            if overlaid is None:
                return opened
            opened.close()  # same race: never keep a view of a half-written file
            return overlaid
    raise CorruptEpisodeError(f"{path}: HDF5 file is truncated or corrupt ({message})")


def _is_image(g: Any) -> bool:
    """A camera stream's group (frames, their index or image attributes), not an array stream's."""
    return fmt.FRAMES in g or fmt.FRAME_OFFSET in g or (fmt.DATA not in g and "encoding" in g.attrs)


class _Verified:
    """What this process already checked of finished files, by their identity on disk.

    A training worker reopens the same files again and again (a pickled dataset copy per
    batch): checking every stream group and the aligned view's indices on each open cost
    about as much as reading the samples. A finished episode changes only through a
    rewrite (realign, recover: a new inode) or an in-place update (a new mtime), either of
    which gives it a new identity; files still recording are never remembered.
    """

    _LIMIT = 4096

    def __init__(self) -> None:
        self.streams: dict[tuple[int, ...], set[str]] = {}
        self.aligned: set[tuple[int, ...]] = set()

    @staticmethod
    def identity(path: Path) -> tuple[int, ...] | None:
        if path.name.endswith(fmt.PARTIAL_SUFFIX):
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def stream_ok(self, identity: tuple[int, ...] | None, name: str) -> bool:
        return identity is not None and name in self.streams.get(identity, ())

    def remember_stream(self, identity: tuple[int, ...] | None, name: str) -> None:
        if identity is not None:
            if len(self.streams) >= self._LIMIT:
                self.streams.clear()
            self.streams.setdefault(identity, set()).add(name)

    def remember_aligned(self, identity: tuple[int, ...] | None) -> None:
        if identity is not None:
            if len(self.aligned) >= self._LIMIT:
                self.aligned.clear()
            self.aligned.add(identity)


_VERIFIED = _Verified()


def _checked_stream_group(g: Any, name: str, path: Path) -> Any:
    """``g`` if it holds every dataset the schema declares for its kind, 1-D integers (``data``: 2-D)."""
    if not isinstance(g, h5py.Group):
        raise CorruptEpisodeError(f"{path}: stream {name!r} is not a group; the file is damaged")
    kind = "image" if _is_image(g) else "array"
    for decl in schema.STREAM_DATASETS:
        if decl.applies not in ("all", kind):
            continue
        ds = g.get(decl.name)
        problem = ""
        if not isinstance(ds, h5py.Dataset):
            problem = "is missing" if ds is None else "is not a dataset"
        elif ds.ndim != (2 if decl.dtype is None else 1):
            problem = f"has {ds.ndim} dimension(s)"
        elif decl.dtype is not None and ds.dtype.kind not in "iu":
            problem = f"holds {ds.dtype}, not integers"
        if problem:
            raise CorruptEpisodeError(
                f"{path}: dataset {decl.name!r} of stream {name!r} {problem}; the file is damaged: "
                "restore it from a copy, or move it out of the dataset directory"
            )
    return g


def _spec_from_group(name: str, g: Any, path: Path) -> StreamSpec:
    is_image = _is_image(g)
    try:
        a = schema.read_attrs(g.attrs, schema.stream_attr_decls(is_image), f"{path}: stream {name!r}")
        rate = a[fmt.ATTR_RATE_HZ]
        common: dict[str, Any] = {
            "name": name,
            "kind": StreamKind(a["kind"]),
            "role": Role(a["role"]),
            "rate_hz": rate if np.isfinite(rate) else None,
            "required": a[fmt.ATTR_REQUIRED],
            "topic": a["topic"],
            "msg_type": a["msg_type"],
        }
        if is_image:
            return ImageStreamSpec(
                width=a["width"],
                height=a["height"],
                channels=a[fmt.ATTR_CHANNELS],
                encoding=ImageEncoding(a["encoding"]),
                quality=a["quality"],
                **common,
            )
        return ArrayStreamSpec(names=a["names"], units=a["units"], dtype=str(g[fmt.DATA].dtype), **common)
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptEpisodeError(f"{path}: stream {name!r} has a bad or missing attribute ({exc})") from exc
