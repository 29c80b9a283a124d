"""Annotation groups in ``/annotations``: replaced whole, in plain HDF5 types (see episodes/QA.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np

from episodes import _layout as fmt
from tg_base import __version__

__all__ = ["new_group", "put_strings", "strings", "text"]


def new_group(f: Any, name: str, tool: str) -> Any:
    """``/annotations/<name>``, emptied, stamped with the tool and version that wrote it."""
    annotations = f.require_group(fmt.ANNOTATIONS)
    if name in annotations:
        del annotations[name]
    group = annotations.create_group(name)
    group.attrs["tool"] = tool
    group.attrs["software_version"] = f"training-ground {__version__}"
    return group


def put_strings(group: Any, name: str, values: Sequence[str]) -> None:
    group.create_dataset(name, data=np.array(list(values), dtype=object), dtype=h5py.string_dtype())


def strings(group: Any, name: str) -> tuple[str, ...]:
    return tuple(text(v) for v in group[name][()])


def text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
