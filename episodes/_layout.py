"""Names fixed by datasets/FORMAT.md. The writer and the reader both use these, never literals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "ALIGNED",
    "ANNOTATIONS",
    "EMBODIMENT",
    "EPISODE_SUFFIX",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PARTIAL_SUFFIX",
    "STREAMS",
    "final_path_of",
    "json_attr",
    "parse_json_attr",
]

FORMAT_NAME = "tg-episode"
FORMAT_VERSION = 1

STREAMS = "streams"
ALIGNED = "aligned"
ANNOTATIONS = "annotations"
EMBODIMENT = "embodiment"

EPISODE_SUFFIX = ".h5"
PARTIAL_SUFFIX = ".partial"
"""Appended to the episode name while it records; removed by the one atomic rename at the end."""

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_ABORTED = "aborted"
STATUS_RECOVERED = "recovered"
STATUSES = (STATUS_RECORDING, STATUS_COMPLETE, STATUS_ABORTED, STATUS_RECOVERED)

CLOCK_STAMP = "stamp"
CLOCK_ARRIVAL = "arrival"


def final_path_of(partial: Path) -> Path:
    """``X.h5.partial`` -> ``X.h5``."""
    name = partial.name
    if name.endswith(PARTIAL_SUFFIX):
        return partial.with_name(name[: -len(PARTIAL_SUFFIX)])
    return partial


def json_attr(value: Any) -> str:
    """Structured metadata goes into attributes as JSON text, keys sorted for stable files."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def parse_json_attr(text: Any) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not text:
        return None
    return json.loads(text)
