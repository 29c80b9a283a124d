"""Which episodes the training loader uses and which of their aligned ticks are samples.

:func:`choose_episodes` applies the :class:`EpisodeFilter` and the train/validation
split kept in ``<root>/splits.json``; :func:`index_samples` finds each episode's
usable ticks from the aligned view alone (no sample data) and numbers the samples
across episodes. Sample ``i`` is tick ``ranges[e][0] + i - starts[e]`` of episode ``e``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes._errors import DatasetError, EpisodeError, EpisodeSkippedWarning
from episodes._maintenance import list_episodes
from episodes._reader import EpisodeReader
from episodes._splits import update_splits
from episodes._training import (
    EpisodeEntry,
    EpisodeFilter,
    OnMixed,
    SampleLayout,
    Selection,
    select_episodes,
    usable_range,
)

__all__ = ["SampleIndex", "SplitName", "check_split", "choose_episodes", "index_samples"]

SplitName = Literal["train", "valid"]


@dataclass(frozen=True)
class SampleIndex:
    """The episodes of a dataset, their usable ticks ``[lo, hi)`` and where their samples start.

    ``starts[e]`` is the number of samples before episode ``e``; ``starts[-1]``, also
    :attr:`samples`, is the number of samples.
    """

    layout: SampleLayout
    episodes: tuple[EpisodeEntry, ...]
    ranges: tuple[tuple[int, int], ...]
    starts: npt.NDArray[np.int64]
    active_only: bool
    samples: int = field(init=False)
    """A plain int: ``len()`` of the dataset reads it for every sample."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", int(self.starts[-1]))

    def __len__(self) -> int:
        return self.samples

    def episode_of(self, sample: int) -> int:
        """The episode (an index of :attr:`episodes`) of sample ``sample``, which must be in range."""
        return int(np.searchsorted(self.starts, sample, side="right")) - 1


def check_split(split: object, valid_fraction: float | None) -> None:
    """Refuse a split name other than ``train``/``valid``, and a fraction without a split."""
    if split not in (None, "train", "valid"):
        raise DatasetError(f"split must be 'train', 'valid' or None, got {split!r}")
    if split is None and valid_fraction is not None:
        raise DatasetError("valid_fraction only applies with split='train' or 'valid'")


def choose_episodes(
    root: Path,
    episode_filter: EpisodeFilter,
    *,
    on_mixed: OnMixed,
    split: SplitName | None,
    valid_fraction: float | None,
) -> Selection:
    """The episodes of ``root`` that pass the filter and, with ``split``, lie in that split
    (episodes of the other split are not counted as left out: they are not an exclusion).

    The split covers every episode file of the directory, not only the selected ones, so
    a filter never moves an episode from one split to the other.
    """
    selection = select_episodes(root, episode_filter, on_mixed=on_mixed)
    if split is None:
        return selection
    entries = list(selection.episodes)
    ids = [p.name.removesuffix(fmt.EPISODE_SUFFIX) for p in list_episodes(root)]
    splits = update_splits(root, ids, valid_fraction=valid_fraction)
    entries = [e for e in entries if splits.of(e.episode_id) == split]
    if not entries:
        raise DatasetError(
            f"{root}: none of the {len(selection.episodes)} selected episodes is in split "
            f"{split!r} (valid_fraction {splits.valid_fraction}, {len(splits.valid)} valid of "
            f"{len(ids)}); use split=None or a larger dataset"
        )
    return replace(selection, episodes=tuple(entries))


def index_samples(
    root: Path, entries: list[EpisodeEntry], layout: SampleLayout, *, active_only: bool
) -> SampleIndex:
    """Number the usable ticks of ``entries``; an unreadable episode is skipped with a warning."""
    kept: list[EpisodeEntry] = []
    ranges: list[tuple[int, int]] = []
    for entry in entries:
        try:
            with EpisodeReader(entry.path) as reader:
                ranges.append(usable_range(entry, layout, reader.aligned, active_only=active_only))
        except DatasetError:
            raise
        except (EpisodeError, OSError, KeyError, ValueError) as exc:
            warnings.warn(f"{entry.path}: skipped, unreadable ({exc})", EpisodeSkippedWarning, stacklevel=3)
            continue
        kept.append(entry)
    if not kept:
        raise DatasetError(f"{root}: every selected episode is unreadable")
    counts = [hi - lo for lo, hi in ranges]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if starts[-1] == 0:
        used = (*layout.state_streams, *layout.action_streams, *layout.camera_names)
        raise DatasetError(
            f"{root}: the {len(kept)} selected episode(s) have no aligned tick where every "
            f"stream used ({', '.join(used)}) has a sample"
            + (" within the active range" if active_only else "")
        )
    return SampleIndex(layout, tuple(kept), tuple(ranges), starts, active_only)
