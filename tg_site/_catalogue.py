"""The catalogue: the site's database (SQLite in the store, WAL) behind typed methods.

Episodes' rows are an index of the files (``tg site reindex`` rebuilds them);
tokens, tasks, selections and the audit log live only here (``tg site backup``
copies them). Every method runs in its own short transaction, so one Catalogue
may serve several threads.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

import episodes
from tg_site._errors import SiteError
from tg_site._migrate import CatalogueTooNewError, migrate
from tg_site._models import AuditRow, EpisodeRow, SelectionRow, TaskRow
from tg_site._query import EpisodePage, EpisodeQuery, encode_cursor, episode_statement
from tg_site._records import EpisodeRecord, record_from_file
from tg_site._store import Store
from tg_site._tasks import AuditEntry, Selection, Task, TaskProgress, TaskSpec

# EpisodeRecord and record_from_file live in _records; named here too, where the contract put them.
__all__ = ["Catalogue", "CatalogueTooNewError", "EpisodeRecord", "UnknownTaskError", "record_from_file"]

_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(EpisodeRecord))
_BUSY_TIMEOUT_MS = 30_000
# Below this many episodes any plan is fast; statistics start to matter above it.
_ANALYZE_MIN_ROWS = 1000


class UnknownTaskError(SiteError):
    """A task id or selection name the catalogue does not hold."""


class Catalogue:
    """The catalogue of one store. Open with :meth:`open`; close when done."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._written = 0  # rows upserted since the statistics were last checked
        self.backup_made: Path | None = None
        """The copy of the database made before the migration :meth:`open` ran, if it ran one."""

    @classmethod
    def open(cls, store: Store) -> Catalogue:
        """Open the store's catalogue, creating it or migrating it to this version's schema first.

        Raises :class:`CatalogueTooNewError` for a catalogue a newer version made.
        """
        engine = create_sqlite_engine(store.catalogue_path)
        try:
            backup = migrate(engine, store)
        except BaseException:
            engine.dispose()
            raise
        catalogue = cls(store, engine)
        catalogue.backup_made = backup
        catalogue.optimize()
        return catalogue

    def close(self) -> None:
        self.engine.dispose()

    def optimize(self, *, force: bool = False) -> bool:
        """Refresh the query planner's statistics (ANALYZE) when missing or off by half; True if run.

        Without them SQLite picks the index of the first equality filter (review
        state: a third of all rows) and sorts every match, instead of reading the
        sort key's index in order: 40 ms against 4 ms per page at 100,000 episodes.
        ANALYZE reads every index once (0.1 s at 100,000 episodes).
        """
        with self.engine.begin() as connection:
            rows = connection.exec_driver_sql("SELECT count(*) FROM episodes").scalar_one()
            stat = (
                connection.exec_driver_sql(
                    "SELECT stat FROM sqlite_stat1 WHERE tbl = 'episodes' LIMIT 1"
                ).scalar()
                if _has_stats(connection)
                else None
            )
            analysed = int(str(stat).split()[0]) if stat else 0
            if not force and ((rows < _ANALYZE_MIN_ROWS and not analysed) or _close(rows, analysed)):
                return False
            connection.exec_driver_sql("ANALYZE")
            return True

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self) -> Session:
        """A new ORM session (``with catalogue.session() as s, s.begin(): ...``)."""
        return self._sessions()

    # ------------------------------------------------------------------ episodes

    def upsert(self, record: EpisodeRecord) -> None:
        """Insert or replace the episode's row (its trash mark is kept unless the record sets one)."""
        self.upsert_many([record])

    def upsert_many(self, records: Sequence[EpisodeRecord]) -> None:
        """:meth:`upsert` for many records in one transaction (a reindex, a benchmark).

        Every thousand rows written, the planner's statistics are checked (:meth:`optimize`).
        """
        if not records:
            return
        statement = sqlite_insert(EpisodeRow)
        kept = {"episode_id", "trashed_at_ns"}
        update = {
            c.name: statement.excluded[c.name] for c in EpisodeRow.__table__.columns if c.name not in kept
        }
        update["trashed_at_ns"] = func.coalesce(statement.excluded.trashed_at_ns, EpisodeRow.trashed_at_ns)
        statement = statement.on_conflict_do_update(index_elements=[EpisodeRow.episode_id], set_=update)
        with self.session() as s, s.begin():
            s.execute(statement, [_row_values(r) for r in records])
        # A server runs for months while its catalogue grows: check the statistics now and then.
        self._written += len(records)
        if self._written >= _ANALYZE_MIN_ROWS:
            self._written = 0
            self.optimize()

    def get(self, episode_id: str) -> EpisodeRecord | None:
        with self.session() as s:
            row = s.get(EpisodeRow, episode_id)
            return None if row is None else _record(row)

    def find_by_digest(self, raw_digest: str) -> EpisodeRecord | None:
        """The episode with this raw-content digest (the oldest, should several share it)."""
        with self.session() as s:
            statement = select(EpisodeRow).where(EpisodeRow.raw_digest == raw_digest)
            row = s.scalars(statement.order_by(EpisodeRow.episode_id).limit(1)).first()
            return None if row is None else _record(row)

    def query(self, query: EpisodeQuery) -> EpisodePage:
        """One page of the episodes matching ``query``, in its order."""
        with self.session() as s:
            rows = list(s.scalars(episode_statement(query)))
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        cursor = encode_cursor(query, rows[-1]) if more and rows else None
        return EpisodePage(tuple(_record(r) for r in rows), cursor)

    def iter_query(self, query: EpisodeQuery) -> Iterator[EpisodeRecord]:
        """Every episode matching ``query``, page by page."""
        page = self.query(query)
        yield from page.records
        while page.next_cursor is not None:
            page = self.query(query.page_after(page.next_cursor))
            yield from page.records

    def episode_ids(self) -> set[str]:
        """Ids of every row, trashed ones included."""
        with self.session() as s:
            return set(s.scalars(select(EpisodeRow.episode_id)))

    def trashed_ids(self) -> set[str]:
        """Ids of the episodes in the trash."""
        with self.session() as s:
            return set(s.scalars(select(EpisodeRow.episode_id).where(EpisodeRow.trashed_at_ns.is_not(None))))

    def delete(self, episode_id: str) -> None:
        """Remove an episode's row (its file is gone)."""
        with self.session() as s, s.begin():
            row = s.get(EpisodeRow, episode_id)
            if row is not None:
                s.delete(row)

    def mark_trashed(self, episode_id: str, at_ns: int | None = None) -> None:
        """Record that the episode's file moved to the trash."""
        with self.session() as s, s.begin():
            row = s.get(EpisodeRow, episode_id)
            if row is None:
                raise SiteError(f"episode {episode_id} is not in the catalogue of {self.store.root}")
            row.trashed_at_ns = time.time_ns() if at_ns is None else at_ns

    def purge_trash(self, store: Store, *, before_ns: int) -> list[str]:
        """Delete the files and rows of episodes trashed before ``before_ns``; returns their ids."""
        with self.session() as s, s.begin():
            rows = list(s.scalars(select(EpisodeRow).where(EpisodeRow.trashed_at_ns < before_ns)))
            for row in rows:
                store.trash_path(row.episode_id).unlink(missing_ok=True)
                s.delete(row)
            return [row.episode_id for row in rows]

    # ------------------------------------------------------------------ audit log

    def audit(self, actor: str, action: str, episode_id: str | None, detail: dict[str, Any]) -> AuditEntry:
        """Append an entry to the audit log."""
        with self.session() as s, s.begin():
            row = AuditRow(
                at_ns=time.time_ns(), actor=actor, action=action, episode_id=episode_id, detail=detail
            )
            s.add(row)
            s.flush()
            return _audit_entry(row)

    def audit_log(self, episode_id: str | None = None, *, limit: int = 1000) -> list[AuditEntry]:
        """An episode's entries (None: the whole site's), oldest first."""
        with self.session() as s:
            statement = select(AuditRow)
            if episode_id is not None:
                statement = statement.where(AuditRow.episode_id == episode_id)
            rows = s.scalars(statement.order_by(AuditRow.at_ns, AuditRow.entry_id).limit(limit))
            return [_audit_entry(r) for r in rows]

    # ------------------------------------------------------------------ tasks and selections

    def create_task(self, spec: TaskSpec) -> Task:
        with self.session() as s, s.begin():
            if s.scalars(select(TaskRow).where(TaskRow.name == spec.name)).first() is not None:
                raise SiteError(f"a task named {spec.name!r} exists already; choose another name")
            row = TaskRow(
                task_id=episodes.new_episode_id(),
                name=spec.name,
                spec=spec.to_json(),
                created_ns=time.time_ns(),
            )
            s.add(row)
            return _task(row)

    def update_task(self, task_id: str, changes: Mapping[str, Any]) -> tuple[Task, Task]:
        """Replace the task's fields in ``changes`` (TaskSpec JSON); the task before and after."""
        with self.session() as s, s.begin():
            row = s.get(TaskRow, task_id)
            if row is None:
                raise UnknownTaskError(f"no task {task_id!r} on this site; list them with GET /api/v1/tasks")
            before = _task(row)
            spec = before.spec.updated(changes)
            if spec.name != row.name:
                clash = select(TaskRow).where(TaskRow.name == spec.name, TaskRow.task_id != task_id)
                if s.scalars(clash).first() is not None:
                    raise SiteError(f"a task named {spec.name!r} exists already; choose another name")
            row.name, row.spec = spec.name, spec.to_json()
            return before, _task(row)

    def list_tasks(self) -> list[Task]:
        with self.session() as s:
            return [_task(r) for r in s.scalars(select(TaskRow).order_by(TaskRow.task_id))]

    def get_task(self, task_id: str) -> Task:
        with self.session() as s:
            row = s.get(TaskRow, task_id)
            if row is None:
                raise UnknownTaskError(f"no task {task_id!r} on this site; list them with GET /api/v1/tasks")
            return _task(row)

    def task_progress(self, task_id: str) -> TaskProgress:
        task = self.get_task(task_id)
        approved = EpisodeRow.review_state == "approved"
        with self.session() as s:
            base = select(
                func.count(),
                func.coalesce(func.sum(EpisodeRow.duration_s), 0.0),
            ).where(EpisodeRow.task_id == task_id, EpisodeRow.trashed_at_ns.is_(None))
            episodes_n, seconds = s.execute(base).one()
            approved_n, approved_s = s.execute(base.where(approved)).one()
            rejected_n = s.execute(base.where(EpisodeRow.review_state == "rejected")).one()[0]
        fractions = []
        if task.spec.target_episodes:
            fractions.append(approved_n / task.spec.target_episodes)
        if task.spec.target_hours:
            fractions.append(approved_s / 3600 / task.spec.target_hours)
        return TaskProgress(
            task_id,
            episodes_n,
            approved_n,
            rejected_n,
            seconds / 3600,
            approved_s / 3600,
            min(fractions, default=None),
        )

    def save_selection(self, name: str, query: EpisodeQuery) -> Selection:
        """Save ``query`` under ``name`` (replacing a selection of that name)."""
        if not name.strip():
            raise SiteError("a selection needs a name; got an empty one")
        with self.session() as s, s.begin():
            row = s.get(SelectionRow, name)
            if row is None:
                row = SelectionRow(name=name, query={}, created_ns=time.time_ns())
                s.add(row)
            row.query = query.page_after(None).to_json()
            return Selection(name, EpisodeQuery.from_json(row.query), row.created_ns)

    def list_selections(self) -> list[Selection]:
        with self.session() as s:
            rows = s.scalars(select(SelectionRow).order_by(SelectionRow.name))
            return [Selection(r.name, EpisodeQuery.from_json(r.query), r.created_ns) for r in rows]

    def resolve_selection(self, name: str) -> list[tuple[str, str]]:
        """The episodes the selection ``name`` matches now: (episode id, file SHA-256) pairs."""
        with self.session() as s:
            row = s.get(SelectionRow, name)
            if row is None:
                raise UnknownTaskError(f"no selection named {name!r} on this site; save one first")
            query = EpisodeQuery.from_json(row.query)
        return [(r.episode_id, r.file_sha256) for r in self.iter_query(query)]


def _has_stats(connection: Any) -> bool:
    found = connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
    return found is not None


def _close(rows: int, analysed: int) -> bool:
    return analysed > 0 and 0.5 <= rows / analysed <= 2.0


def create_sqlite_engine(path: Path) -> Engine:
    """An engine on the SQLite file ``path`` in WAL mode, waiting (not failing) on a busy database."""
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def _row_values(record: EpisodeRecord) -> dict[str, Any]:
    values = record.to_json()
    values["catalogued_at_ns"] = time.time_ns()
    return values


def _record(row: EpisodeRow) -> EpisodeRecord:
    return EpisodeRecord(**{name: getattr(row, name) for name in _RECORD_FIELDS})


def _audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.entry_id, row.at_ns, row.actor, row.action, row.episode_id, dict(row.detail))


def _task(row: TaskRow) -> Task:
    return Task(row.task_id, TaskSpec.from_json(row.spec), row.created_ns)
