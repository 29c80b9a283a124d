"""What training loaders and exporters share: which episodes, which columns, the aligned arrays.

* :func:`select_episodes` lists a dataset directory's episodes that pass an
  :class:`EpisodeFilter`, reading only attributes (no sample data). Unreadable
  files are skipped with an :class:`EpisodeSkippedWarning` naming them; episodes
  of different robots or stream sets are refused unless ``on_mixed="skip"``.
* :func:`sample_layout` decides the columns: the state vector (by default the
  positions of the joints the actions command and the grippers' state), the
  action vector (by default the episode's ``role=action`` streams), each
  concatenated in stored order (stream-name order) or as chosen
  (``"stream:col,col"``, see ``episodes._columns``), and the cameras, with one
  ``stream.column`` name per column.
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._columns import StreamColumns, default_state, pick_columns
from episodes._errors import DatasetError, EpisodeError, EpisodeSkippedWarning, UnknownStreamError
from episodes._identity import episode_identities, find_repeats
from episodes._maintenance import list_episodes
from episodes._reader import AlignedView, EpisodeReader
from episodes._spec import REVIEW_STATES, ArrayStreamSpec, ImageStreamSpec, LabelChange, Role, StreamSpec

__all__ = [
    "QA_RULES",
    "AlignedEpisode",
    "EpisodeEntry",
    "EpisodeFilter",
    "QaRule",
    "SampleLayout",
    "Selection",
    "StreamSelection",
    "describe_left_out",
    "load_aligned",
    "sample_layout",
    "scan_episode",
    "select_episodes",
    "usable_range",
]

Int64Array = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]
_Scalar = TypeVar("_Scalar", bound=np.generic)
OnMixed = Literal["error", "skip"]
QaRule = Literal["passed", "any"]
QA_RULES: tuple[QaRule, ...] = ("passed", "any")
NEVER_VALIDATED = "never validated"
DUPLICATE = "duplicate of another file"


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
    content_digest: str | None = None
    """Digest of the raw recorded content, when the file has one: a copy under another id has the same."""
    label_history: tuple[LabelChange, ...] = ()
    """How the labels (task, instruction, success) were corrected since recording, oldest first."""

    review_state: str = "pending"
    """The stored review verdict (one of REVIEW_STATES); ``pending`` when nobody reviewed the file."""

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON (streams by name), as ``tg dataset ls --json`` prints it."""
        return {
            "path": str(self.path),
            "episode_id": self.episode_id,
            "robot": self.robot,
            "task": self.task,
            "instruction": self.instruction,
            "operator": self.operator,
            "success": self.success,
            "qa_passed": self.qa_passed,
            "active_range_ns": list(self.active_range_ns) if self.active_range_ns is not None else None,
            "num_frames": self.num_frames,
            "aligned_rate_hz": self.aligned_rate_hz,
            "streams": [s.name for s in self.streams],
            "content_digest": self.content_digest,
            "label_history": [change.to_json() for change in self.label_history],
            "review_state": self.review_state,
        }

    @property
    def identities(self) -> tuple[tuple[str, str], ...]:
        """What makes two files one episode, as (what, value): a dataset holds each at most once.

        :func:`select_episodes` keeps the first file (by path) of each and skips the others.
        """
        return episode_identities(self.episode_id, self.content_digest)

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
            content_digest=meta.content_digest,
            label_history=meta.label_history,
            review_state=meta.review.state if meta.review is not None else "pending",
        )


