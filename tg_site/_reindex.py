"""``tg site reindex``: rebuild the catalogue's episode rows from the files, and say what had drifted.

Files are the source of truth. Every episode file in the store is read again
(:func:`record_from_file`) and its row replaced; what differed is reported:

* ``changed``: the file's row said something else (the file was changed since it was
  catalogued, or the catalogue missed an update);
* ``uncatalogued``: a file without a row (added);
* ``missing``: a row whose file is gone (neither in the store nor in the trash; removed);
* ``unreadable``: a file that is not a readable episode (left alone, reported).

Trashed episodes keep their rows while their file is in the trash. Tokens, tasks,
selections and the audit log are not touched (no file holds them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tg_base import TgError
from tg_site._catalogue import Catalogue
from tg_site._records import EpisodeRecord, record_from_file
from tg_site._store import Store

__all__ = ["DriftReport", "ReindexOptions", "reindex"]

_BATCH = 500


@dataclass(frozen=True)
class ReindexOptions:
    """``verify_hashes``: hash every file again (slow on big stores); otherwise a file whose
    size and modification time equal its row's keeps the row's SHA-256."""

    verify_hashes: bool = False


@dataclass(frozen=True)
class DriftReport:
    """What ``reindex`` found (episode ids; ``unreadable``: path and why) and how long it took."""

    scanned: int = 0
    changed: tuple[str, ...] = ()
    uncatalogued: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    details: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per changed episode, the fields that differed."""

    @property
    def clean(self) -> bool:
        return not (self.changed or self.uncatalogued or self.missing or self.unreadable)

    def to_json(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "changed": list(self.changed),
            "uncatalogued": list(self.uncatalogued),
            "missing": list(self.missing),
            "unreadable": [list(u) for u in self.unreadable],
            "seconds": self.seconds,
            "details": {k: list(v) for k, v in self.details.items()},
            "clean": self.clean,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriftReport:
        return cls(
            scanned=data["scanned"],
            changed=tuple(data["changed"]),
            uncatalogued=tuple(data["uncatalogued"]),
            missing=tuple(data["missing"]),
            unreadable=tuple((p, why) for p, why in data["unreadable"]),
            seconds=data["seconds"],
            details={k: tuple(v) for k, v in data.get("details", {}).items()},
        )


def reindex(store: Store, catalogue: Catalogue, options: ReindexOptions | None = None) -> DriftReport:
    """Rebuild every episode row from the store's files; returns the drift found."""
    options = options or ReindexOptions()
    started = time.monotonic()
    known = set(catalogue.episode_ids())
    seen: set[str] = set()
    changed: list[str] = []
    details: dict[str, tuple[str, ...]] = {}
    uncatalogued: list[str] = []
    unreadable: list[tuple[str, str]] = []
    batch: list[EpisodeRecord] = []
    for path in store.iter_episodes():
        episode_id = path.stem
        seen.add(episode_id)
        before = catalogue.get(episode_id) if episode_id in known else None
        try:
            record = _record(store, path, before, options)
        except TgError as exc:
            unreadable.append((str(path), str(exc)))
            continue
        if before is None:
            uncatalogued.append(episode_id)
        else:
            differing = _differences(before, record)
            if differing:
                changed.append(episode_id)
                details[episode_id] = differing
        batch.append(record)
        if len(batch) >= _BATCH:
            catalogue.upsert_many(batch)
            batch.clear()
    catalogue.upsert_many(batch)
    missing = sorted(known - seen - _in_trash(store, catalogue))
    for episode_id in missing:
        catalogue.delete(episode_id)
    catalogue.optimize()
    return DriftReport(
        scanned=len(seen),
        changed=tuple(changed),
        uncatalogued=tuple(uncatalogued),
        missing=tuple(missing),
        unreadable=tuple(unreadable),
        seconds=time.monotonic() - started,
        details=details,
    )


def _record(store: Store, path: Path, before: EpisodeRecord | None, options: ReindexOptions) -> EpisodeRecord:
    sha256 = None
    if before is not None and not options.verify_hashes:
        stat = path.stat()
        if (stat.st_size, stat.st_mtime_ns) == (before.size_bytes, before.file_mtime_ns):
            sha256 = before.file_sha256
    record = record_from_file(path, sha256=sha256)
    if record.episode_id != path.stem:
        raise TgError(
            f"{path}: the file holds episode {record.episode_id}, not {path.stem} as its name says; "
            "move it out of the store and push it again"
        )
    has_thumbnail = store.thumbnail_path(record.episode_id).exists()
    return dataclasses.replace(record, has_thumbnail=has_thumbnail)


def _differences(before: EpisodeRecord, after: EpisodeRecord) -> tuple[str, ...]:
    old, new = before.to_json(), after.to_json()
    return tuple(k for k in new if k != "trashed_at_ns" and old[k] != new[k])


def _in_trash(store: Store, catalogue: Catalogue) -> set[str]:
    trashed = {p.stem for p in store.trash_dir.glob("*.h5")}
    return {i for i in catalogue.trashed_ids() if i in trashed}
