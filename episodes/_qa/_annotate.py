"""The annotator: active range, gripper events, segments, labels and statistics, kept in the file.

It reads raw streams and the aligned view and writes only ``/annotations/*``
groups (layout in episodes/QA.md), in place through a journal (crash-safe, see
``update_in_place``), and only when what it computed differs from what the file holds.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._errors import CorruptEpisodeError, EpisodeBusyError, EpisodeError, EpisodeWriteError
from episodes._qa._access import EpisodeData
from episodes._qa._checks import motion_reference
from episodes._qa._config import QaConfig
from episodes._qa._motion import GripperEvent, Segment, active_span, gripper_events, segments
from episodes._qa._parallel import run_parallel
from episodes._qa._stats import StreamStats, episode_digest, stream_stats
from episodes._qa._store import strings, text
from episodes._qa._validate import ConfigSource
from episodes._reader import AlignedView, EpisodeReader
from episodes._spec import ArrayStreamSpec, Role, StreamKind
from episodes._writer_annotations import AnnotationUpdate, write_annotations
from tg_base import TgError
from tg_exec import Executor

__all__ = [
    "AnnotationResult",
    "EpisodeAnnotations",
    "annotate_episode",
    "annotate_episodes",
    "read_annotations",
]

_GROUPS = (
    schema.ANNOTATION_ACTIVE_RANGE,
    schema.ANNOTATION_GRIPPER_EVENTS,
    schema.ANNOTATION_SEGMENTS,
    schema.ANNOTATION_LABELS,
    schema.ANNOTATION_STATS,
)
_TOOL = "tg annotate"
_STAT_KEYS = ("min", "max", "mean", "std", "q01", "q10", "q50", "q90", "q99")


@dataclass(frozen=True)
class EpisodeAnnotations:
    """What the annotator derives from one episode. Times are ns on the stamp clock."""

    active_start_ns: int
    active_stop_ns: int
    motion_detected: bool
    """False when nothing moved: the active range is then the whole episode."""
    gripper_events: tuple[GripperEvent, ...]
    segments: tuple[Segment, ...]
    task: str
    instruction: str
    instruction_source: str  # "metadata", "template" or "none"
    success: bool | None
    success_source: str  # "simulator", "operator" or "unknown"
    stats: tuple[StreamStats, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "active_range": [self.active_start_ns, self.active_stop_ns],
            "motion_detected": self.motion_detected,
            "gripper_events": [[e.gripper, e.event, e.start_ns, e.stop_ns] for e in self.gripper_events],
            "segments": [[s.start_ns, s.stop_ns, s.kind, s.label] for s in self.segments],
            "task": self.task,
            "instruction": self.instruction,
            "instruction_source": self.instruction_source,
            "success": self.success,
            "success_source": self.success_source,
            "stats": {s.stream: s.to_json() for s in self.stats},
        }


@dataclass(frozen=True)
class AnnotationResult:
    """The annotator's outcome for one file: its annotations, or why there are none."""

    path: str
    episode_id: str
    annotations: EpisodeAnnotations | None
    changed: bool
    error: str = ""


