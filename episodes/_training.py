"""What training loaders and exporters share: which episodes, which columns, the aligned arrays.

* :func:`select_episodes` lists a dataset directory's episodes that pass an
  :class:`EpisodeFilter`, reading only attributes (no sample data). Unreadable
  files are skipped with an :class:`EpisodeSkippedWarning` naming them; episodes
  of different robots or stream sets are refused unless ``on_mixed="skip"``.
* :func:`sample_layout` decides the columns: the state vector (observation
  streams), the action vector (the episode's ``role=action`` streams
  concatenated in stored order, which is stream-name order) and the cameras,
  with one ``stream.column`` name per column.
* :func:`load_aligned` gives one episode's aligned state and action rows, the
  camera frame indices per tick, and its task, instruction and success.

>>> import episodes
>>> sel = episodes.select_episodes("datasets/demo", episodes.EpisodeFilter(success=True))  # doctest: +SKIP
>>> layout = episodes.sample_layout(sel.episodes[0])  # doctest: +SKIP
>>> ep = episodes.load_aligned(sel.episodes[0], layout, active_only=True)  # doctest: +SKIP
>>> ep.action.shape, layout.action_names[:2]  # doctest: +SKIP
((412, 16), ('action_arm.l_arm_pitch', 'action_arm.l_arm_roll'))
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._errors import DatasetError, EpisodeError, EpisodeSkippedWarning, UnknownStreamError
from episodes._maintenance import list_episodes
from episodes._reader import AlignedView, EpisodeReader
from episodes._spec import ArrayStreamSpec, ImageStreamSpec, Role, StreamSpec

__all__ = [
    "AlignedEpisode",
    "EpisodeEntry",
    "EpisodeFilter",
    "SampleLayout",
    "Selection",
    "load_aligned",
    "sample_layout",
    "scan_episode",
    "select_episodes",
    "usable_range",
]

Int64Array = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]
OnMixed = Literal["error", "skip"]


@dataclass(frozen=True)
class EpisodeEntry:
    """One episode file as a loader sees it, read from attributes only (no sample data).

    ``instruction`` is the metadata's, or the one ``tg annotate`` derived from the
    task template when the metadata has none. ``qa_passed`` is None when
    ``tg validate --write`` never ran on the file; ``active_range_ns`` is None
    when ``tg annotate`` never did.
    """

    path: Path
    episode_id: str
    robot: str
    task: str
    instruction: str
    operator: str
    success: bool | None
    qa_passed: bool | None
    active_range_ns: tuple[int, int] | None
    num_frames: int
    aligned_rate_hz: float
    streams: tuple[StreamSpec, ...]

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams:
            if spec.name == name:
                return spec
        raise UnknownStreamError(
            f"{self.path}: no stream {name!r}; streams: {', '.join(s.name for s in self.streams)}"
        )

    @property
    def signature(self) -> tuple[Any, ...]:
        """Robot, aligned rate and stream set (names, kinds, roles, columns, frame shapes).

        Equal across a uniform dataset: a window of N ticks means the same time span in every episode.
        """
        return (self.robot, self.aligned_rate_hz, tuple(_stream_signature(s) for s in self.streams))


def _stream_signature(spec: StreamSpec) -> tuple[Any, ...]:
    if isinstance(spec, ArrayStreamSpec):
        return (spec.name, spec.kind.value, spec.role.value, spec.names)
    return (spec.name, spec.kind.value, spec.role.value, spec.frame_shape)


def scan_episode(path: str | os.PathLike[str]) -> EpisodeEntry:
    """An episode's :class:`EpisodeEntry`; raises an :class:`EpisodeError` for an unreadable file."""
    with EpisodeReader(path) as reader:
        meta = reader.metadata
        streams = tuple(reader.spec(name) for name in reader.stream_names)
        aligned = reader.aligned_info
        qa_passed: bool | None = None
        active: tuple[int, int] | None = None
        instruction = meta.instruction
        qa = reader.annotation(schema.ANNOTATION_QA)
        if qa is not None:
            qa_passed = bool(qa.attrs["passed"])
        active_range = reader.annotation(schema.ANNOTATION_ACTIVE_RANGE)
        if active_range is not None:
            active = (int(active_range.attrs["start_ns"]), int(active_range.attrs["stop_ns"]))
        labels = None if instruction else reader.annotation(schema.ANNOTATION_LABELS)
        if labels is not None:
            instruction = schema.text(labels.attrs.get("instruction", ""))
        return EpisodeEntry(
            path=reader.path,
            episode_id=meta.episode_id,
            robot=meta.robot.profile,
            task=meta.task,
            instruction=instruction,
            operator=meta.operator,
            success=meta.success,
            qa_passed=qa_passed,
            active_range_ns=active,
            num_frames=aligned.num_frames,
            aligned_rate_hz=aligned.rate_hz,
            streams=streams,
        )


