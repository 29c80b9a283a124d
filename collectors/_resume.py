"""Ingesting into a folder again: bags whose episodes are already there are passed over.

Each episode records the bag it came from in ``extra`` (``bag_name``,
``bag_bytes``, ``bag_fingerprint``), so a run that was interrupted, or a folder
that gained new bags, can be ingested again without duplicates. Episodes
ingested before the fingerprint was recorded are known by their bag's path and
start time (``bag_path``, ``bag_start_time_ns``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from collectors._bags import Bag, bag_fingerprint, bag_size
from collectors._find import SkippedBag
from episodes._layout import final_path_of
from episodes._maintenance import list_episodes
from episodes._reader import open_episode
from episodes._spec import JsonValue
from episodes._storage import writing
from tg_base import TgError

__all__ = [
    "Attempt",
    "Ingested",
    "InterruptedIngest",
    "bag_source",
    "ingested_bags",
    "ingesting",
    "interrupted_ingests",
    "pending_bags",
    "remove_interrupted",
]


def bag_source(path: Path) -> dict[str, JsonValue]:
    """What an episode records (in ``extra``) of the bag it came from, to know that bag again."""
    return {"bag_name": path.name, "bag_bytes": bag_size(path), "bag_fingerprint": bag_fingerprint(path)}


@dataclass(frozen=True)
class Ingested:
    """The bags the episodes of a folder came from, each with one of its episodes."""

    by_fingerprint: dict[str, Path]
    # Episodes ingested before fingerprints were recorded: by the bag's resolved path and start time.
    by_path_and_start: dict[tuple[str, int], Path]

    def episode_of(self, bag: Path, fingerprint: str) -> Path | None:
        found = self.by_fingerprint.get(fingerprint)
        where = str(bag.resolve())
        if found is not None or not any(path == where for path, _ in self.by_path_and_start):
            return found
        try:  # only for a bag at the very path of an older episode: opening it reads its index
            with Bag(bag) as reader:
                return self.by_path_and_start.get((where, reader.start_ns))
        except TgError:
            return None


def ingested_bags(out: Path) -> Ingested:
    """What :class:`Ingested` says of the episodes in ``out``."""
    ingested = Ingested({}, {})
    for episode in list_episodes(out) if out.is_dir() else []:
        try:
            with open_episode(episode) as reader:
                extra = reader.metadata.extra
        except Exception:  # a damaged episode tells nothing about bags (validate reports it)
            continue
        fingerprint, path, start = (
            extra.get(k) for k in ("bag_fingerprint", "bag_path", "bag_start_time_ns")
        )
        if isinstance(fingerprint, str):
            ingested.by_fingerprint.setdefault(fingerprint, episode)
        elif isinstance(path, str) and isinstance(start, int):
            ingested.by_path_and_start.setdefault((path, start), episode)
    return ingested


def pending_bags(bags: Sequence[Path], out: Path) -> tuple[list[int], dict[int, SkippedBag]]:
    """Which of ``bags`` (indices) still need ingesting into ``out``, and those passed over, with why.

    Passed over: a bag with episodes in ``out`` already, and a bag given twice
    (the same contents under two paths count as twice).
    """
    done = ingested_bags(out)
    seen: dict[str, Path] = {}
    todo: list[int] = []
    skipped: dict[int, SkippedBag] = {}
    for i, bag in enumerate(bags):
        if bag_size(bag) == 0:  # missing or empty: ingesting it says what is wrong
            todo.append(i)
            continue
        try:
            fingerprint = bag_fingerprint(bag)
        except OSError:  # unreadable: ingesting it says what is wrong
            todo.append(i)
            continue
        if (episode := done.episode_of(bag, fingerprint)) is not None:
            skipped[i] = SkippedBag(bag, f"already ingested into {out} (episode {episode.name})")
        elif fingerprint in seen:
            skipped[i] = SkippedBag(bag, f"the same bag as {seen[fingerprint]}, given before it")
        else:
            seen[fingerprint] = bag
            todo.append(i)
    return todo, skipped


_MARKER_PREFIX = ".ingesting-"


class Attempt:
    """One run at ingesting a bag (:func:`ingesting` yields it): call it with each partial episode
    before that partial exists. ``earlier`` is what an attempt at the same bag that died before it
    (its worker or node lost, then retried) had left, removed before this one started."""

    def __init__(self, log: TextIO, earlier: InterruptedIngest | None) -> None:
        self._log = log
        self.earlier = earlier

    def note(self, entry: dict[str, str]) -> None:
        self._log.write(json.dumps(entry) + "\n")
        self._log.flush()  # in the file before the partial exists: a kill -9 cannot come between

    def __call__(self, partial: Path) -> None:
        self.note({"partial": partial.name})


@contextlib.contextmanager
def ingesting(out: Path, bag: Path, fingerprint: str) -> Iterator[Attempt]:
    """While ``bag`` is ingested into ``out``: a hidden marker file there, locked by this process,
    naming the bag and (through the :class:`Attempt` yielded) each partial episode started from it.

    Removed when the bag is done, written or cleaned up; one left unlocked is what a killed
    ingest left (:func:`interrupted_ingests`), however little of its partial reached the disk.
    Found here, it is an earlier attempt at this very bag that died (a retried task): its
    partials and the episodes it finished are removed first, so a retry never duplicates them.
    """
    marker = out / f"{_MARKER_PREFIX}{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"
    starting = functools.partial(
        writing, out, f"starting to ingest {bag.name}", left="nothing of the bag was written"
    )
    with starting():
        out.mkdir(parents=True, exist_ok=True)
        log = _lock_marker(marker)
    with log:
        with starting():
            attempt = Attempt(log, _remove_earlier_attempt(marker, log))
        attempt.note({"bag": bag.name, "fingerprint": fingerprint})
        try:
            yield attempt
        finally:
            marker.unlink(missing_ok=True)


def _lock_marker(marker: Path) -> TextIO:
    """``marker`` open and locked by this process (released when it ends, however).

    Waits while another live process ingests the same bag. The lock is taken again when
    the file it was got on was meanwhile removed by that process, its bag done.
    """
    while True:
        log = open(marker, "a+", encoding="utf-8")  # noqa: SIM115 - the caller closes it
        try:
            fcntl.flock(log.fileno(), fcntl.LOCK_EX)
            if os.fstat(log.fileno()).st_ino == os.stat(marker).st_ino:
                return log
        except FileNotFoundError:
            pass
        except BaseException:
            log.close()
            raise
        log.close()


def _remove_earlier_attempt(marker: Path, log: TextIO) -> InterruptedIngest | None:
    """What a dead earlier attempt wrote in the marker ``log`` (held by this process): removed."""
    log.seek(0)
    entries = _parse_entries(log.read().splitlines())
    if not entries or "fingerprint" not in entries[0]:
        log.truncate(0)
        return None
    partials = [marker.parent / e["partial"] for e in entries[1:] if "partial" in e]
    left = InterruptedIngest(
        marker,
        entries[0].get("bag", "?"),
        entries[0]["fingerprint"],
        tuple(p for p in partials if p.exists()),
        tuple(final for p in partials if (final := final_path_of(p)).exists()),
    )
    for path in (*left.partials, *left.episodes):
        path.unlink(missing_ok=True)
    log.truncate(0)
    return left


@dataclass(frozen=True)
class InterruptedIngest:
    """An ingest of the bag ``bag_name`` that was killed: its marker, the partial episodes it had
    started, and the episodes of the same bag it had finished (a bag split in segments)."""

    marker: Path
    bag_name: str
    fingerprint: str
    partials: tuple[Path, ...]
    episodes: tuple[Path, ...]

    def describe(self) -> str:
        files = [*self.partials, *self.episodes]
        removed = f"removed {', '.join(p.name for p in files)}" if files else "nothing of it was on disk"
        return (
            f"{self.bag_name}: its ingest into {self.marker.parent} was killed; {removed}; "
            "it is ingested again in full"
        )


def interrupted_ingests(out: Path) -> list[InterruptedIngest]:
    """What ingests killed while writing into ``out`` left there (markers no live process holds)."""
    found = []
    for marker in sorted(out.glob(f"{_MARKER_PREFIX}*")) if out.is_dir() else []:
        entries = _unheld_entries(marker)
        if entries is None or not entries or "fingerprint" not in entries[0]:
            continue
        partials = tuple(out / e["partial"] for e in entries[1:] if "partial" in e)
        found.append(
            InterruptedIngest(
                marker, entries[0].get("bag", "?"), entries[0]["fingerprint"],
                tuple(p for p in partials if p.exists()), (),
            )
        )  # fmt: skip
    if not found:
        return []
    finished = _episodes_by_fingerprint(out)
    return [replace(f, episodes=tuple(finished.get(f.fingerprint, ()))) for f in found]


def _unheld_entries(marker: Path) -> list[dict[str, str]] | None:
    """The marker's entries, or None while a live ingest holds it."""
    try:
        with open(marker, encoding="utf-8") as log:
            try:
                fcntl.flock(log.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            lines = log.read().splitlines()
    except OSError:
        return None
    return _parse_entries(lines)


def _parse_entries(lines: list[str]) -> list[dict[str, str]]:
    entries = []
    for line in lines:
        with contextlib.suppress(ValueError):  # a line cut short by the kill
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append({str(k): str(v) for k, v in entry.items()})
    return entries


def _episodes_by_fingerprint(out: Path) -> dict[str, list[Path]]:
    by: dict[str, list[Path]] = {}
    for episode in list_episodes(out):
        try:
            with open_episode(episode) as reader:
                fingerprint = reader.metadata.extra.get("bag_fingerprint")
        except Exception:  # a damaged episode tells nothing about bags (validate reports it)
            continue
        if isinstance(fingerprint, str):
            by.setdefault(fingerprint, []).append(episode)
    return by


def remove_interrupted(out: Path) -> tuple[str, ...]:
    """Remove what killed ingests left in ``out`` (:func:`interrupted_ingests`); say what, per bag.

    Their bags then count as not ingested and are ingested again, whole: a bag's
    episodes are all written by one run, never half by one and half by another.
    """
    notes = []
    for left in interrupted_ingests(out):
        for path in (*left.partials, *left.episodes, left.marker):
            path.unlink(missing_ok=True)
        notes.append(left.describe())
    return tuple(notes)
