"""``tg dataset split``: one dataset directory into several, by a label or into train/validation.

The parts are new dataset directories under ``out`` (``out/<value>/``), their files hard
links to the source's where possible; each keeps the source's train/validation membership
and gets its statistics.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from episodes import _layout as fmt
from episodes._dataset_ops._staging import check_new, finish_dataset, membership, new_dataset, place
from episodes._errors import DatasetError
from episodes._maintenance import list_episodes
from episodes._reader import EpisodeMetadata, open_episode
from episodes._splits import DEFAULT_VALID_FRACTION, Splits, load_splits

__all__ = ["SPLIT_KEYS", "SplitOptions", "SplitResult", "split_dataset"]


def _review(meta: EpisodeMetadata) -> str:
    return meta.review.state if meta.review is not None else "unreviewed"


SPLIT_KEYS: dict[str, Callable[[EpisodeMetadata], str]] = {
    "task": lambda m: m.task,
    "robot": lambda m: m.robot.profile,
    "operator": lambda m: m.operator,
    "station": lambda m: m.station,
    "success": lambda m: fmt.success_text(m.success),
    "review": _review,
}
"""What ``--by`` splits on: name -> the metadata's value naming an episode's part."""


@dataclass(frozen=True, kw_only=True)
class SplitOptions:
    """Split by one of :data:`SPLIT_KEYS` (``by``), or into ``train``/``valid`` (``fraction``: the
    validation share, as splits.json); ``copy`` copies files instead of hard-linking them."""

    by: str | None = None
    fraction: float | None = None
    copy: bool = False

    def __post_init__(self) -> None:
        if (self.by is None) == (self.fraction is None):
            raise DatasetError("split by a label (--by) or into train/valid (--fraction), one of the two")
        if self.by is not None and self.by not in SPLIT_KEYS:
            raise DatasetError(f"--by {self.by!r}: not one of {', '.join(SPLIT_KEYS)}")
        if self.fraction is not None and not 0.0 < self.fraction < 1.0:
            raise DatasetError(f"--fraction {self.fraction}: must be within (0, 1)")


@dataclass(frozen=True)
class SplitResult:
    """The parts written: directory name -> number of episodes."""

    out: Path
    parts: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "parts": dict(self.parts)}


def split_dataset(
    source: str | os.PathLike[str], out: str | os.PathLike[str], options: SplitOptions
) -> SplitResult:
    """Split dataset directory ``source`` into new dataset directories under the new ``out``.

    With ``fraction``, an episode ``splits.json`` lists keeps its recorded split; a file
    recording another fraction is refused (it would move recorded episodes).
    """
    root = Path(source)
    check_new(Path(out), [root])
    files = list_episodes(root)
    if not files:
        raise DatasetError(f"{root}: no episode files (*.h5) to split")
    part_of = (
        _by_split(root, options.fraction) if options.fraction is not None else _by_label(options.by or "")
    )
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(_dir_name(part_of(path)), []).append(path)
    splits = membership([root])
    with new_dataset(Path(out), [root]) as work:
        for name, paths in sorted(groups.items()):
            part = work / name
            part.mkdir()
            for path in paths:
                place(path, part, copy=options.copy)
            finish_dataset(part, splits)
    return SplitResult(Path(out), {name: len(paths) for name, paths in sorted(groups.items())})


def _by_label(by: str) -> Callable[[Path], str]:
    key = SPLIT_KEYS[by]

    def part_of(path: Path) -> str:
        with open_episode(path) as ep:
            return key(ep.metadata) or f"no_{by}"

    return part_of


def _by_split(root: Path, fraction: float) -> Callable[[Path], str]:
    recorded = load_splits(root)
    if recorded is not None and recorded.valid_fraction != fraction:
        raise DatasetError(
            f"{root}/splits.json: records valid fraction {recorded.valid_fraction}, not {fraction}; "
            f"use --fraction {recorded.valid_fraction}, or delete the file to split again"
        )
    splits = recorded or Splits(fraction or DEFAULT_VALID_FRACTION, frozenset(), frozenset())

    def part_of(path: Path) -> str:
        with open_episode(path) as ep:
            return splits.of(ep.metadata.episode_id)

    return part_of


def _dir_name(value: str) -> str:
    """A label as a directory name: characters other than letters, digits, ``.-_`` become ``_``."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", value).strip(".") or "_"
    return name
