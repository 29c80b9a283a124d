"""Ingesting into a folder again: bags whose episodes are already there are passed over.

Each episode records the bag it came from in ``extra`` (``bag_name``,
``bag_bytes``, ``bag_fingerprint``), so a run that was interrupted, or a folder
that gained new bags, can be ingested again without duplicates. Episodes
ingested before the fingerprint was recorded are known by their bag's path and
start time (``bag_path``, ``bag_start_time_ns``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from collectors._bags import Bag, bag_fingerprint, bag_size
from collectors._find import SkippedBag
from episodes._maintenance import list_episodes
from episodes._reader import open_episode
from episodes._spec import JsonValue
from tg_base import TgError

__all__ = ["Ingested", "bag_source", "ingested_bags", "pending_bags"]


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
