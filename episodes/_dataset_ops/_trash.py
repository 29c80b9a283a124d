"""``tg dataset rm`` / ``restore``: episodes moved to the dataset's trash and back, never deleted.

``<dataset>/.trash/`` holds each removed episode file with a record beside it
(``<id>.json``: who, when, why), and ``log.jsonl`` every removal and restore. The
directory is hidden, so every tool that scans the dataset skips it (datasets/FORMAT.md).
"""

from __future__ import annotations

import getpass
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from episodes import _layout as fmt
from episodes._dataset_ops._staging import episode_id_of
from episodes._errors import DatasetError
from episodes._journal import replay_journal
from episodes._layout import fsync_path
from episodes._maintenance import list_episodes

__all__ = ["TRASH_DIR", "TrashRecord", "remove_episodes", "restore_episodes", "trashed_episodes"]

TRASH_DIR = ".trash"
_LOG = "log.jsonl"


@dataclass(frozen=True)
class TrashRecord:
    """One episode in the trash: its file name, who removed it, when (ISO 8601 UTC) and why."""

    episode_id: str
    removed_by: str
    removed_at: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "episode_id": self.episode_id,
            "removed_by": self.removed_by,
            "removed_at": self.removed_at,
            "reason": self.reason,
        }

    @staticmethod
    def current_user() -> str:
        """This process's user name, what records name when no one else is given."""
        try:
            return getpass.getuser()
        except (OSError, KeyError):  # no user name for this uid (a container)
            return f"uid {os.getuid()}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrashRecord:
        return cls(
            str(data["episode_id"]), str(data["removed_by"]), str(data["removed_at"]), str(data["reason"])
        )


def remove_episodes(
    root: str | os.PathLike[str], ids: Sequence[str], *, reason: str = "", by: str | None = None
) -> list[TrashRecord]:
    """Move the episodes ``ids`` of dataset ``root`` to its trash; every id is checked before any moves.

    >>> remove_episodes("datasets/demo", ["01J..."], reason="operator dropped the cube")  # doctest: +SKIP
    """
    where = Path(root)
    present = {episode_id_of(p): p for p in list_episodes(where)}
    in_trash = {r.episode_id for r in trashed_episodes(where)}
    for episode_id in ids:
        if episode_id not in present:
            gone = (
                "is already in its trash (tg dataset restore brings it back)"
                if episode_id in in_trash
                else ""
            )
            raise DatasetError(
                f"{where}: no episode {episode_id} {gone or '(tg dataset ls lists the episodes)'}"
            )
    trash = where / TRASH_DIR
    trash.mkdir(exist_ok=True)
    who = by if by is not None else TrashRecord.current_user()
    records = []
    for episode_id in dict.fromkeys(ids):
        path = present[episode_id]
        replay_journal(path)  # the trash holds the episode as readers saw it
        record = TrashRecord(episode_id, who, _now(), reason)
        _write_json(trash / f"{episode_id}.json", record.to_json())
        os.replace(path, trash / path.name)
        _log(trash, "removed", record.to_json())
        records.append(record)
    fsync_path(where)
    return records


def restore_episodes(root: str | os.PathLike[str], ids: Sequence[str]) -> list[Path]:
    """Move the episodes ``ids`` back from dataset ``root``'s trash; returns their paths."""
    where = Path(root)
    trash = where / TRASH_DIR
    in_trash = {r.episode_id for r in trashed_episodes(where)}
    for episode_id in ids:
        if episode_id not in in_trash:
            raise DatasetError(
                f"{trash}: no episode {episode_id} in the trash (tg dataset ls --trash lists them)"
            )
        if (where / f"{episode_id}{fmt.EPISODE_SUFFIX}").exists():
            raise DatasetError(f"{where}: episode {episode_id} is there already; remove it first to restore")
    restored = []
    for episode_id in dict.fromkeys(ids):
        name = f"{episode_id}{fmt.EPISODE_SUFFIX}"
        os.replace(trash / name, where / name)
        (trash / f"{episode_id}.json").unlink(missing_ok=True)
        by = TrashRecord.current_user()
        _log(trash, "restored", {"episode_id": episode_id, "restored_by": by, "restored_at": _now()})
        restored.append(where / name)
    fsync_path(where)
    return restored


def trashed_episodes(root: str | os.PathLike[str]) -> list[TrashRecord]:
    """The records of the episodes in dataset ``root``'s trash (those whose file is there), by id."""
    trash = Path(root) / TRASH_DIR
    records = []
    for path in sorted(trash.glob("*.json")) if trash.is_dir() else []:
        if not (trash / f"{path.stem}{fmt.EPISODE_SUFFIX}").is_file():
            continue  # killed between writing the record and moving the file: not removed
        try:
            records.append(TrashRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}: unreadable trash record ({exc})") from exc
    return records


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_json(path: Path, value: dict[str, Any]) -> None:
    work = path.with_name(f".{path.name}.tmp")
    work.write_text(json.dumps(value, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(work, path)


def _log(trash: Path, action: str, value: dict[str, Any]) -> None:
    with open(trash / _LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps({"action": action, **value}, ensure_ascii=False) + "\n")
