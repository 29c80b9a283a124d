"""Create or migrate a store's catalogue with Alembic, run from code (no alembic.ini).

The revisions ship inside the package (``tg_site/migrations``). Before migrating a
catalogue that already holds data, its database is copied to ``backups/`` with
SQLite's online backup; a catalogue made by a newer version of this software
(a revision this one does not know) is refused, never touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from tg_base import __version__
from tg_site._errors import SiteError
from tg_site._store import Store

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: every `tg` command imports tg_site (its CLI
# group), and alembic costs 0.3 s to import while only Catalogue.open needs it.

__all__ = [
    "MIGRATIONS_DIR",
    "CatalogueTooNewError",
    "copy_database",
    "current_revision",
    "head_revision",
    "migrate",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class CatalogueTooNewError(SiteError):
    """The catalogue was made or migrated by a newer version of this software."""


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest catalogue revision this software knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise SiteError(f"{MIGRATIONS_DIR}: no catalogue migrations found; reinstall training-ground")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the catalogue is at (None: an empty database)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, store: Store, *, target: str = "head") -> Path | None:
    """Bring the store's catalogue to ``target``; returns the backup made first, if one was needed.

    One process at a time (a lock file beside the database): several workers
    opening a new store at once create it once.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    known = {rev.revision for rev in script.walk_revisions()}
    with _locked(store.root / f"{store.catalogue_path.name}.lock"), engine.begin() as connection:
        current = current_revision(connection)
        if current is not None and current not in known:
            raise CatalogueTooNewError(
                f"{store.catalogue_path}: the catalogue is at schema revision {current!r}, which this "
                f"training-ground {__version__} does not know (its newest is {head_revision()!r}): it was "
                "made by a newer version. Upgrade training-ground on this machine, or start from a backup "
                f"made by this version (in {store.backups_dir})"
            )
        wanted = head_revision() if target == "head" else target
        if current == wanted:
            return None
        backup = _backup_before(store, current) if current is not None else None
        command.upgrade(_config(connection), target)
        return backup


def _backup_before(store: Store, revision: str) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    dest = store.backups_dir / f"catalogue-rev{revision}-{stamp}.sqlite"
    copy_database(store.catalogue_path, dest)
    return dest


def copy_database(source: Path, dest: Path) -> None:
    """A consistent copy of the SQLite database ``source`` (online backup: writers may go on)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.with_name(dest.name + ".tmp")
    work.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(work)) as out:
        src.backup(out)
        # One self-contained file: a backup must not depend on a -wal file beside it.
        out.execute("PRAGMA journal_mode=DELETE")
    work.replace(dest)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
