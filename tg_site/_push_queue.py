"""A station's durable push queue: the finished episodes of a dataset directory the site has not acknowledged.

The queue is the directory itself plus one small mark per episode the site
acknowledged, ``<dir>/.tg-push/<episode id>.json`` (written under a temporary
name, fsynced, renamed): nothing is held in memory that a crash could lose. An
episode is pending while it has no mark for its current size and mtime, so
labels set after a push (``s``/``f`` after a stop) queue it again and the site
merges them. It waits until it has settled: never a ``*.h5.partial`` (still
recording, or interrupted: ``tg recover`` first), never one whose journalled
update is pending, never one written to in the last ``settle_s`` seconds
(the recorder may still be labelling it). A push cut short by SIGKILL leaves no
mark: the next push resumes the upload from the offset the site holds.

>>> import tempfile
>>> queue = PushQueue(Path(tempfile.mkdtemp()))
>>> queue.pending()
[]
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import episodes
from tg_site._errors import SiteError

__all__ = ["MARK_DIR", "PushMark", "PushQueue", "RetentionOptions"]

MARK_DIR = ".tg-push"
_NS = 1_000_000_000


@dataclass(frozen=True)
class PushMark:
    """What the site said about one version (size, mtime) of an episode file, and when.

    ``state``: ``uploaded`` (a verified commit), ``already_have`` (the site had
    its content) or ``refused`` (a 4xx the same file would get again: not retried).
    """

    episode_id: str
    size: int
    mtime_ns: int
    state: str
    at_ns: int
    message: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.state in ("uploaded", "already_have")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PushMark:
        try:
            return cls(
                str(data["episode_id"]),
                int(data["size"]),
                int(data["mtime_ns"]),
                str(data["state"]),
                int(data["at_ns"]),
                str(data.get("message", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SiteError(f"push mark: {exc!r}") from None


@dataclass(frozen=True)
class RetentionOptions:
    """When a station removes its copy of an acknowledged episode: at once, after some days, or never."""

    delete_after_push: bool = False
    keep_days: float | None = None


class PushQueue:
    """The episodes of ``directory`` waiting to be pushed (oldest first) and the marks of those pushed."""

    def __init__(self, directory: Path, *, settle_s: float = 2.0) -> None:
        self.directory = directory
        self.settle_s = settle_s
        self.marks = directory / MARK_DIR
        # Marks read once, then kept: pending() runs twice a second over every episode kept here.
        self._known: dict[str, PushMark] = {}

    def mark_path(self, episode_id: str) -> Path:
        return self.marks / f"{episode_id}.json"

    def mark_of(self, episode_id: str) -> PushMark | None:
        known = self._known.get(episode_id)
        if known is not None:
            return known
        try:
            mark = PushMark.from_json(json.loads(self.mark_path(episode_id).read_text(encoding="utf-8")))
        except (OSError, ValueError, SiteError):
            return None  # no mark, or a torn one: push again (the site skips what it has)
        self._known[episode_id] = mark
        return mark

    def pending(self, *, now_ns: int | None = None, settled: bool = True) -> list[Path]:
        """Episode files without a mark for their current version, oldest first (``settled``: only those
        not written to for ``settle_s``)."""
        if not self.directory.is_dir():
            return []
        now = time.time_ns() if now_ns is None else now_ns
        waiting = []
        for path in episodes.list_episodes(self.directory):
            try:
                st = path.stat()
            except FileNotFoundError:  # removed meanwhile
                continue
            if settled and now - st.st_mtime_ns < self.settle_s * _NS:
                continue
            if episodes.has_pending_update(path):
                continue
            mark = self.mark_of(path.stem)
            if mark is None or (mark.size, mark.mtime_ns) != (st.st_size, st.st_mtime_ns):
                waiting.append(path)
        return waiting

    def mark(
        self, path: Path, state: str, message: str = "", *, version: tuple[int, int] | None = None
    ) -> PushMark:
        """Record what the site said about ``path`` (``version``: its size and mtime when announced)."""
        if version is None:
            st = path.stat()
            version = (st.st_size, st.st_mtime_ns)
        mark = PushMark(path.stem, version[0], version[1], state, time.time_ns(), message)
        self.marks.mkdir(parents=True, exist_ok=True)
        target = self.mark_path(mark.episode_id)
        work = target.with_name(target.name + ".tmp")
        with open(work, "w", encoding="utf-8") as f:
            json.dump(mark.to_json(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(work, target)
        episodes.fsync_path(self.marks)
        self._known[mark.episode_id] = mark
        return mark

    def prune(self, retention: RetentionOptions, *, now_ns: int | None = None) -> list[Path]:
        """Remove the station's copies the site acknowledged that ``retention`` no longer keeps."""
        if not (retention.delete_after_push or retention.keep_days is not None) or not self.marks.is_dir():
            return []
        now = time.time_ns() if now_ns is None else now_ns
        removed = []
        for mark_file in sorted(self.marks.glob("*.json")):
            mark = self.mark_of(mark_file.stem)
            if mark is None or not mark.acknowledged:
                continue
            age_days = (now - mark.at_ns) / (86400 * _NS)
            if not retention.delete_after_push and age_days < (retention.keep_days or 0.0):
                continue
            path = self.directory / f"{mark.episode_id}.h5"
            try:
                st = path.stat()
            except FileNotFoundError:
                self._forget(mark_file)
                continue
            if (st.st_size, st.st_mtime_ns) == (mark.size, mark.mtime_ns):  # never a version not pushed
                path.unlink()
                self._forget(mark_file)
                removed.append(path)
        return removed

    def _forget(self, mark_file: Path) -> None:
        mark_file.unlink(missing_ok=True)
        self._known.pop(mark_file.stem, None)
