"""Ingesting into a folder again: bags whose episodes are already there are passed over.

Each episode records the bag it came from in ``extra`` (``bag_name``,
``bag_bytes``, ``bag_fingerprint``), so a run that was interrupted, or a folder
that gained new bags, can be ingested again without duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from collectors._bags import bag_fingerprint, bag_size
from collectors._find import SkippedBag
from episodes._maintenance import list_episodes
from episodes._reader import open_episode
from episodes._spec import JsonValue

__all__ = ["bag_source", "ingested_fingerprints", "pending_bags"]


def bag_source(path: Path) -> dict[str, JsonValue]:
    """What an episode records (in ``extra``) of the bag it came from, to know that bag again."""
    return {"bag_name": path.name, "bag_bytes": bag_size(path), "bag_fingerprint": bag_fingerprint(path)}


def ingested_fingerprints(out: Path) -> dict[str, Path]:
    """``bag_fingerprint`` -> an episode of ``out`` ingested from a bag with that fingerprint."""
    if not out.is_dir():
        return {}
    found: dict[str, Path] = {}
    for episode in list_episodes(out):
        try:
            with open_episode(episode) as reader:
                fingerprint = reader.metadata.extra.get("bag_fingerprint")
        except Exception:  # a damaged episode tells nothing about bags (validate reports it)
            continue
        if isinstance(fingerprint, str):
            found.setdefault(fingerprint, episode)
    return found


def pending_bags(bags: Sequence[Path], out: Path) -> tuple[list[int], dict[int, SkippedBag]]:
    """Which of ``bags`` (indices) still need ingesting into ``out``, and those passed over, with why.

    Passed over: a bag with episodes in ``out`` already, and a bag given twice
    (the same contents under two paths count as twice).
    """
    done = ingested_fingerprints(out)
    seen: dict[str, Path] = {}
    todo: list[int] = []
    skipped: dict[int, SkippedBag] = {}
    for i, bag in enumerate(bags):
        if bag_size(bag) == 0:  # missing or empty: ingesting it says what is wrong
            todo.append(i)
            continue
        try:
            fingerprint = bag_fingerprint(bag)
        except OSError:  # missing or unreadable: ingesting it says what is wrong
            todo.append(i)
            continue
        if fingerprint in done:
            skipped[i] = SkippedBag(bag, f"already ingested into {out} (episode {done[fingerprint].name})")
        elif fingerprint in seen:
            skipped[i] = SkippedBag(bag, f"the same bag as {seen[fingerprint]}, given before it")
        else:
            seen[fingerprint] = bag
            todo.append(i)
    return todo, skipped
