"""``tg dataset merge``: several dataset directories into a new one, refusing what would mix silently.

Episodes a training run sees as one dataset must share a robot profile, a stream set,
each stream's columns and units, and the aligned rate (a window of N ticks must mean
the same span everywhere). A merge that would break that is refused naming the
difference, unless told how to reconcile it: ``realign_hz`` re-derives every
episode's aligned view at one rate, ``drop_streams`` leaves streams out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from episodes._dataset_ops._staging import check_new, finish_dataset, membership, new_dataset, place
from episodes._errors import DatasetError, EpisodeError
from episodes._maintenance import drop_streams, list_episodes, realign
from episodes._spec import ArrayStreamSpec
from episodes._training import EpisodeEntry, scan_episode

__all__ = ["MergeOptions", "MergeResult", "merge_datasets"]


@dataclass(frozen=True, kw_only=True)
class MergeOptions:
    """How to reconcile the sources: ``realign_hz`` (one aligned rate for all), ``drop_streams``
    (stream names left out), ``copy`` (copy files instead of hard-linking them)."""

    realign_hz: float | None = None
    drop_streams: tuple[str, ...] = ()
    copy: bool = False


@dataclass(frozen=True)
class MergeResult:
    """What a merge wrote."""

    out: Path
    episodes: int
    linked: int
    """Files hard-linked to their source (sharing its bytes, so in-place updates show in both)."""
    realigned: int
    dropped: dict[str, int] = field(default_factory=dict)
    """Stream name -> episodes it was removed from."""
    duplicates: int = 0
    """Files left out because an earlier source holds the same episode (same id and content)."""
    stats_written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "episodes": self.episodes,
            "linked": self.linked,
            "realigned": self.realigned,
            "dropped": dict(self.dropped),
            "duplicates": self.duplicates,
            "stats_written": self.stats_written,
        }


def merge_datasets(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    options: MergeOptions | None = None,
) -> MergeResult:
    """Merge the dataset directories ``sources`` into the new directory ``out``.

    Raises :class:`DatasetError` naming the difference when the episodes differ in robot
    profile, stream set, a stream's columns or units, or aligned rate (and no option
    reconciles it), for an unreadable episode, and for one episode id with two different
    recordings; nothing is written then. Splits membership (``splits.json``) is kept and
    ``dataset_stats.json`` recomputed from the episodes' stored statistics.
    """
    opts = options or MergeOptions()
    roots = [Path(s) for s in sources]
    check_new(Path(out), roots)
    entries, duplicates = _gather(roots)
    _check(entries, opts)
    dropped: dict[str, int] = {}
    linked = realigned = 0
    with new_dataset(Path(out), roots) as work:
        for entry in entries:
            was_linked = place(entry.path, work, copy=opts.copy)
            target = work / entry.path.name
            names = [s.name for s in entry.streams if s.name in opts.drop_streams]
            if names:
                drop_streams(target, names)  # on a copy: the source keeps its streams
                for name in names:
                    dropped[name] = dropped.get(name, 0) + 1
            rerate = opts.realign_hz is not None and opts.realign_hz != entry.aligned_rate_hz
            if opts.realign_hz is not None and rerate:
                realign(target, rate_hz=opts.realign_hz)
                realigned += 1
            linked += was_linked and not names and not rerate
        stats = finish_dataset(work, membership(roots))
    return MergeResult(Path(out), len(entries), linked, realigned, dropped, duplicates, stats)


def _gather(roots: Sequence[Path]) -> tuple[list[EpisodeEntry], int]:
    """Every episode of ``roots`` (an id in two sources once, if it is the same recording)."""
    if len({r.resolve() for r in roots}) != len(roots):
        raise DatasetError(f"a source is given twice: {', '.join(map(str, roots))}")
    by_id: dict[str, EpisodeEntry] = {}
    duplicates = 0
    for root in roots:
        files = list_episodes(root)
        if not files:
            raise DatasetError(f"{root}: no episode files (*.h5) to merge")
        for path in files:
            try:
                entry = scan_episode(path)
            except (EpisodeError, OSError) as exc:
                raise DatasetError(
                    f"{path}: unreadable, so not merged ({exc}); fix or remove it first"
                ) from exc
            # By file name too: two files of one name cannot both go into one directory.
            earlier = by_id.get(entry.episode_id) or by_id.get(path.name)
            if earlier is None:
                by_id[entry.episode_id] = by_id[path.name] = entry
            elif earlier.content_digest is not None and earlier.content_digest == entry.content_digest:
                duplicates += 1
            else:
                raise DatasetError(
                    f"{path} and {earlier.path}: episode {entry.episode_id} twice with different content; "
                    "remove one (tg dataset rm) before merging"
                )
    unique = {id(e): e for e in by_id.values()}.values()
    return sorted(unique, key=lambda e: e.path.name), duplicates


def _check(entries: Sequence[EpisodeEntry], opts: MergeOptions) -> None:
    present = {s.name for e in entries for s in e.streams}
    unknown = sorted(set(opts.drop_streams) - present)
    if unknown:
        raise DatasetError(
            f"--drop-stream {', '.join(unknown)}: no episode has such a stream ({sorted(present)})"
        )
    problems = [
        _differs(entries, "robot profiles", lambda e: e.robot, "merge each robot's episodes separately"),
        _missing_streams(entries, opts.drop_streams),
        _columns_differ(entries, opts.drop_streams),
    ]
    if opts.realign_hz is None:
        problems.append(
            _differs(
                entries,
                "aligned rates",
                lambda e: e.aligned_rate_hz,
                "pass --realign HZ to re-derive every episode's aligned view at one rate",
            )
        )
    found = [p for p in problems if p]
    if found:
        raise DatasetError("cannot merge: " + "; ".join(found))


def _differs(
    entries: Sequence[EpisodeEntry], what: str, key: Callable[[EpisodeEntry], Hashable], fix: str
) -> str | None:
    groups: dict[Hashable, list[EpisodeEntry]] = {}
    for entry in entries:
        groups.setdefault(key(entry), []).append(entry)
    if len(groups) < 2:
        return None
    parts = [f"{value!r} in {len(g)} episode(s), e.g. {g[0].path}" for value, g in groups.items()]
    return f"{what} differ: {', '.join(parts)}; {fix}"


def _missing_streams(entries: Sequence[EpisodeEntry], dropping: Sequence[str]) -> str | None:
    counts: dict[str, list[EpisodeEntry]] = {}
    for entry in entries:
        for spec in entry.streams:
            if spec.name not in dropping:
                counts.setdefault(spec.name, []).append(entry)
    partial = {name: have for name, have in sorted(counts.items()) if len(have) < len(entries)}
    if not partial:
        return None
    parts = []
    for name, have in partial.items():
        lacking = next(e for e in entries if e not in have)
        parts.append(f"{name} in {len(have)} of {len(entries)} episode(s) (not in {lacking.path})")
    flags = " ".join(f"--drop-stream {name}" for name in partial)
    return f"stream sets differ: {', '.join(parts)}; pass {flags} to leave them out"


def _columns_differ(entries: Sequence[EpisodeEntry], dropping: Sequence[str]) -> str | None:
    first: dict[str, tuple[EpisodeEntry, Any]] = {}
    for entry in entries:
        for spec in entry.streams:
            if spec.name in dropping:
                continue
            shape = (
                (spec.kind.value, spec.role.value, spec.names, spec.units)
                if isinstance(spec, ArrayStreamSpec)
                else (spec.kind.value, spec.role.value, spec.frame_shape)
            )
            seen = first.setdefault(spec.name, (entry, shape))
            if seen[1] != shape:
                return (
                    f"stream {spec.name} differs in kind, role, columns or units: {seen[1]} in "
                    f"{seen[0].path}, {shape} in {entry.path}; convert one dataset "
                    f"(or --drop-stream {spec.name})"
                )
    return None
