"""The catalogue's tables (SQLAlchemy 2 declarative models), as the newest migration leaves them.

Alembic revisions under ``tg_site/migrations/versions`` create and change these
tables; the models are what the code reads and writes. A column added here
needs a new revision (``tests/tg_site/test_migrations.py`` compares the two).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AuditRow", "Base", "EpisodeRow", "SelectionRow", "TaskRow", "TokenRow"]


class Base(DeclarativeBase):
    pass


class EpisodeRow(Base):
    """One episode: what people filter and sort on, rebuilt from its file by ``reindex``."""

    __tablename__ = "episodes"
    # Each sort key with the id that breaks its ties (SORT_KEYS, keyset pages): a page is read in
    # index order and stops after page-size rows instead of sorting every match.
    __table_args__ = tuple(
        Index(f"ix_episodes_{key}_episode_id", key, "episode_id")
        for key in ("recorded_at_ns", "duration_s", "size_bytes", "station", "operator", "task")
    )

    episode_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    raw_digest: Mapped[str] = mapped_column(String(64), index=True)
    dataset: Mapped[str] = mapped_column(String, index=True)
    robot_profile: Mapped[str] = mapped_column(String, index=True)
    robot_model: Mapped[str] = mapped_column(String)
    task_id: Mapped[str] = mapped_column(String, index=True)
    task: Mapped[str] = mapped_column(String)
    instruction: Mapped[str] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String)
    station: Mapped[str] = mapped_column(String)
    source: Mapped[str] = mapped_column(String)
    recorded_at: Mapped[str] = mapped_column(String)
    recorded_at_ns: Mapped[int] = mapped_column(BigInteger)
    start_time_ns: Mapped[int] = mapped_column(BigInteger)
    end_time_ns: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status: Mapped[str] = mapped_column(String, index=True)
    qa_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True, index=True)
    qa_errors: Mapped[dict[str, Any]] = mapped_column(JSON)
    qa_warnings: Mapped[dict[str, Any]] = mapped_column(JSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON)
    review_state: Mapped[str] = mapped_column(String, index=True)
    review_reason: Mapped[str] = mapped_column(String)
    review_note: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String)
    reviewed_at_ns: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_mtime_ns: Mapped[int] = mapped_column(BigInteger)
    cameras: Mapped[dict[str, Any]] = mapped_column(JSON)
    has_thumbnail: Mapped[bool] = mapped_column(Boolean)
    catalogued_at_ns: Mapped[int] = mapped_column(BigInteger)
    # Revision 2: deletion moves the file to the trash; the row stays, marked, until purged.
    # Not indexed: nearly every row has NULL, and an index made SQLite walk all of them for
    # the "not trashed" condition of every query instead of the sort key's index.
    trashed_at_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class TokenRow(Base):
    """An access token: only the SHA-256 of its secret is stored."""

    __tablename__ = "tokens"

    token_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    role: Mapped[str] = mapped_column(String)
    station: Mapped[str | None] = mapped_column(String, nullable=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expires_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditRow(Base):
    """Revision 2: who did what to which episode (or to the site), when; never rebuilt from files."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_episode_id_at_ns", "episode_id", "at_ns"),)

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_ns: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    episode_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ConsoleSessionRow(Base):
    """Revision 3: a signed-in browser; only the SHA-256 of its cookie's session id is stored."""

    __tablename__ = "console_sessions"

    session_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(String(16), index=True)
    csrf: Mapped[str] = mapped_column(String)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    expires_ns: Mapped[int] = mapped_column(BigInteger, index=True)


class TaskRow(Base):
    """Revision 2: a collection task people record episodes for."""

    __tablename__ = "tasks"

    task_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ns: Mapped[int] = mapped_column(BigInteger)


class SelectionRow(Base):
    """Revision 2: a saved episode query, by name."""

    __tablename__ = "selections"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ns: Mapped[int] = mapped_column(BigInteger)