def annotate_episode(
    path: str | os.PathLike[str], config: ConfigSource = None, *, write: bool = True
) -> AnnotationResult:
    """Annotate one episode file and (``write=True``) store the annotations if they changed.

    Running it again on the same file changes nothing. An unreadable file is
    not an exception but a result with ``error`` set, so a batch goes on.

    >>> result = annotate_episode("datasets/demo/01J....h5")  # doctest: +SKIP
    >>> [s.label for s in result.annotations.segments]  # doctest: +SKIP
    ['reach', 'grasp', 'transport', 'release', 'retreat']
    """
    p = Path(path)
    try:
        with EpisodeReader(p) as reader:
            episode_id = reader.metadata.episode_id
            qa = _config(config, reader)
            found = compute_annotations(EpisodeData(reader), qa)
            unchanged = write and _unchanged(reader, found)
    except (EpisodeError, OSError, KeyError, ValueError, RuntimeError, IndexError) as exc:
        return AnnotationResult(
            str(p), "", None, False, f"{p}: cannot annotate ({type(exc).__name__}: {exc})"
        )
    changed = False
    if write:
        if p.name.endswith(fmt.PARTIAL_SUFFIX):
            return AnnotationResult(
                str(p),
                episode_id,
                found,
                False,
                f"{p}: still recording or interrupted; run `tg recover` first",
            )
        changed = not unchanged
        if changed:
            try:
                write_annotations(p, _updates(found))
            except EpisodeBusyError:
                raise  # another process is updating the episode: the pool waits for it (run_parallel)
            except EpisodeWriteError as exc:  # a full or read-only disk: the message says what to do
                return AnnotationResult(str(p), episode_id, found, False, f"annotations not stored: {exc}")
            except (EpisodeError, OSError, TypeError, ValueError, KeyError) as exc:
                # TypeError: h5py's, where a damaged file has a dataset in place of an annotation group.
                why = f"{p}: cannot store the annotations ({type(exc).__name__}: {exc})"
                return AnnotationResult(str(p), episode_id, found, False, why)
    return AnnotationResult(str(p), episode_id, found, changed)


def annotate_episodes(
    paths: Sequence[str | os.PathLike[str]],
    config: ConfigSource = None,
    *,
    workers: int | None = None,
    executor: Executor | None = None,
    write: bool = True,
    on_result: Callable[[AnnotationResult], None] | None = None,
) -> list[AnnotationResult]:
    """:func:`annotate_episode` for many files over ``workers`` processes (default: all cores).

    Results come back in the order of ``paths``; see :func:`validate_episodes` for ``workers``.
    """
    work = functools.partial(annotate_episode, config=config, write=write)
    return run_parallel(
        work,
        [Path(p) for p in paths],
        workers=workers,
        executor=executor,
        on_result=on_result,
        on_crash=_crashed,
    )


def _crashed(path: Path, why: str) -> AnnotationResult:
    return AnnotationResult(str(path), "", None, False, f"{path}: {why}")


def _config(config: ConfigSource, reader: EpisodeReader) -> QaConfig:
    if config is None:
        return QaConfig()
    if isinstance(config, QaConfig):
        return config
    try:
        return config(reader.metadata)
    except TgError:
        return QaConfig()  # the quality gate reports the missing profile (config.profile)


def compute_annotations(data: EpisodeData, config: QaConfig) -> EpisodeAnnotations:
    """Everything the annotator derives, without writing anything."""
    reader = data.reader
    meta = reader.metadata
    view = reader.aligned
    span = None
    # Phases live on the operator's clock: commands when the episode has them (episodes/QA.md).
    reference = motion_reference(data, config, role=Role.ACTION) or motion_reference(data, config)
    if reference is not None:
        name, cols = reference
        found = active_span(data.values(name)[:, cols], config.idle_threshold)
        if found is not None:
            stamps = data.stamps(name)
            span = (int(stamps[found[0]]), int(stamps[found[1] - 1]) + 1)
    events = _gripper_events(data, config)
    if events:
        first = min(e.start_ns for e in events)
        last = max(e.stop_ns for e in events) + 1
        span = (min(span[0], first), max(span[1], last)) if span else (first, last)
    moved = span is not None
    if span is None:
        span = _whole(data, view.time_ns)
    template = config.template(meta.task)
    if meta.instruction:
        instruction, instruction_source = meta.instruction, "metadata"
    elif template.instruction:
        instruction, instruction_source = template.instruction, "template"
    else:
        instruction, instruction_source = "", "none"
    if meta.success is None:
        success_source = "unknown"
    else:
        success_source = "simulator" if meta.source == "sim" else "operator"
    return EpisodeAnnotations(
        active_start_ns=span[0],
        active_stop_ns=span[1],
        motion_detected=moved,
        gripper_events=tuple(events),
        segments=tuple(segments(span, events, template)),
        task=meta.task,
        instruction=instruction,
        instruction_source=instruction_source,
        success=meta.success,
        success_source=success_source,
        stats=tuple(_stats(data, view, span)),
    )


