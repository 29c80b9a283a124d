"""Which bags the paths given to ingest stand for, and what in a folder looks like a bag but is not one.

A folder that is not itself a ROS 2 bag stands for the bags directly in it:
ROS 1 ``.bag`` files, ROS 2 bag directories (with ``metadata.yaml``) and bare
``.mcap`` / ``.db3`` files. What looks like a recording but cannot be ingested
as it is, is listed with the reason, never passed over in silence: a ROS 2
bag directory without ``metadata.yaml`` (an interrupted ``ros2 bag record``)
and a ROS 1 ``.bag.active`` file (an interrupted ``rosbag record``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from collectors._bags import ROS2_STORAGE_SUFFIXES

__all__ = ["BagSearch", "SkippedBag", "find_bags"]


@dataclass(frozen=True)
class SkippedBag:
    """A path given to ingest (or found in a folder given) that was not ingested, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class BagSearch:
    bags: tuple[Path, ...]
    skipped: tuple[SkippedBag, ...]


def find_bags(paths: Sequence[Path]) -> BagSearch:
    """The bags ``paths`` stand for; a path given that is no bag stays, for ingest to report."""
    bags: list[Path] = []
    skipped: list[SkippedBag] = []
    for path in paths:
        if not path.is_dir() or _is_ros2_bag(path) or _is_headless_ros2_bag(path):
            bags.append(path)  # ingest reads it or says why it cannot
            continue
        found, passed = _folder(path)
        bags.extend(found or ([] if passed else [path]))  # an empty folder stays, to be reported
        skipped.extend(passed)
    return BagSearch(tuple(bags), tuple(skipped))


def _folder(folder: Path) -> tuple[list[Path], list[SkippedBag]]:
    bags: list[Path] = []
    skipped: list[SkippedBag] = []
    for entry in sorted(_listing(folder)):
        if entry.is_dir():
            if _is_ros2_bag(entry):
                bags.append(entry)
            elif _is_headless_ros2_bag(entry):
                skipped.append(SkippedBag(entry, _NO_METADATA.format(path=entry)))
            elif any(p.suffix in (".bag", *ROS2_STORAGE_SUFFIXES) for p in _listing(entry)):
                skipped.append(SkippedBag(entry, _NOT_SEARCHED))
        elif entry.suffix == ".bag" or entry.suffix in ROS2_STORAGE_SUFFIXES:
            bags.append(entry)
        elif entry.name.endswith(".bag.active"):
            skipped.append(SkippedBag(entry, _ACTIVE.format(path=entry)))
    return bags, skipped


_NO_METADATA = (
    "a ROS 2 bag directory without metadata.yaml (an interrupted ros2 bag record leaves none); "
    "`ros2 bag reindex {path}` rebuilds it"
)
_NOT_SEARCHED = (
    "a folder holding bag files (.bag, .mcap or .db3): folders inside a folder are not searched; give it, "
    "or its files, to ingest"
)
_ACTIVE = (
    "a ROS 1 bag still being recorded, or interrupted: `rosbag reindex {path}`, then rename it "
    "without .active"
)


def _is_ros2_bag(path: Path) -> bool:
    return (path / "metadata.yaml").is_file()


def _is_headless_ros2_bag(path: Path) -> bool:
    """A directory without metadata.yaml whose storage files are named after it, as ros2 bag record does.

    (``<dir>_0.mcap``, ``<dir>_1.mcap``, ...)
    """
    if _is_ros2_bag(path):
        return False
    named = re.compile(
        rf"{re.escape(path.name)}(_\d+)?({'|'.join(re.escape(s) for s in ROS2_STORAGE_SUFFIXES)})"
    )
    storage = _storage_files(path)
    return bool(storage) and all(named.fullmatch(p.name) for p in storage)


def _storage_files(folder: Path) -> list[Path]:
    return [p for p in _listing(folder) if p.suffix in ROS2_STORAGE_SUFFIXES and p.is_file()]


def _listing(folder: Path) -> list[Path]:
    """What is in ``folder``; nothing when it cannot be listed (ingest reports an unreadable bag itself)."""
    try:
        return list(folder.iterdir())
    except OSError:
        return []
