"""The roles a site token has: a module of its own, light enough for the CLI to import at start."""

from __future__ import annotations

from enum import Enum

__all__ = ["Role"]


class Role(str, Enum):
    """What a token may do (issue 14 item 7)."""

    STATION = "station"  # push and status for its own station id only
    UPLOADER = "uploader"  # push ingested or imported data, no station
    REVIEWER = "reviewer"  # read, review
    RESEARCHER = "researcher"  # read, download, selections
    ADMIN = "admin"  # everything: tokens, tasks, deletion
