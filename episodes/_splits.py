"""The dataset's train/validation split by episode, kept in ``<dataset>/splits.json`` (datasets/FORMAT.md).

An episode's split follows from a hash of its id alone, so adding episodes never
moves existing ones, and every tool (loader, exporters) reads the same file.

>>> split_of("01JD3Q6Z2N9X8Y7W6V5T4S3R2Q", 0.1)
'train'
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from episodes._errors import DatasetError

__all__ = [
    "DEFAULT_VALID_FRACTION",
    "SPLITS_FILE",
    "Splits",
    "load_splits",
    "split_of",
    "update_splits",
    "write_splits",
]

SPLITS_FILE = "splits.json"
DEFAULT_VALID_FRACTION = 0.1
SplitName = Literal["train", "valid"]
_FORMAT = "tg-splits"
_VERSION = 1
_METHOD = "sha256-episode-id"


def split_of(episode_id: str, valid_fraction: float) -> SplitName:
    """``valid`` when sha256(id)'s first 8 bytes, as a fraction of 2**64, are below ``valid_fraction``."""
    digest = hashlib.sha256(episode_id.encode("utf-8")).digest()
    return "valid" if int.from_bytes(digest[:8], "big") / 2**64 < valid_fraction else "train"


@dataclass(frozen=True)
class Splits:
    """Which episodes (by id) are in the train and the validation split."""

    valid_fraction: float
    train: frozenset[str]
    valid: frozenset[str]
    method: str = _METHOD

    def of(self, episode_id: str) -> SplitName:
        """The recorded split of an episode, or the hash's for an episode the file does not list."""
        if episode_id in self.valid:
            return "valid"
        if episode_id in self.train:
            return "train"
        return split_of(episode_id, self.valid_fraction)

    def to_json(self) -> dict[str, object]:
        return {
            "format": _FORMAT,
            "format_version": _VERSION,
            "method": self.method,
            "valid_fraction": self.valid_fraction,
            "splits": {"train": sorted(self.train), "valid": sorted(self.valid)},
        }


def load_splits(root: str | os.PathLike[str]) -> Splits | None:
    """``<root>/splits.json``, or None when there is none; a damaged file raises :class:`DatasetError`."""
    path = Path(root) / SPLITS_FILE
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") != _FORMAT or int(payload.get("format_version", 0)) > _VERSION:
            raise ValueError(f"not a version {_VERSION} {_FORMAT} file")
        splits = payload["splits"]
        return Splits(
            valid_fraction=float(payload["valid_fraction"]),
            train=frozenset(str(i) for i in splits["train"]),
            valid=frozenset(str(i) for i in splits["valid"]),
            method=str(payload["method"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: unreadable split file ({exc}); delete it to split again") from exc


def update_splits(
    root: str | os.PathLike[str], episode_ids: Iterable[str], *, valid_fraction: float | None = None
) -> Splits:
    """The dataset's splits covering ``episode_ids``, written to ``<root>/splits.json`` if that changed.

    Episodes the file lists keep their recorded split; new ones get the hash's.
    ``valid_fraction`` defaults to the file's (or 0.1 without a file); a
    different one is refused, since it would move recorded episodes. A directory
    that cannot be written to only gets a warning: the splits still hold in memory.
    """
    where = Path(root)
    recorded = load_splits(where)
    if valid_fraction is not None and not 0.0 <= valid_fraction < 1.0:
        raise DatasetError(f"valid_fraction must be within [0, 1), got {valid_fraction}")
    if recorded is not None and valid_fraction is not None and valid_fraction != recorded.valid_fraction:
        raise DatasetError(
            f"{where / SPLITS_FILE}: records valid_fraction {recorded.valid_fraction}, not {valid_fraction}; "
            "leave valid_fraction out to use the recorded split, or delete the file to split again"
        )
    fraction = (
        recorded.valid_fraction
        if recorded is not None
        else (DEFAULT_VALID_FRACTION if valid_fraction is None else valid_fraction)
    )
    base = recorded or Splits(fraction, frozenset(), frozenset())
    ids = sorted(set(episode_ids))
    valid = frozenset(i for i in ids if base.of(i) == "valid")
    splits = Splits(fraction, frozenset(ids) - valid, valid, base.method)
    if recorded is None or recorded.train != splits.train or recorded.valid != splits.valid:
        try:
            write_splits(where, splits)
        except OSError as exc:
            warnings.warn(
                f"{where / SPLITS_FILE}: cannot write the splits ({exc}); using them unsaved",
                stacklevel=2,
            )
    return splits


def write_splits(root: str | os.PathLike[str], splits: Splits) -> None:
    """Write ``splits`` to ``<root>/splits.json`` (replaced in one step); raises OSError."""
    where = Path(root)
    work = where / f".{SPLITS_FILE}.updating"
    work.write_text(json.dumps(splits.to_json(), indent=1) + "\n", encoding="utf-8")
    os.replace(work, where / SPLITS_FILE)
