"""Dataset surgery: merge, split, remove to trash and restore, over dataset directories.

Every verb writes a new dataset (staged, renamed into place) or moves whole files;
none changes an episode's raw data in place.
"""

from episodes._dataset_ops._listing import DatasetListing, episode_paths, list_dataset
from episodes._dataset_ops._merge import MergeOptions, MergeResult, merge_datasets
from episodes._dataset_ops._split import SPLIT_KEYS, SplitOptions, SplitResult, split_dataset
from episodes._dataset_ops._trash import (
    TRASH_DIR,
    TrashRecord,
    remove_episodes,
    restore_episodes,
    trashed_episodes,
)

__all__ = [
    "SPLIT_KEYS",
    "TRASH_DIR",
    "DatasetListing",
    "MergeOptions",
    "MergeResult",
    "SplitOptions",
    "SplitResult",
    "TrashRecord",
    "episode_paths",
    "list_dataset",
    "merge_datasets",
    "remove_episodes",
    "restore_episodes",
    "split_dataset",
    "trashed_episodes",
]