@dataclass(frozen=True, kw_only=True)
class EpisodeFilter:
    """Which episodes of a dataset to use; the defaults keep every readable episode.

    ``qa_passed=True`` keeps episodes whose stored quality-gate result
    (``tg validate --write``) has no error; ``success`` keeps episodes with that
    label (``True``: successful only; unknown is neither); ``task``, ``robot``
    (profile name) and ``operator`` keep exact matches.
    """

    qa_passed: bool = False
    success: bool | None = None
    task: str | None = None
    robot: str | None = None
    operator: str | None = None

    def rejects(self, entry: EpisodeEntry) -> str | None:
        """Why ``entry`` is left out (a short reason, also used to count), or None if it is kept."""
        if self.qa_passed and entry.qa_passed is None:
            return "never validated (run `tg validate DIR --write`)"
        if self.qa_passed and not entry.qa_passed:
            return "failed the quality gate"
        if self.success is not None and entry.success is not self.success:
            return f"success is not {self.success}"
        for field_name, wanted, got in (
            ("task", self.task, entry.task),
            ("robot", self.robot, entry.robot),
            ("operator", self.operator, entry.operator),
        ):
            if wanted is not None and got != wanted:
                return f"{field_name} is not {wanted!r}"
        return None


@dataclass(frozen=True)
class Selection:
    """The episodes :func:`select_episodes` kept, in id (recording) order, and what it left out."""

    root: Path
    episodes: tuple[EpisodeEntry, ...]
    unreadable: tuple[tuple[Path, str], ...]
    """Skipped files and why."""
    excluded: Mapping[str, int]
    """Filter reason -> number of episodes it left out (mixed-layout episodes included)."""


def select_episodes(
    root: str | os.PathLike[str],
    episode_filter: EpisodeFilter | None = None,
    *,
    on_mixed: OnMixed = "error",
) -> Selection:
    """The episodes of dataset directory ``root`` that pass ``episode_filter``.

    Raises :class:`DatasetError` when none is left (saying what removed them), and when
    the kept episodes differ in robot or stream set, unless ``on_mixed="skip"``: then the
    largest group (the earliest on a tie) is kept and the others are left out with a warning.
    """
    where = Path(root)
    if on_mixed not in ("error", "skip"):
        raise DatasetError(f"on_mixed must be 'error' or 'skip', got {on_mixed!r}")
    chosen = episode_filter or EpisodeFilter()
    paths = list_episodes(where)
    if not paths:
        raise DatasetError(f"{where}: no episode files (*{fmt.EPISODE_SUFFIX}) in this directory")
    kept: list[EpisodeEntry] = []
    unreadable: list[tuple[Path, str]] = []
    excluded: Counter[str] = Counter()
    for path in paths:
        try:
            entry = scan_episode(path)
        except (EpisodeError, OSError, KeyError, ValueError) as exc:
            unreadable.append((path, str(exc)))
            warnings.warn(f"{path}: skipped, unreadable ({exc})", EpisodeSkippedWarning, stacklevel=2)
            continue
        reason = chosen.rejects(entry)
        if reason is None:
            kept.append(entry)
        else:
            excluded[reason] += 1
    if not kept:
        parts = [f"{n} {why}" for why, n in excluded.most_common()]
        parts += [f"{len(unreadable)} unreadable"] if unreadable else []
        raise DatasetError(f"{where}: no episode left of {len(paths)}: {'; '.join(parts)}")
    groups: dict[tuple[Any, ...], list[EpisodeEntry]] = {}
    for entry in kept:
        groups.setdefault(entry.signature, []).append(entry)
    if len(groups) > 1:
        ordered = sorted(groups.values(), key=lambda g: -len(g))
        if on_mixed == "error":
            raise DatasetError(
                f"{where}: episodes differ in robot or streams: {_describe_groups(ordered)}; "
                "keep one robot with robot=... (or realign them to one rate), "
                "or pass on_mixed='skip' to use the largest group"
            )
        left = [e for g in ordered[1:] for e in g]
        warnings.warn(
            f"{where}: {len(left)} episode(s) with another robot or stream set left out: "
            f"{', '.join(e.path.name for e in left[:5])}{', ...' if len(left) > 5 else ''}",
            EpisodeSkippedWarning,
            stacklevel=2,
        )
        excluded["another robot or stream set"] += len(left)
        keep = {e.episode_id for e in ordered[0]}
        kept = [e for e in kept if e.episode_id in keep]
    return Selection(where, tuple(kept), tuple(unreadable), dict(excluded))


