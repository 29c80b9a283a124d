"""Writing ``/annotations``: groups replaced whole, in plain HDF5 types, through the update journal.

The tools (``tg annotate``, ``tg validate --write``) describe what to store as
:class:`AnnotationUpdate` values; only this module turns them into HDF5 objects,
inside :func:`~episodes._maintenance.update_in_place` (crash-safe, in place; the
raw streams and so the content digest are never touched). The layout of each
group is the tools' (episodes/QA.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes._maintenance import update_in_place
from tg_base import __version__

__all__ = ["AnnotationUpdate", "write_annotations"]


@dataclass(frozen=True)
class AnnotationUpdate:
    """One group ``/annotations/<name>`` to write, replacing any group of that name.

    ``name`` may name a subgroup (``stats/joint_position``) of a group written
    earlier in the same update. ``tool`` (top-level groups) is stamped on the group
    with the software version. ``attrs``: scalars or numeric arrays; ``string_attrs``:
    string arrays; ``strings``/``arrays``: string and numeric datasets (plain integer
    lists are stored as int64, whatever the platform's default integer).
    """

    name: str
    tool: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    string_attrs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    strings: Mapping[str, Sequence[str]] = field(default_factory=dict)
    arrays: Mapping[str, npt.ArrayLike] = field(default_factory=dict)


def write_annotations(path: str | os.PathLike[str], updates: Sequence[AnnotationUpdate]) -> None:
    """Write ``updates`` into the finished episode ``path`` in one crash-safe in-place update."""
    with update_in_place(path) as f:
        root = f.require_group(fmt.ANNOTATIONS)
        for update in updates:
            _write_group(root, update)


def _write_group(root: Any, update: AnnotationUpdate) -> None:
    if update.name in root:
        del root[update.name]
    group = root.create_group(update.name)
    if update.tool:
        group.attrs["tool"] = update.tool
        group.attrs["software_version"] = f"training-ground {__version__}"
    for key, value in update.attrs.items():
        group.attrs[key] = value
    for key, texts in update.string_attrs.items():
        group.attrs.create(key, np.array(list(texts), dtype=object), dtype=h5py.string_dtype())
    for key, texts in update.strings.items():
        group.create_dataset(key, data=np.array(list(texts), dtype=object), dtype=h5py.string_dtype())
    for key, values in update.arrays.items():
        data = np.asarray(values)
        group.create_dataset(
            key, data=data.astype(np.int64) if data.dtype.kind in "iu" or not data.size else data
        )