def _gripper_events(data: EpisodeData, config: QaConfig) -> list[GripperEvent]:
    """Events of the commanded grippers, or of the observed ones when nothing commands them."""
    grippers = [
        (name, info.spec)
        for name, info in data.infos.items()
        if isinstance(info.spec, ArrayStreamSpec) and info.spec.kind is StreamKind.GRIPPER and info.count
    ]
    sent = [g for g in grippers if g[1].role is Role.ACTION]
    events: list[GripperEvent] = []
    for name, spec in sent or grippers:
        stamps, values = data.stamps(name), data.values(name)
        commanded = spec.role is Role.ACTION
        for j, column in enumerate(spec.names):
            events += gripper_events(
                f"{name}.{column}", stamps, values[:, j], config.gripper_min_swing, commanded=commanded
            )
    return sorted(events, key=lambda e: (e.start_ns, e.gripper))


def _whole(data: EpisodeData, ticks: npt.NDArray[np.int64]) -> tuple[int, int]:
    if ticks.size:
        return int(ticks[0]), int(ticks[-1]) + 1
    infos = [i for i in data.infos.values() if i.count]
    if not infos:
        return 0, 0
    return min(i.first_stamp_ns for i in infos), max(i.last_stamp_ns for i in infos) + 1


def _stats(data: EpisodeData, view: AlignedView, span: tuple[int, int]) -> list[StreamStats]:
    """Per numeric stream: statistics of its aligned rows within the active range."""
    ticks = (view.time_ns >= span[0]) & (view.time_ns < span[1])
    out = []
    for name, info in data.infos.items():
        spec = info.spec
        if not isinstance(spec, ArrayStreamSpec) or name not in view.index or not info.count:
            continue
        rows = view.index[name][ticks]
        rows = rows[rows >= 0]
        if rows.size:
            out.append(stream_stats(name, spec.names, spec.units, data.values(name)[rows]))
    return out


# ---------------------------------------------------------------- storage


def _updates(a: EpisodeAnnotations) -> list[AnnotationUpdate]:
    """The annotation groups that store ``a`` (layout in episodes/QA.md)."""
    i64 = np.int64
    return [
        AnnotationUpdate(
            schema.ANNOTATION_ACTIVE_RANGE,
            _TOOL,
            attrs={"start_ns": i64(a.active_start_ns), "stop_ns": i64(a.active_stop_ns)}
            | {"motion_detected": a.motion_detected},
        ),
        _spans(
            schema.ANNOTATION_GRIPPER_EVENTS,
            [(e.start_ns, e.stop_ns) for e in a.gripper_events],
            gripper=[e.gripper for e in a.gripper_events],
            event=[e.event for e in a.gripper_events],
        ),
        _spans(
            schema.ANNOTATION_SEGMENTS,
            [(s.start_ns, s.stop_ns) for s in a.segments],
            kind=[s.kind for s in a.segments],
            label=[s.label for s in a.segments],
        ),
        AnnotationUpdate(
            schema.ANNOTATION_LABELS,
            _TOOL,
            attrs={
                "task": a.task,
                "instruction": a.instruction,
                "instruction_source": a.instruction_source,
                fmt.ATTR_SUCCESS: fmt.success_text(a.success),
                "success_source": a.success_source,
            },
        ),
        AnnotationUpdate(schema.ANNOTATION_STATS, _TOOL, attrs={"digest": episode_digest(a.stats)}),
        # Attributes, not datasets: a dataset is an HDF5 object of its own, and creating ~100 of
        # them was most of the cost of writing an episode's annotations (episodes/QA.md).
        *(
            AnnotationUpdate(
                f"{schema.ANNOTATION_STATS}/{s.stream}",
                string_attrs={"names": s.names, "units": s.units},
                attrs={"count": i64(s.count)} | {key: s.array(key) for key in _STAT_KEYS},
            )
            for s in a.stats
        ),
    ]


