"""``tg site backup DEST``: a consistent copy of the catalogue and an incremental copy of the files.

The catalogue is copied first, with SQLite's online backup (the server may keep
writing): it holds what no file does (tokens, tasks, selections, the audit log).
Then episode files, the trash and thumbnails are copied where the backup lacks
them or holds another size or modification time (each under a temporary name,
fsynced, renamed), and files the store no longer has are removed from the backup.
Files that arrive while the backup runs may be copied without a row; ``tg site
reindex`` on the restored store catalogues them. ``tg site serve --store DEST``
starts from a backup.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tg_site._errors import SiteError
from tg_site._migrate import copy_database
from tg_site._store import Store, fsync_path

__all__ = ["BackupReport", "backup"]

# Work files of tools and uploads (hidden temporaries) are not part of a store's state.
_SKIPPED_SUFFIXES = (".tmp", ".updating", ".lock")


@dataclass(frozen=True)
class BackupReport:
    """What one backup run copied, left as it was and removed; bytes copied; seconds."""

    dest: str
    copied: int
    unchanged: int
    removed: int
    bytes_copied: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BackupReport:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def backup(store_root: Path, dest: Path) -> BackupReport:
    """Back the store at ``store_root`` up into ``dest`` (created, or brought up to date)."""
    source = Store(store_root)
    if not source.catalogue_path.exists():
        raise SiteError(
            f"{store_root}: no catalogue ({source.catalogue_path.name}) there, so not a site store"
        )
    if Path(dest).resolve() == source.root.resolve():
        raise SiteError(f"{dest}: the backup must go somewhere other than the store itself")
    started = time.monotonic()
    target = Store(dest)
    copy_database(source.catalogue_path, target.catalogue_path)
    for stale in (
        target.root / f"{target.catalogue_path.name}-wal",
        target.root / f"{target.catalogue_path.name}-shm",
    ):
        stale.unlink(missing_ok=True)  # left by a server once started on the backup: not of this copy
    copied = unchanged = removed = copied_bytes = 0
    for name in ("episodes", "trash", "thumbs"):
        wanted = set()
        for path in _files(source.root / name):
            relative = path.relative_to(source.root)
            wanted.add(relative)
            if _same(path, target.root / relative):
                unchanged += 1
                continue
            copied_bytes += _copy(path, target.root / relative)
            copied += 1
        for path in list(_files(target.root / name)):
            if path.relative_to(target.root) not in wanted:
                path.unlink()
                removed += 1
    return BackupReport(str(dest), copied, unchanged, removed, copied_bytes, time.monotonic() - started)


def _files(root: Path) -> Iterator[Path]:
    for directory, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(_SKIPPED_SUFFIXES):
                yield Path(directory) / name


def _same(source: Path, target: Path) -> bool:
    try:
        a, b = source.stat(), target.stat()
    except FileNotFoundError:
        return False
    return (a.st_size, a.st_mtime_ns) == (b.st_size, b.st_mtime_ns)


def _copy(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.backup.tmp")
    shutil.copy2(source, work)  # keeps the modification time: the next run skips it
    with open(work, "rb") as f:
        os.fsync(f.fileno())
    os.replace(work, target)
    fsync_path(target.parent)
    return target.stat().st_size
