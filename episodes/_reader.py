"""EpisodeReader: streams, half-open time ranges, aligned frames, lazily decoded images.

It opens finished episodes, files still being recorded and files whose writer
died, always read-only and in SWMR mode, so it never takes a live file over.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
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
from episodes._spec import (
    IMAGE_KINDS,
    ArrayStreamSpec,
    CameraCalibration,
    ImageEncoding,
    ImageStreamSpec,
    JsonValue,
    RobotInfo,
    Role,
    StreamKind,
    StreamSpec,
)

__all__ = [
    "AlignedFrame",
    "AlignedView",
    "ArraySamples",
    "EncodedImage",
    "EpisodeMetadata",
    "EpisodeReader",
    "ImageSamples",
    "StreamInfo",
    "check_format",
    "open_episode",
]

Int64Array = npt.NDArray[np.int64]
_OPEN_ATTEMPTS = 3
_OPEN_RETRY_S = 0.05
_METADATA_KEYS = (
    "format_version",
    "episode_id",
    "dataset",
    "task",
    "instruction",
    "operator",
    "station",
    "source",
    "software_version",
    "robot_profile",
    "robot_model",
    "robot_joint_names",
    "recorded_at",
    "start_time_ns",
    "end_time_ns",
    "status",
    "success",
    "notes",
    "abort_reason",
    "extra_json",
)


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


def open_episode(path: str | os.PathLike[str]) -> EpisodeReader:
    """Open an episode file for reading (also one being recorded, or interrupted).

    >>> import episodes
    >>> with episodes.open("datasets/demo/01J....h5") as ep:  # doctest: +SKIP
    ...     print(ep.metadata.task, list(ep.streams))
    """
    return EpisodeReader(path)


class EpisodeReader:
    """Read-only access to one episode file. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._counts: dict[str, int] = {}
        # SWMR does not cover attribute rewrites: a reader that opens a file while its writer
        # finalises it (rewriting status, notes... in the global heap) can read a heap entry
        # mid-update and get h5py's "bad heap index". The writer is done within milliseconds.
        for attempt in range(_OPEN_ATTEMPTS):
            self._file = _open_h5(self.path)
            try:
                self._check_format()
                self._metadata = self._read_metadata()
                return
            except OSError as exc:
                self._file.close()
                if isinstance(exc, EpisodeError):
                    raise
                if attempt + 1 == _OPEN_ATTEMPTS:
                    raise CorruptEpisodeError(
                        f"{self.path}: cannot read the episode's attributes ({exc}); if the episode "
                        "is still being recorded or finalised, open it again"
                    ) from exc
                time.sleep(_OPEN_RETRY_S)
            except BaseException:
                self._file.close()
                raise

    # ------------------------------------------------------------------ opening

    def _check_format(self) -> None:
        check_format(self._file, self.path)

    def _read_metadata(self) -> EpisodeMetadata:
        a = self._file.attrs
        missing = [key for key in _METADATA_KEYS if key not in a]
        if missing:
            raise CorruptEpisodeError(f"{self.path}: root attributes {missing} are missing")
        success_text = _text(a["success"])
        extra = fmt.parse_json_attr(a["extra_json"]) or {}
        return EpisodeMetadata(
            format_version=int(a["format_version"]),
            episode_id=_text(a["episode_id"]),
            dataset=_text(a["dataset"]),
            task=_text(a["task"]),
            instruction=_text(a["instruction"]),
            operator=_text(a["operator"]),
            station=_text(a["station"]),
            source=_text(a["source"]),
            software_version=_text(a["software_version"]),
            robot=RobotInfo(
                profile=_text(a["robot_profile"]),
                model=_text(a["robot_model"]),
                joint_names=_texts(a["robot_joint_names"]),
            ),
            recorded_at=_text(a["recorded_at"]),
            start_time_ns=int(a["start_time_ns"]),
            end_time_ns=int(a["end_time_ns"]),
            status=_text(a["status"]),
            success=None if success_text == "unknown" else success_text == "true",
            notes=_text(a["notes"]),
            abort_reason=_text(a["abort_reason"]),
            extra=extra,
        )

    # ------------------------------------------------------------------ properties

    @property
    def metadata(self) -> EpisodeMetadata:
        return self._metadata

    @property
    def is_partial(self) -> bool:
        """True for a file still being recorded or whose writer died."""
        return self.path.name.endswith(fmt.PARTIAL_SUFFIX)

    @property
    def stream_names(self) -> tuple[str, ...]:
        return tuple(self._file[fmt.STREAMS].keys())

    @property
    def streams(self) -> dict[str, StreamInfo]:
        return {name: self.stream(name) for name in self.stream_names}

    @property
    def urdf(self) -> str:
        return _text(self._file[fmt.EMBODIMENT]["urdf"][()])

    @property
    def annotations(self) -> tuple[str, ...]:
        group = self._file.get(fmt.ANNOTATIONS)
        return tuple(group.keys()) if group is not None else ()

    def stream(self, name: str) -> StreamInfo:
        g = self._group(name)
        count = self._count(g)
        stamps = g["stamp_ns"]
        first = int(stamps[0]) if count else 0
        last = int(stamps[count - 1]) if count else 0
        calibration = None
        if "calibration_json" in g.attrs:
            value = fmt.parse_json_attr(g.attrs["calibration_json"])
            calibration = CameraCalibration.from_json(value) if value else None
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
        for name in self.stream_names:
            g = self._file[fmt.STREAMS][name]
            for ds in g.values():
                ds.refresh()

    # ------------------------------------------------------------------ raw streams

    def read(
        self,
        stream: str,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        *,
        clock: str = fmt.CLOCK_STAMP,
    ) -> ArraySamples | ImageSamples:
        """All samples with ``start_ns <= t < stop_ns`` (t: source stamp, or arrival time)."""
        g = self._group(stream)
        first, stop = self._index_range(g, start_ns, stop_ns, clock)
        return self._read_rows(stream, g, first, stop)

    def iter_samples(
        self,
        stream: str,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        *,
        clock: str = fmt.CLOCK_STAMP,
        max_rows: int = 4096,
    ) -> Iterator[ArraySamples | ImageSamples]:
        """Like :meth:`read`, but in blocks of at most ``max_rows`` samples, for long episodes."""
        g = self._group(stream)
        first, stop = self._index_range(g, start_ns, stop_ns, clock)
        for begin in range(first, stop, max(1, max_rows)):
            yield self._read_rows(stream, g, begin, min(stop, begin + max_rows))

    def image(self, stream: str, index: int) -> EncodedImage:
        """Frame ``index`` of a camera stream, still encoded."""
        g = self._group(stream)
        samples = self._read_rows(stream, g, index, index + 1)
        if not isinstance(samples, ImageSamples) or len(samples) != 1:
            raise UnknownStreamError(f"{self.path}: {stream!r} has no frame {index}")
        return samples.images[0]

    # ------------------------------------------------------------------ aligned view

    @property
    def aligned(self) -> AlignedView:
        g = self._file[fmt.ALIGNED]
        n = int(g.attrs["num_frames"])
        time_ns = np.asarray(g["time_ns"][:n], dtype=np.int64)
        index: dict[str, Int64Array] = {}
        error: dict[str, Int64Array] = {}
        for name, sg in g["streams"].items():
            index[name] = np.asarray(sg["index"][:n], dtype=np.int64)
            error[name] = np.asarray(sg["error_ns"][:n], dtype=np.int64)
        return AlignedView(
            rate_hz=float(g.attrs["rate_hz"]),
            t0_ns=int(g.attrs["t0_ns"]),
            clock=_text(g.attrs["clock"]),
            required=_texts(g.attrs["required"]),
            time_ns=time_ns,
            index=index,
            error_ns=error,
            reason=_text(g.attrs["reason"]),
        )

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
            for k in range(begin, end):
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
                yield AlignedFrame(
                    k=k,
                    time_ns=int(view.time_ns[k]),
                    sample_index=sample_index,
                    error_ns=errors,
                    values=values,
                    images=images,
                )

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
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
        streams = self._file[fmt.STREAMS]
        if name not in streams:
            raise UnknownStreamError(f"{self.path}: no stream {name!r}; streams: {', '.join(streams.keys())}")
        return streams[name]

    def _count(self, g: Any) -> int:
        name = g.name
        if name not in self._counts:
            self._counts[name] = _count_complete_samples(g)
        return self._counts[name]

    def _index_range(self, g: Any, start_ns: int | None, stop_ns: int | None, clock: str) -> tuple[int, int]:
        n = self._count(g)
        if start_ns is None and stop_ns is None:
            return 0, n
        if clock not in (fmt.CLOCK_STAMP, fmt.CLOCK_ARRIVAL):
            raise StreamSpecError(f"clock must be 'stamp' or 'arrival', got {clock!r}")
        times = g["stamp_ns" if clock == fmt.CLOCK_STAMP else "arrival_ns"][:n]
        first = 0 if start_ns is None else int(np.searchsorted(times, start_ns, side="left"))
        stop = n if stop_ns is None else int(np.searchsorted(times, stop_ns, side="left"))
        return first, max(first, stop)

    def _read_rows(self, name: str, g: Any, first: int, stop: int) -> ArraySamples | ImageSamples:
        stop = min(stop, self._count(g))
        first = max(0, min(first, stop))
        stamps = np.asarray(g["stamp_ns"][first:stop], dtype=np.int64)
        arrivals = np.asarray(g["arrival_ns"][first:stop], dtype=np.int64)
        if "data" in g:
            return ArraySamples(name, stamps, arrivals, g["data"][first:stop], first)
        offsets = g["frame_offset"][first:stop]
        sizes = g["frame_size"][first:stop]
        channels = int(g.attrs["channels"])
        images: tuple[EncodedImage, ...] = ()
        if stop > first:
            base = int(offsets[0])
            blob = g["frames"][base : int(offsets[-1] + sizes[-1])].tobytes()
            images = tuple(
                EncodedImage(
                    blob[int(o) - base : int(o) - base + int(s)],
                    channels,
                    f"{self.path}: stream {name!r} frame {first + j}",
                )
                for j, (o, s) in enumerate(zip(offsets, sizes, strict=False))
            )
        return ImageSamples(name, stamps, arrivals, images, first)