@dataclass(frozen=True, kw_only=True)
class EpisodeFilter:
    """Which episodes of a dataset to use; by default those that passed the quality gate.

    ``qa="passed"`` (the default) keeps episodes whose stored quality-gate result
    (``tg validate --write``) has no error; ``qa="any"`` also keeps failed and
    never-validated ones. ``success`` keeps episodes with that label (``True``:
    successful only; unknown is neither); ``task``, ``robot`` (profile name) and
    ``operator`` keep exact matches; ``review="approved"`` keeps episodes a reviewer
    approved (the site's review, stored in the file). :class:`EpisodeDataset` (``filter=``),
    :func:`select_episodes` and the exporters (:class:`ExportOptions`, ``tg export``) take it.

    >>> from dataclasses import replace
    >>> from pathlib import Path
    >>> entry = EpisodeEntry(Path("a.h5"), "a", "arm", "pick", "", "ann", False, True, None, 10, 10.0, ())
    >>> EpisodeFilter(task="pick").rejects(entry) is None
    True
    >>> EpisodeFilter(success=True).rejects(entry)
    'success is not True'
    >>> EpisodeFilter(qa="passed").rejects(replace(entry, qa_passed=None))
    'never validated'
    >>> EpisodeFilter(qa="any").rejects(replace(entry, qa_passed=False)) is None
    True
    >>> EpisodeFilter(review="approved").rejects(entry)
    "review is 'pending', not 'approved'"
    >>> data = episodes.EpisodeDataset("datasets/demo", filter=EpisodeFilter(success=True))  # doctest: +SKIP
    """

    qa: QaRule = "passed"
    success: bool | None = None
    task: str | None = None
    robot: str | None = None
    operator: str | None = None
    review: str | None = None

    def __post_init__(self) -> None:
        if self.qa not in QA_RULES:
            raise DatasetError(f"qa must be one of {', '.join(map(repr, QA_RULES))}, got {self.qa!r}")
        if self.review is not None and self.review not in REVIEW_STATES:
            raise DatasetError(
                f"review must be one of {', '.join(map(repr, REVIEW_STATES))} or None, got {self.review!r}"
            )

    def rejects(self, entry: EpisodeEntry) -> str | None:
        """Why ``entry`` is left out (a short reason, also used to count), or None if it is kept."""
        if self.qa == "passed" and entry.qa_passed is None:
            return NEVER_VALIDATED
        if self.qa == "passed" and not entry.qa_passed:
            return "failed the quality gate"
        if self.success is not None and entry.success is not self.success:
            return f"success is not {self.success}"
        if self.review is not None and entry.review_state != self.review:
            return f"review is {entry.review_state!r}, not {self.review!r}"
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
    """Reason -> number of episodes it left out: the filter's reasons (``"never validated"``,
    ``"failed the quality gate"``, ...), ``"duplicate of another file"`` and mixed layouts."""


def select_episodes(
    root: str | os.PathLike[str],
    episode_filter: EpisodeFilter | None = None,
    *,
    on_mixed: OnMixed = "error",
) -> Selection:
    """The episodes of dataset directory ``root`` that pass ``episode_filter`` (by default,
    those that passed the quality gate).

    A file that repeats an episode of an earlier file (same :attr:`EpisodeEntry.identities`)
    is skipped with a warning naming both. Episodes never validated are left out with a
    warning under ``qa="passed"``. Raises :class:`DatasetError` when none is left (saying
    what removed them and, for unvalidated ones, the command to run), and when the kept
    episodes differ in robot or stream set, unless ``on_mixed="skip"``: then the largest
    group (the earliest on a tie) is kept and the others are left out with a warning.
    """
    where = Path(root)
    if on_mixed not in ("error", "skip"):
        raise DatasetError(f"on_mixed must be 'error' or 'skip', got {on_mixed!r}")
    chosen = episode_filter or EpisodeFilter()
    paths = list_episodes(where)
    if not paths:
        raise DatasetError(f"{where}: no episode files (*{fmt.EPISODE_SUFFIX}) in this directory")
    entries, unreadable = _scan_all(paths)
    excluded: Counter[str] = Counter()
    kept: list[EpisodeEntry] = []
    for entry in _unique(entries, excluded):
        reason = chosen.rejects(entry)
        if reason is None:
            kept.append(entry)
        else:
            excluded[reason] += 1
    if not kept:
        raise DatasetError(_nothing_left(where, len(paths), excluded, len(unreadable)))
    if excluded[NEVER_VALIDATED]:
        warnings.warn(
            f"{where}: {excluded[NEVER_VALIDATED]} episode(s) never validated left out; "
            f"run `tg validate {where} --write` to check them, or use qa='any' (tg export --qa any)",
            EpisodeSkippedWarning,
            stacklevel=2,
        )
    kept = _one_layout(where, kept, excluded, on_mixed=on_mixed)
    return Selection(where, tuple(kept), tuple(unreadable), dict(excluded))


