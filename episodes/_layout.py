"""Names fixed by datasets/FORMAT.md. Every module uses these, never literals.

:mod:`episodes._schema` declares what lies under each name (types, defaults,
which stream kinds have it); this module only holds the names and the small
helpers every reader and writer of the files shares, so that importing it
imports nothing else of the package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "ALIGNED",
    "ALIGNED_STREAMS",
    "ANNOTATIONS",
    "ARRIVAL_NS",
    "ATTR_ABORT_REASON",
    "ATTR_CALIBRATION",
    "ATTR_CHANNELS",
    "ATTR_CLOCK",
    "ATTR_CONTENT_DIGEST",
    "ATTR_EXTRA",
    "ATTR_IMPORT",
    "ATTR_LABEL_HISTORY",
    "ATTR_NOTES",
    "ATTR_NUM_FRAMES",
    "ATTR_RATE_HZ",
    "ATTR_REASON",
    "ATTR_RECORDED_AT",
    "ATTR_REQUIRED",
    "ATTR_REVIEW",
    "ATTR_STATUS",
    "ATTR_SUCCESS",
    "ATTR_T0_NS",
    "ATTR_TASK_ID",
    "ATTR_WRITER_HOST",
    "ATTR_WRITER_PID",
    "CLOCK_ARRIVAL",
    "CLOCK_STAMP",
    "DATA",
    "EMBODIMENT",
    "EPISODE_SUFFIX",
    "ERROR_NS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FRAMES",
    "FRAME_OFFSET",
    "FRAME_SIZE",
    "INDEX",
    "PARTIAL_SUFFIX",
    "STAMP_NS",
    "STATUSES",
    "STATUS_ABORTED",
    "STATUS_COMPLETE",
    "STATUS_RECORDING",
    "STATUS_RECOVERED",
    "STREAMS",
    "SUCCESS_FALSE",
    "SUCCESS_TRUE",
    "SUCCESS_UNKNOWN",
    "TIME_NS",
    "URDF",
    "final_path_of",
    "fsync_path",
    "json_attr",
    "parse_json_attr",
    "parse_success",
    "success_text",
]

FORMAT_NAME = "tg-episode"
FORMAT_VERSION = 1

# Groups.
STREAMS = "streams"
ALIGNED = "aligned"
ALIGNED_STREAMS = "streams"  # /aligned/streams/<name>
ANNOTATIONS = "annotations"
EMBODIMENT = "embodiment"

# Datasets of /streams/<name>.
STAMP_NS = "stamp_ns"
ARRIVAL_NS = "arrival_ns"
DATA = "data"
FRAMES = "frames"
FRAME_OFFSET = "frame_offset"
FRAME_SIZE = "frame_size"
# Datasets of /aligned and /aligned/streams/<name>; /embodiment.
TIME_NS = "time_ns"
INDEX = "index"
ERROR_NS = "error_ns"
URDF = "urdf"

# Attributes other modules name (the full lists are in episodes._schema).
ATTR_STATUS = "status"
ATTR_SUCCESS = "success"
ATTR_NOTES = "notes"
ATTR_ABORT_REASON = "abort_reason"
ATTR_EXTRA = "extra_json"
ATTR_RECORDED_AT = "recorded_at"
ATTR_WRITER_HOST = "writer_host"
ATTR_WRITER_PID = "writer_pid"
ATTR_CONTENT_DIGEST = "content_digest"
ATTR_TASK_ID = "task_id"
ATTR_REVIEW = "review_json"
ATTR_LABEL_HISTORY = "label_history_json"
ATTR_IMPORT = "import_json"
ATTR_CALIBRATION = "calibration_json"
ATTR_CHANNELS = "channels"
ATTR_RATE_HZ = "rate_hz"
ATTR_T0_NS = "t0_ns"
ATTR_CLOCK = "clock"
ATTR_REQUIRED = "required"
ATTR_NUM_FRAMES = "num_frames"
ATTR_REASON = "reason"

EPISODE_SUFFIX = ".h5"
PARTIAL_SUFFIX = ".partial"
"""Appended to the episode name while it records; removed by the one atomic rename at the end."""

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_ABORTED = "aborted"
STATUS_RECOVERED = "recovered"
STATUSES = (STATUS_RECORDING, STATUS_COMPLETE, STATUS_ABORTED, STATUS_RECOVERED)

SUCCESS_TRUE = "true"
SUCCESS_FALSE = "false"
SUCCESS_UNKNOWN = "unknown"

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


def success_text(success: bool | None) -> str:
    """The ``success`` attribute's text for a label (None: not known)."""
    return SUCCESS_UNKNOWN if success is None else (SUCCESS_TRUE if success else SUCCESS_FALSE)


def parse_success(text: str) -> bool | None:
    return None if text == SUCCESS_UNKNOWN else text == SUCCESS_TRUE


def fsync_path(path: Path) -> None:
    """Make a file's (or a directory's: its entries') last changes durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