def _count_complete_samples(g: Any) -> int:
    """Samples fully on disk: the shortest of the stream's datasets, as a crash may cut any."""
    n = min(g["stamp_ns"].shape[0], g["arrival_ns"].shape[0])
    if "data" in g:
        return int(min(n, g["data"].shape[0]))
    n = min(n, g["frame_offset"].shape[0], g["frame_size"].shape[0])
    if n == 0:
        return 0
    stored = g["frames"].shape[0]
    ends = g["frame_offset"][:n] + g["frame_size"][:n]
    return int(np.searchsorted(ends > stored, True))


def check_format(file: Any, path: Path) -> None:
    """Refuse an open HDF5 file that is not a version this reader knows of a Training Ground episode."""
    attrs = file.attrs
    if _text(attrs.get("format", "")) != fmt.FORMAT_NAME:
        raise NotAnEpisodeError(
            f"{path}: HDF5 file but not a Training Ground episode "
            f"(root attribute 'format' is not {fmt.FORMAT_NAME!r})"
        )
    version = int(attrs.get("format_version", -1))
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
    attempts = [{"swmr": True, "libver": "latest"}] if partial else [{}, {"swmr": True, "libver": "latest"}]
    message = ""
    for options in attempts:
        try:
            opened = h5py.File(path, "r", **options)
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


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(_text(v) for v in np.atleast_1d(value))