def _scan_all(paths: Sequence[Path]) -> tuple[list[EpisodeEntry], list[tuple[Path, str]]]:
    """The entries of the readable files; the others with why, each warned about."""
    entries: list[EpisodeEntry] = []
    unreadable: list[tuple[Path, str]] = []
    for path in paths:
        try:
            entries.append(scan_episode(path))
        except (EpisodeError, OSError, KeyError, ValueError) as exc:
            unreadable.append((path, str(exc)))
            warnings.warn(f"{path}: skipped, unreadable ({exc})", EpisodeSkippedWarning, stacklevel=3)
    return entries, unreadable


def _unique(entries: Sequence[EpisodeEntry], excluded: Counter[str]) -> list[EpisodeEntry]:
    """``entries`` less those repeating an earlier one's identity (counted, and warned about naming both)."""
    repeats = find_repeats((entry.path, entry.identities) for entry in entries)
    for repeat in sorted(repeats.values(), key=lambda r: r.path):
        warnings.warn(repeat.message("skipped"), EpisodeSkippedWarning, stacklevel=3)
        excluded[DUPLICATE] += 1
    return [entry for entry in sorted(entries, key=lambda e: e.path) if entry.path not in repeats]


def describe_left_out(excluded: Mapping[str, int], sep: str = ", ") -> str:
    """How many episodes each reason left out, the most first, as summaries print it.

    >>> describe_left_out({"never validated": 1, "failed the quality gate": 2})
    '2 failed the quality gate, 1 never validated'
    """
    return sep.join(f"{n} {why}" for why, n in sorted(excluded.items(), key=lambda item: -item[1]))


def _nothing_left(where: Path, files: int, excluded: Counter[str], unreadable: int) -> str:
    parts = [describe_left_out(excluded, "; ")] if excluded else []
    parts += [f"{unreadable} unreadable"] if unreadable else []
    message = f"{where}: no episode left of {files}: {'; '.join(parts)}"
    if excluded[NEVER_VALIDATED]:
        message += (
            f"; run `tg validate {where} --write` to check them "
            "(or use qa='any', tg export --qa any, to take them unchecked)"
        )
    return message


