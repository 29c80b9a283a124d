"""The episode file's layout, declared once (datasets/FORMAT.md is checked against it).

Every attribute and dataset the writer creates is listed here with its type and
default: :func:`create_layout` builds a new file from these declarations and
:func:`read_attrs` reads attributes back through them, so the writer, the reader,
the content digest (:mod:`episodes._schema_digest`) and the FORMAT.md test
(``tests/episodes/test_schema.py``) share one list. Only the writer and the
reader call into this module with h5py objects.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from episodes import _layout as fmt
from episodes._errors import CorruptEpisodeError, StreamSpecError
from episodes._spec import ArrayStreamSpec, CameraCalibration, EpisodeInfo, ImageStreamSpec, StreamSpec
from tg_base import __version__

__all__ = [
    "ALIGNED_ATTRS",
    "ALIGNED_DATASETS",
    "ALIGNED_STREAM_DATASETS",
    "ANNOTATION_ACTIVE_RANGE",
    "ANNOTATION_GRIPPER_EVENTS",
    "ANNOTATION_LABELS",
    "ANNOTATION_QA",
    "ANNOTATION_SEGMENTS",
    "ANNOTATION_STATS",
    "EMBODIMENT_DATASETS",
    "ROOT_ATTRS",
    "STREAM_ATTRS",
    "STREAM_DATASETS",
    "AttrDecl",
    "DatasetDecl",
    "LayoutPlan",
    "Provenance",
    "create_layout",
    "data_chunk_rows",
    "decode_attr",
    "read_attrs",
    "stream_attr_decls",
    "text",
    "texts",
    "write_attrs",
]

AttrType = Literal["str", "int", "float", "bool", "str[]"]
Applies = Literal["all", "array", "image"]

STAMP_CHUNK = 4096
FRAME_CHUNK_BYTES = 1024 * 1024
_ARRAY_BLOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class AttrDecl:
    """One attribute: its name, type, the value a new file starts with, and its role.

    ``identity``: covered by the content digest (datasets/FORMAT.md, "Content identity").
    ``optional``: added after version 1 first shipped, so older files may lack it.
    """

    name: str
    type: AttrType
    default: Any = None
    identity: bool = False
    optional: bool = False
    applies: Applies = "all"


@dataclass(frozen=True)
class DatasetDecl:
    """One dataset: 1-D and resizable unless ``dtype`` is None (then (N, D) of the stream's dtype)."""

    name: str
    dtype: str | None = "int64"
    chunk: int = STAMP_CHUNK
    applies: Applies = "all"


# Root attributes, in the order a new file gets them.
ROOT_ATTRS: tuple[AttrDecl, ...] = (
    AttrDecl("format", "str", fmt.FORMAT_NAME),
    AttrDecl("format_version", "int", fmt.FORMAT_VERSION),
    AttrDecl("episode_id", "str", ""),
    AttrDecl("dataset", "str", ""),
    AttrDecl("task", "str", "", identity=True),
    AttrDecl("instruction", "str", "", identity=True),
    AttrDecl("operator", "str", "", identity=True),
    AttrDecl("station", "str", "", identity=True),
    AttrDecl("source", "str", "", identity=True),
    AttrDecl("software_version", "str", f"training-ground {__version__}"),
    AttrDecl("robot_profile", "str", "", identity=True),
    AttrDecl("robot_model", "str", "", identity=True),
    AttrDecl(fmt.ATTR_RECORDED_AT, "str", ""),
    AttrDecl("start_time_ns", "int", -1),
    AttrDecl("end_time_ns", "int", -1),
    AttrDecl(fmt.ATTR_STATUS, "str", fmt.STATUS_RECORDING),
    AttrDecl(fmt.ATTR_SUCCESS, "str", fmt.SUCCESS_UNKNOWN),
    AttrDecl(fmt.ATTR_NOTES, "str", ""),
    AttrDecl(fmt.ATTR_ABORT_REASON, "str", ""),
    AttrDecl(fmt.ATTR_EXTRA, "str", "{}", identity=True),
    AttrDecl(fmt.ATTR_WRITER_HOST, "str", ""),
    AttrDecl(fmt.ATTR_WRITER_PID, "int", -1),
    AttrDecl("robot_joint_names", "str[]", (), identity=True),
    AttrDecl(fmt.ATTR_CONTENT_DIGEST, "str", "", optional=True),
    # Set on a finished episode through the update journal (a site's task and review verdict).
    AttrDecl(fmt.ATTR_TASK_ID, "str", "", optional=True),
    AttrDecl(fmt.ATTR_REVIEW, "str", "", optional=True),
    AttrDecl(fmt.ATTR_LABEL_HISTORY, "str", "", optional=True),
    # Written at creation by importers (tg import); older files lack it.
    AttrDecl(fmt.ATTR_IMPORT, "str", "", optional=True),
)

# Attributes of /streams/<name>.
STREAM_ATTRS: tuple[AttrDecl, ...] = (
    AttrDecl("kind", "str", identity=True),
    AttrDecl("role", "str", identity=True),
    AttrDecl(fmt.ATTR_RATE_HZ, "float", identity=True),
    AttrDecl(fmt.ATTR_REQUIRED, "bool"),  # a parameter of the aligned view, which recovery may change
    AttrDecl("topic", "str", identity=True),
    AttrDecl("msg_type", "str", identity=True),
    AttrDecl("names", "str[]", identity=True, applies="array"),
    AttrDecl("units", "str[]", identity=True, applies="array"),
    AttrDecl("width", "int", identity=True, applies="image"),
    AttrDecl("height", "int", identity=True, applies="image"),
    AttrDecl(fmt.ATTR_CHANNELS, "int", identity=True, applies="image"),
    AttrDecl("encoding", "str", identity=True, applies="image"),
    AttrDecl("quality", "int", identity=True, applies="image"),
    AttrDecl("pixel_format", "str", identity=True, applies="image"),
    AttrDecl("depth_scale_m", "float", identity=True, applies="image"),
    AttrDecl(fmt.ATTR_CALIBRATION, "str", "", identity=True, applies="image"),
)

# Datasets of /streams/<name>, in creation order (array streams: stamps, then data).
STREAM_DATASETS: tuple[DatasetDecl, ...] = (
    DatasetDecl(fmt.STAMP_NS),
    DatasetDecl(fmt.ARRIVAL_NS),
    DatasetDecl(fmt.DATA, dtype=None, applies="array"),
    DatasetDecl(fmt.FRAME_OFFSET, applies="image"),
    DatasetDecl(fmt.FRAME_SIZE, applies="image"),
    DatasetDecl(fmt.FRAMES, dtype="uint8", chunk=FRAME_CHUNK_BYTES, applies="image"),
)

ALIGNED_ATTRS: tuple[AttrDecl, ...] = (
    AttrDecl(fmt.ATTR_RATE_HZ, "float"),
    AttrDecl(fmt.ATTR_T0_NS, "int", 0),
    AttrDecl(fmt.ATTR_CLOCK, "str", fmt.CLOCK_STAMP),
    AttrDecl(fmt.ATTR_REQUIRED, "str[]", ()),
    AttrDecl(fmt.ATTR_NUM_FRAMES, "int", 0),
    AttrDecl(fmt.ATTR_REASON, "str", "recording"),
)
ALIGNED_DATASETS: tuple[DatasetDecl, ...] = (DatasetDecl(fmt.TIME_NS),)
ALIGNED_STREAM_DATASETS: tuple[DatasetDecl, ...] = (DatasetDecl(fmt.INDEX), DatasetDecl(fmt.ERROR_NS))
EMBODIMENT_DATASETS: tuple[DatasetDecl, ...] = (DatasetDecl(fmt.URDF, dtype="str"),)

# Groups of /annotations (written by the tools, episodes/QA.md; never by the recorder).
ANNOTATION_ACTIVE_RANGE = "active_range"
ANNOTATION_GRIPPER_EVENTS = "gripper_events"
ANNOTATION_SEGMENTS = "segments"
ANNOTATION_LABELS = "labels"
ANNOTATION_STATS = "stats"
ANNOTATION_QA = "qa"


@dataclass(frozen=True)
class Provenance:
    """Which process recorded an episode, and when (kept as it was by recovery)."""

    recorded_at: str
    writer_host: str
    writer_pid: int

    @classmethod
    def now(cls) -> Provenance:
        recorded_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return cls(recorded_at, socket.gethostname(), os.getpid())


@dataclass(frozen=True)
class LayoutPlan:
    """What a new episode file is created from (everything but the samples)."""

    episode_id: str
    dataset: str
    info: EpisodeInfo
    streams: Sequence[StreamSpec]
    required: tuple[str, ...]
    aligned_rate_hz: float
    align_clock: str
    urdf: str = ""
    calibrations: Mapping[str, CameraCalibration] = field(default_factory=dict)
    provenance: Provenance | None = None


def create_layout(f: Any, plan: LayoutPlan) -> dict[str, Any]:
    """Create every group, dataset and attribute of a new episode in ``f``; returns the stream groups.

    SWMR forbids creating anything later, so everything the writer will ever
    fill in (the aligned view, the final status, the digest) exists from here on.
    """
    unknown = sorted(
        set(plan.calibrations) - {s.name for s in plan.streams if isinstance(s, ImageStreamSpec)}
    )
    if unknown:
        raise StreamSpecError(f"calibrations given for streams that are not cameras: {unknown}")
    write_attrs(f, ROOT_ATTRS, _root_values(plan))
    emb = f.create_group(fmt.EMBODIMENT)
    emb.create_dataset(fmt.URDF, data=plan.urdf, dtype=h5py.string_dtype())
    f.create_group(fmt.ANNOTATIONS)
    root = f.create_group(fmt.STREAMS)
    groups = {}
    for spec in plan.streams:
        g = groups[spec.name] = root.create_group(spec.name)
        kind: Applies = "image" if isinstance(spec, ImageStreamSpec) else "array"
        values = _stream_values(spec, spec.name in plan.required, plan.calibrations.get(spec.name))
        write_attrs(g, stream_attr_decls(isinstance(spec, ImageStreamSpec)), values)
        for decl in STREAM_DATASETS:
            if decl.applies in ("all", kind):
                _create_dataset(g, decl, spec)
    aligned = f.create_group(fmt.ALIGNED)
    write_attrs(
        aligned,
        ALIGNED_ATTRS,
        {
            fmt.ATTR_RATE_HZ: plan.aligned_rate_hz,
            fmt.ATTR_CLOCK: plan.align_clock,
            fmt.ATTR_REQUIRED: plan.required,
        },
    )
    for decl in ALIGNED_DATASETS:
        _create_dataset(aligned, decl, None)
    per_stream = aligned.create_group(fmt.ALIGNED_STREAMS)
    for spec in plan.streams:
        g = per_stream.create_group(spec.name)
        for decl in ALIGNED_STREAM_DATASETS:
            _create_dataset(g, decl, None)
    return groups


def stream_attr_decls(is_image: bool) -> tuple[AttrDecl, ...]:
    """The attributes a camera stream's (``is_image``) or an array stream's group has."""
    kind = "image" if is_image else "array"
    return tuple(d for d in STREAM_ATTRS if d.applies in ("all", kind))


def _root_values(plan: LayoutPlan) -> dict[str, Any]:
    info = plan.info
    prov = plan.provenance or Provenance.now()
    return {
        "episode_id": plan.episode_id,
        "dataset": plan.dataset,
        "task": info.task,
        "instruction": info.instruction,
        "operator": info.operator,
        "station": info.station,
        "source": info.source,
        "robot_profile": info.robot.profile,
        "robot_model": info.robot.model,
        fmt.ATTR_RECORDED_AT: prov.recorded_at,
        fmt.ATTR_NOTES: info.notes,
        fmt.ATTR_EXTRA: fmt.json_attr(dict(info.extra)),
        fmt.ATTR_WRITER_HOST: prov.writer_host,
        fmt.ATTR_WRITER_PID: prov.writer_pid,
        "robot_joint_names": info.robot.joint_names,
        fmt.ATTR_IMPORT: fmt.json_attr(info.origin.to_json()) if info.origin is not None else "",
    }


def _stream_values(spec: StreamSpec, required: bool, calibration: CameraCalibration | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": spec.kind.value,
        "role": spec.role.value,
        fmt.ATTR_RATE_HZ: float(spec.rate_hz) if spec.rate_hz is not None else float("nan"),
        fmt.ATTR_REQUIRED: required,
        "topic": spec.topic,
        "msg_type": spec.msg_type,
    }
    if isinstance(spec, ArrayStreamSpec):
        values.update(names=spec.names, units=spec.units)
        return values
    values.update(
        width=spec.width,
        height=spec.height,
        channels=spec.channels,
        encoding=spec.encoding.value,
        quality=spec.quality,
        pixel_format=_pixel_format(spec),
        depth_scale_m=0.001 if spec.dtype == "uint16" else float("nan"),
    )
    if calibration is not None:
        values[fmt.ATTR_CALIBRATION] = fmt.json_attr(calibration.to_json())
    return values


def _pixel_format(spec: ImageStreamSpec) -> str:
    if spec.dtype == "uint16":
        return "mono16"
    return "rgb8" if spec.channels == 3 else "mono8"


def data_chunk_rows(spec: ArrayStreamSpec) -> int:
    """Rows per chunk of an array stream's ``data`` (and per block the writer buffers): about 64 KiB."""
    row_bytes = spec.dim * np.dtype(spec.dtype).itemsize
    return int(min(4096, max(64, _ARRAY_BLOCK_BYTES // max(1, row_bytes))))


def _create_dataset(g: Any, decl: DatasetDecl, spec: StreamSpec | None) -> None:
    if decl.dtype == "str":
        return  # scalar strings are created with their value (create_layout)
    if decl.dtype is None:
        if not isinstance(spec, ArrayStreamSpec):
            raise StreamSpecError(f"dataset {decl.name!r} belongs to array streams only")
        rows = data_chunk_rows(spec)
        g.create_dataset(
            decl.name,
            shape=(0, spec.dim),
            maxshape=(None, spec.dim),
            dtype=spec.dtype,
            chunks=(rows, spec.dim),
        )
        return
    g.create_dataset(decl.name, shape=(0,), maxshape=(None,), dtype=decl.dtype, chunks=(decl.chunk,))


def write_attrs(obj: Any, decls: Sequence[AttrDecl], values: Mapping[str, Any]) -> None:
    """Create (or replace) the declared attributes of ``obj``, each as its declared type."""
    for decl in decls:
        value = values.get(decl.name, decl.default)
        if value is None:
            raise StreamSpecError(f"attribute {decl.name!r} has no value and no default")
        if decl.type == "str[]":
            obj.attrs.create(decl.name, np.array(list(value), dtype=object), dtype=h5py.string_dtype())
        elif decl.type == "int":
            obj.attrs[decl.name] = np.int64(value)
        elif decl.type == "float":
            obj.attrs[decl.name] = float(value)
        elif decl.type == "bool":
            obj.attrs[decl.name] = bool(value)
        else:
            obj.attrs[decl.name] = str(value)


def read_attrs(attrs: Any, decls: Sequence[AttrDecl], where: Path | str) -> dict[str, Any]:
    """The declared attributes of an h5py attribute set, decoded; an optional one missing is None.

    Raises CorruptEpisodeError naming every required attribute that is missing
    (``where`` says whose: ``"<path>: root"``).
    """
    missing = [d.name for d in decls if not d.optional and d.name not in attrs]
    if missing:
        raise CorruptEpisodeError(f"{where} attributes {missing} are missing")
    decoded = {}
    for d in decls:
        try:
            decoded[d.name] = decode_attr(d, attrs[d.name]) if d.name in attrs else None
        except CorruptEpisodeError as exc:
            raise CorruptEpisodeError(f"{where} attribute {d.name!r}: {exc}") from None
        except (OSError, RuntimeError, KeyError) as exc:  # HDF5 cannot read the attribute's value
            raise CorruptEpisodeError(f"{where} attribute {d.name!r} cannot be read ({exc})") from exc
    return decoded


def decode_attr(decl: AttrDecl, value: Any) -> Any:
    """An attribute's stored value as the Python type its declaration says.

    Raises CorruptEpisodeError for a value that is not of that type (a damaged or
    hand-edited file): an int that is ``'abc'`` or ``1.5``, a number that is text.
    """
    try:
        return _DECODERS[decl.type](value)
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise CorruptEpisodeError(f"{_shown(value)} is not a valid {decl.type} ({exc})") from None


def _shown(value: Any) -> str:
    shown = repr(value.item() if isinstance(value, np.generic) else value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _integer(value: Any) -> int:
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        value = value.reshape(())[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError("expected an integer")
    return int(value)


def _number(value: Any) -> float:
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        value = value.reshape(())[()]
    if isinstance(value, (str, bytes, np.str_, np.bytes_, np.ndarray)):
        raise TypeError("expected a number")
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        value = value.reshape(())[()]
    if not isinstance(value, (bool, np.bool_, int, np.integer)) or int(value) not in (0, 1):
        raise TypeError("expected a boolean")
    return bool(value)


def _string(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.shape != ():
        raise TypeError("expected a string, got an array")
    if isinstance(value, (int, float, np.number, np.bool_)):
        raise TypeError("expected a string, got a number")
    return text(value)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, (int, float, np.number, np.bool_)) or (
        isinstance(value, np.ndarray) and value.dtype.kind not in "OSU"
    ):
        raise TypeError("expected strings")
    return texts(value)


_DECODERS: dict[str, Any] = {
    "str[]": _strings,
    "int": _integer,
    "float": _number,
    "bool": _boolean,
    "str": _string,
}


def text(value: Any) -> str:
    """A string attribute or dataset value, whichever way h5py returns it (str, bytes, 0-d array)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return text(value[()])
    return str(value)


def texts(value: Any) -> tuple[str, ...]:
    return tuple(text(v) for v in np.atleast_1d(value))