def _spans(name: str, spans: Sequence[tuple[int, int]], **texts: Sequence[str]) -> AnnotationUpdate:
    """A group of time spans (``start_ns``, ``stop_ns``) with a text column per keyword."""
    bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
    return AnnotationUpdate(
        name, _TOOL, strings=texts, arrays={"start_ns": bounds[:, 0], "stop_ns": bounds[:, 1]}
    )


def read_annotations(source: str | os.PathLike[str] | EpisodeReader) -> EpisodeAnnotations | None:
    """The annotations ``tg annotate`` stored in an episode, or None if it was never annotated.

    ``source``: the episode's path, or a reader already open on it (saves opening it again).

    >>> read_annotations("datasets/demo/01J....h5").instruction  # doctest: +SKIP
    'put the red cube in the blue bin'
    """
    if isinstance(source, EpisodeReader):
        return _stored(source)
    with EpisodeReader(source) as reader:
        return _stored(reader)


def _unchanged(reader: EpisodeReader, found: EpisodeAnnotations) -> bool:
    """Whether ``reader``'s episode already holds ``found``.

    The statistics are compared by the digest stored beside them: reading back
    every stream's statistics cost a third of annotating an episode.
    """
    stored = _stored(reader, stats=False)
    if stored is None:
        return False
    stats = reader.annotation(schema.ANNOTATION_STATS)
    digest = stats.attrs.get("digest") if stats is not None else None
    # Compared in JSON form, where a NaN statistic equals itself.
    return (
        digest is not None
        and text(digest) == episode_digest(found.stats)
        and stored.to_json() == replace(found, stats=()).to_json()
    )


def _stored(reader: EpisodeReader, *, stats: bool = True) -> EpisodeAnnotations | None:
    groups = [reader.annotation(name) for name in _GROUPS]
    if any(g is None for g in groups):
        return None
    active, ev, seg, labels, stats_group = (g for g in groups if g is not None)
    success = text(labels.attrs[fmt.ATTR_SUCCESS])
    return EpisodeAnnotations(
        active_start_ns=int(active.attrs["start_ns"]),
        active_stop_ns=int(active.attrs["stop_ns"]),
        motion_detected=bool(active.attrs["motion_detected"]),
        gripper_events=tuple(
            GripperEvent(g, e, int(a), int(b))
            for g, e, a, b in zip(
                strings(ev, "gripper"),
                strings(ev, "event"),
                ev["start_ns"][()],
                ev["stop_ns"][()],
                strict=True,
            )
        ),
        segments=tuple(
            Segment(int(a), int(b), k, lab)
            for a, b, k, lab in zip(
                seg["start_ns"][()],
                seg["stop_ns"][()],
                strings(seg, "kind"),
                strings(seg, "label"),
                strict=True,
            )
        ),
        task=text(labels.attrs["task"]),
        instruction=text(labels.attrs["instruction"]),
        instruction_source=text(labels.attrs["instruction_source"]),
        success=fmt.parse_success(success),
        success_source=text(labels.attrs["success_source"]),
        stats=tuple(_read_stats(reader, name) for name in stats_group.groups) if stats else (),
    )


def _read_stats(reader: EpisodeReader, name: str) -> StreamStats:
    g = reader.annotation(f"{schema.ANNOTATION_STATS}/{name}")
    if g is None:
        raise CorruptEpisodeError(f"{reader.path}: statistics of {name!r} vanished while being read")

    # Attributes; episodes annotated by earlier versions hold datasets of the same names.
    def field(key: str) -> Any:
        return g.attrs[key] if key in g.attrs else g[key][()]

    values = {key: tuple(float(v) for v in np.atleast_1d(field(key))) for key in _STAT_KEYS}
    return StreamStats(
        stream=name,
        names=tuple(text(v) for v in np.atleast_1d(field("names"))),
        units=tuple(text(v) for v in np.atleast_1d(field("units"))),
        count=int(g.attrs["count"]),
        **values,
    )