def _one_layout(
    where: Path, kept: list[EpisodeEntry], excluded: Counter[str], *, on_mixed: OnMixed
) -> list[EpisodeEntry]:
    """``kept`` when its episodes share one robot and stream set; else an error, or with
    ``on_mixed="skip"`` the largest group, the others counted in ``excluded`` and warned about."""
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
            stacklevel=3,
        )
        excluded["another robot or stream set"] += len(left)
        keep = {e.episode_id for e in ordered[0]}
        return [e for e in kept if e.episode_id in keep]
    return kept


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
    """The columns of a sample: state and action vectors (one ``stream.column`` name each) and cameras.

    ``state_streams`` and ``action_streams`` are the streams read; ``state_index`` /
    ``action_index`` say which columns of their concatenated columns the vectors keep
    (None: every one, the common case, which costs no copy).
    """

    state_streams: tuple[str, ...]
    state_names: tuple[str, ...]
    action_streams: tuple[str, ...]
    action_names: tuple[str, ...]
    cameras: tuple[ImageStreamSpec, ...]
    state_index: tuple[int, ...] | None = None
    action_index: tuple[int, ...] | None = None

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

    def pick(self, vector: str, full: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
        """``full`` (last axis: every column of the ``"state"`` or ``"action"`` vector's streams)
        reduced to the vector's columns."""
        index = {"state": self.state_index, "action": self.action_index}[vector]
        return full if index is None else full[..., list(index)]


StreamSelection = Sequence[str | StreamColumns]
"""Streams, each ``"stream"``, ``"stream:col,col"`` (patterns) or a :class:`StreamColumns`."""


def sample_layout(
    entry: EpisodeEntry,
    *,
    state_streams: StreamSelection | None = None,
    action_streams: StreamSelection | None = None,
    cameras: Sequence[str] | None = None,
) -> SampleLayout:
    """The layout for ``entry``'s streams; ``None`` picks the defaults.

    Defaults: state = the positions of the joints the action streams command and the
    grippers' state (see ``episodes._columns``), action = every ``role=action`` array
    stream, cameras = every camera and depth stream, each in stored order. A stream or
    column the episode lacks raises :class:`UnknownStreamError` listing the ones it has.

    >>> sample_layout(entry, state_streams=["joint_position:l_arm_*", "gripper_state"])  # doctest: +SKIP
    """
    arrays = [s for s in entry.streams if isinstance(s, ArrayStreamSpec)]
    images = [s for s in entry.streams if isinstance(s, ImageStreamSpec)]
    state = _vector(entry, state_streams, arrays, default_state(arrays))
    actions = [StreamColumns(s.name) for s in arrays if s.role is Role.ACTION]
    action = _vector(entry, action_streams, arrays, actions)
    if not action[0]:
        raise DatasetError(
            f"{entry.path}: no stream has role 'action'; "
            "name the streams to predict with action_streams=[...] "
            f"(array streams: {', '.join(s.name for s in arrays)})"
        )
    return SampleLayout(
        state_streams=state[0],
        state_names=state[1],
        action_streams=action[0],
        action_names=action[1],
        cameras=tuple(_pick_streams(entry, cameras, images, "camera")),
        state_index=state[2],
        action_index=action[2],
    )


def _vector(
    entry: EpisodeEntry,
    selection: StreamSelection | None,
    arrays: Sequence[ArrayStreamSpec],
    default: Sequence[StreamColumns],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...] | None]:
    """A vector's streams, its ``stream.column`` names and its index into the streams' columns."""
    chosen = [StreamColumns.parse(s) for s in selection] if selection is not None else list(default)
    specs = _pick_streams(entry, [c.stream for c in chosen], arrays, "array stream")
    repeated = sorted({c.stream for c in chosen if [d.stream for d in chosen].count(c.stream) > 1})
    if repeated:
        raise DatasetError(f"stream {', '.join(map(repr, repeated))} named twice: list its columns once")
    names: list[str] = []
    index: list[int] = []
    offset = 0
    for columns, spec in zip(chosen, specs, strict=True):
        picked = pick_columns(entry.path, spec, columns.columns)
        names += [f"{spec.name}.{spec.names[i]}" for i in picked]
        index += [offset + i for i in picked]
        offset += spec.dim
    whole = index == list(range(offset))
    return tuple(s.name for s in specs), tuple(names), None if whole else tuple(index)


def _pick_streams(
    entry: EpisodeEntry, names: Sequence[str] | None, pool: Sequence[Any], what: str
) -> list[Any]:
    """The specs of ``pool`` named ``names`` (all of ``pool`` for None), in that order."""
    if names is None:
        return list(pool)
    by_name = {s.name: s for s in pool}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UnknownStreamError(
            f"{entry.path}: no {what} {', '.join(map(repr, unknown))}; "
            f"{what}s: {', '.join(by_name) or 'none'}"
        )
    return [by_name[n] for n in names]


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
    """Read ``entry``'s aligned state and action (the layout's columns) and frame indices
    (never image data).

    ``active_only`` keeps the ticks within the active range ``tg annotate`` stored
    (idle start and end trimmed); an episode never annotated raises :class:`DatasetError`.
    Pass an open ``reader`` of the file to save opening it again.
    """
    whole = _aligned_streams(entry, layout, active_only=active_only, reader=reader)
    if layout.state_index is None and layout.action_index is None:
        return whole
    return replace(whole, state=layout.pick("state", whole.state), action=layout.pick("action", whole.action))


def _aligned_streams(
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
