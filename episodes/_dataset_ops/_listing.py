"""``tg dataset ls`` and id lookups: a dataset's episodes as the loader's filters see them."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from episodes._dataset_ops._staging import episode_id_of
from episodes._errors import DatasetError, EpisodeError
from episodes._maintenance import list_episodes
from episodes._training import EpisodeEntry, EpisodeFilter, scan_episode

__all__ = ["DatasetListing", "episode_paths", "list_dataset"]


@dataclass(frozen=True)
class DatasetListing:
    """The episodes of a dataset that pass a filter, the files that could not be read, and
    how many each of the filter's reasons left out (as :class:`episodes.Selection`)."""

    root: Path
    episodes: tuple[EpisodeEntry, ...]
    unreadable: tuple[tuple[Path, str], ...]
    excluded: Mapping[str, int]


def list_dataset(root: str | os.PathLike[str], episode_filter: EpisodeFilter | None = None) -> DatasetListing:
    """Every episode of ``root`` that passes ``episode_filter`` (default: every one, checked or not).

    Unlike :func:`episodes.select_episodes` it never refuses: a listing shows mixed
    robots and stream sets, repeats and an empty result as they are.

    >>> list_dataset("datasets/demo", EpisodeFilter(success=True)).episodes[0].task  # doctest: +SKIP
    'pick_place'
    """
    chosen = episode_filter or EpisodeFilter(qa="any")
    kept: list[EpisodeEntry] = []
    unreadable: list[tuple[Path, str]] = []
    excluded: Counter[str] = Counter()
    for path in list_episodes(root):
        try:
            entry = scan_episode(path)
        except (EpisodeError, OSError) as exc:
            unreadable.append((path, str(exc)))
            continue
        reason = chosen.rejects(entry)
        if reason is None:
            kept.append(entry)
        else:
            excluded[reason] += 1
    return DatasetListing(Path(root), tuple(kept), tuple(unreadable), dict(excluded))


def episode_paths(root: str | os.PathLike[str], ids: Sequence[str]) -> list[Path]:
    """The files of the episodes ``ids`` in dataset ``root``; an unknown id raises naming it."""
    present = {episode_id_of(p): p for p in list_episodes(root)}
    unknown = [i for i in ids if i not in present]
    if unknown:
        raise DatasetError(
            f"{root}: no episode {', '.join(unknown)} ({len(present)} episode(s) here; "
            f"`tg dataset ls {root}` lists them)"
        )
    return [present[i] for i in dict.fromkeys(ids)]