def _spec_from_group(name: str, g: Any, path: Path) -> StreamSpec:
    try:
        kind = StreamKind(_text(g.attrs["kind"]))
        role = Role(_text(g.attrs["role"]))
        rate = float(g.attrs["rate_hz"])
        common: dict[str, Any] = {
            "role": role,
            "rate_hz": rate if np.isfinite(rate) else None,
            "required": bool(g.attrs["required"]),
            "topic": _text(g.attrs["topic"]),
            "msg_type": _text(g.attrs["msg_type"]),
        }
        if kind in IMAGE_KINDS:
            return ImageStreamSpec(
                name=name,
                kind=kind,
                width=int(g.attrs["width"]),
                height=int(g.attrs["height"]),
                channels=int(g.attrs["channels"]),
                encoding=ImageEncoding(_text(g.attrs["encoding"])),
                quality=int(g.attrs["quality"]),
                **common,
            )
        return ArrayStreamSpec(
            name=name,
            kind=kind,
            names=_texts(g.attrs["names"]),
            units=_texts(g.attrs["units"]),
            dtype=str(g["data"].dtype),
            **common,
        )
    except (KeyError, ValueError) as exc:
        raise CorruptEpisodeError(f"{path}: stream {name!r} has a bad or missing attribute ({exc})") from exc
