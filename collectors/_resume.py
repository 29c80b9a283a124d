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
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from collectors._bags import Bag, bag_fingerprint, bag_size
from collectors._find import SkippedBag
from episodes._maintenance import list_episodes
from episodes._reader import open_episode
from episodes._spec import JsonValue
from episodes._storage import writing
from tg_base import TgError

__all__ = [
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


@contextlib.contextmanager
def ingesting(out: Path, bag: Path, fingerprint: str) -> Iterator[Callable[[Path], None]]:
    """While ``bag`` is ingested into ``out``: a hidden marker file there, locked by this process,
    naming the bag and (through the function yielded) each partial episode started from it.

    Removed when the bag is done, written or cleaned up; one left unlocked is what a killed
    ingest left (:func:`interrupted_ingests`), however little of its partial reached the disk.
    """
    marker = out / f"{_MARKER_PREFIX}{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"
    with writing(out, f"starting to ingest {bag.name}", left="nothing of the bag was written"):
        out.mkdir(parents=True, exist_ok=True)
        log = open(marker, "a", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    with log:
        fcntl.flock(log.fileno(), fcntl.LOCK_EX)  # released when this process ends, however

        def note(entry: dict[str, str]) -> None:
            log.write(json.dumps(entry) + "\n")
            log.flush()  # in the file before the partial exists: a kill -9 cannot come between

        note({"bag": bag.name, "fingerprint": fingerprint})
        try:
            yield lambda partial: note({"partial": partial.name})
        finally:
            marker.unlink(missing_ok=True)


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