def _describe_groups(groups: Sequence[Sequence[EpisodeEntry]]) -> str:
    first = groups[0][0]
    names = {s.name for s in first.streams}
    out = []
    for group in groups:
        e = group[0]
        own = {s.name for s in e.streams}
        diff = ""
        if e is not first:
            extra, missing = sorted(own - names), sorted(names - own)
            changed = sorted(
                s.name
                for s in e.streams
                if s.name in names and _stream_signature(s) != _stream_signature(first.stream(s.name))
            )
            bits = [f"+{n}" for n in extra] + [f"-{n}" for n in missing] + [f"~{n}" for n in changed]
            diff = f", streams {' '.join(bits)}" if bits else ""
        rate = f", aligned at {e.aligned_rate_hz:g} Hz" if e.aligned_rate_hz != first.aligned_rate_hz else ""
        out.append(f"{len(group)} x robot {e.robot!r}{diff}{rate} (e.g. {e.path.name})")
    return "; ".join(out)


@dataclass(frozen=True)
class SampleLayout:
    """The columns of a sample: state and action vectors (one ``stream.column`` name each) and cameras."""

    state_streams: tuple[str, ...]
    state_names: tuple[str, ...]
    action_streams: tuple[str, ...]
    action_names: tuple[str, ...]
    cameras: tuple[ImageStreamSpec, ...]

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def columns(self, stream: str) -> slice:
        """Where ``stream``'s columns lie in the state or the action vector."""
        for streams, names in (
            (self.state_streams, self.state_names),
            (self.action_streams, self.action_names),
        ):
            if stream in streams:
                hits = [i for i, n in enumerate(names) if n.split(".", 1)[0] == stream]
                return slice(hits[0], hits[-1] + 1)
        raise UnknownStreamError(
            f"stream {stream!r} is in neither the state ({', '.join(self.state_streams)}) "
            f"nor the action ({', '.join(self.action_streams)})"
        )


def sample_layout(
    entry: EpisodeEntry,
    *,
    state_streams: Sequence[str] | None = None,
    action_streams: Sequence[str] | None = None,
    cameras: Sequence[str] | None = None,
) -> SampleLayout:
    """The layout for ``entry``'s streams; ``None`` picks the defaults.

    Defaults: state = every ``role=observation`` array stream, action = every
    ``role=action`` array stream, cameras = every camera and depth stream, each in
    stored order. A name the episode lacks raises :class:`UnknownStreamError` listing
    the ones it has.
    """
    arrays = [s for s in entry.streams if isinstance(s, ArrayStreamSpec)]
    images = [s for s in entry.streams if isinstance(s, ImageStreamSpec)]

    def pick(
        names: Sequence[str] | None, pool: Sequence[StreamSpec], default: Sequence[StreamSpec], what: str
    ) -> list[Any]:
        if names is None:
            return list(default)
        by_name = {s.name: s for s in pool}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise UnknownStreamError(
                f"{entry.path}: no {what} {', '.join(map(repr, unknown))}; "
                f"{what}s: {', '.join(by_name) or 'none'}"
            )
        return [by_name[n] for n in names]

    state = pick(state_streams, arrays, [s for s in arrays if s.role is Role.OBSERVATION], "array stream")
    action = pick(action_streams, arrays, [s for s in arrays if s.role is Role.ACTION], "array stream")
    cams = pick(cameras, images, images, "camera")
    if not action:
        raise DatasetError(
            f"{entry.path}: no stream has role 'action'; "
            "name the streams to predict with action_streams=[...] "
            f"(array streams: {', '.join(s.name for s in arrays)})"
        )
    return SampleLayout(
        state_streams=tuple(s.name for s in state),
        state_names=tuple(f"{s.name}.{c}" for s in state for c in s.names),
        action_streams=tuple(s.name for s in action),
        action_names=tuple(f"{s.name}.{c}" for s in action for c in s.names),
        cameras=tuple(cams),
    )


@dataclass(frozen=True)
class AlignedEpisode:
    """One episode's usable aligned ticks: row ``i`` is aligned frame ``first_frame + i``.

    Usable ticks are those where every stream of the layout has a sample (a
    stream that is not required may start late), within the active range when
    asked. ``frames[camera][i]`` is the index of the camera's frame at tick ``i``
    (for ``EpisodeReader.image``).
    """

    episode_id: str
    task: str
    instruction: str
    success: bool | None
    first_frame: int
    time_ns: Int64Array
    state: Float32Array
    action: Float32Array
    frames: Mapping[str, Int64Array]

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])


def usable_range(
    entry: EpisodeEntry, layout: SampleLayout, view: AlignedView, *, active_only: bool = False
) -> tuple[int, int]:
    """The aligned ticks ``[lo, hi)`` :func:`load_aligned` returns, from the aligned view alone.

    Every stream of the layout has a sample there (the aligned index is -1 only
    before a stream's first sample) and, with ``active_only``, the tick lies in
    the annotated active range.
    """
    if active_only and entry.active_range_ns is None:
        raise DatasetError(
            f"{entry.path}: has no active range (active_only=True); run `tg annotate {entry.path.parent}`"
        )
    lo, hi = 0, view.num_frames
    for name in (*layout.state_streams, *layout.action_streams, *layout.camera_names):
        if name not in view.index:
            raise UnknownStreamError(
                f"{entry.path}: stream {name!r} is not in the aligned view "
                f"({', '.join(view.index)}); run `tg realign`"
            )
        lo = max(lo, int(np.searchsorted(view.index[name] >= 0, True)))
    if active_only and entry.active_range_ns is not None:
        start, stop = entry.active_range_ns
        lo = max(lo, int(np.searchsorted(view.time_ns, start, side="left")))
        hi = min(hi, int(np.searchsorted(view.time_ns, stop, side="left")))
    return lo, max(lo, hi)


def load_aligned(
    entry: EpisodeEntry,
    layout: SampleLayout,
    *,
    active_only: bool = False,
    reader: EpisodeReader | None = None,
) -> AlignedEpisode:
    """Read ``entry``'s aligned state, action and frame indices (never image data).

    ``active_only`` keeps the ticks within the active range ``tg annotate`` stored
    (idle start and end trimmed); an episode never annotated raises :class:`DatasetError`.
    Pass an open ``reader`` of the file to save opening it again.
    """
    own = reader is None
    ep = reader if reader is not None else EpisodeReader(entry.path)
    try:
        view = ep.aligned
        lo, hi = usable_range(entry, layout, view, active_only=active_only)

        def rows(streams: Sequence[str]) -> Float32Array:
            parts = []
            for name in streams:
                idx = view.index[name][lo:hi]
                first, last = (int(idx.min()), int(idx.max()) + 1) if idx.size else (0, 0)
                block = ep.values(name, first, last, dtype=np.float32)  # one contiguous read
                parts.append(block[idx - first])
            return np.concatenate(parts, axis=1) if parts else np.empty((hi - lo, 0), dtype=np.float32)

        return AlignedEpisode(
            episode_id=entry.episode_id,
            task=entry.task,
            instruction=entry.instruction,
            success=entry.success,
            first_frame=lo,
            time_ns=np.asarray(view.time_ns[lo:hi], dtype=np.int64),
            state=rows(layout.state_streams),
            action=rows(layout.action_streams),
            frames={c: np.asarray(view.index[c][lo:hi], dtype=np.int64) for c in layout.camera_names},
        )
    finally:
        if own:
            ep.close()
