"""Revision 1: the episodes index and the access tokens.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["down_revision", "downgrade", "revision", "upgrade"]

revision = "0001"
down_revision: str | None = None

_EPISODE_INDEXED = (
    "raw_digest",
    "dataset",
    "robot_profile",
    "task_id",
    "status",
    "qa_passed",
    "review_state",
)
# Sort keys with the tie-breaking id, so a keyset page is read in index order.
_SORT_KEYS = ("recorded_at_ns", "duration_s", "size_bytes", "station", "operator", "task")


def upgrade() -> None:
    op.create_table(
        "episodes",
        sa.Column("episode_id", sa.String(26), primary_key=True),
        sa.Column("raw_digest", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String, nullable=False),
        sa.Column("robot_profile", sa.String, nullable=False),
        sa.Column("robot_model", sa.String, nullable=False),
        sa.Column("task_id", sa.String, nullable=False),
        sa.Column("task", sa.String, nullable=False),
        sa.Column("instruction", sa.Text, nullable=False),
        sa.Column("operator", sa.String, nullable=False),
        sa.Column("station", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("recorded_at", sa.String, nullable=False),
        sa.Column("recorded_at_ns", sa.BigInteger, nullable=False),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("success", sa.Boolean, nullable=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("qa_passed", sa.Boolean, nullable=True),
        sa.Column("qa_errors", sa.JSON, nullable=False),
        sa.Column("qa_warnings", sa.JSON, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("review_state", sa.String, nullable=False),
        sa.Column("review_reason", sa.String, nullable=False),
        sa.Column("review_note", sa.Text, nullable=False),
        sa.Column("reviewer", sa.String, nullable=False),
        sa.Column("reviewed_at_ns", sa.BigInteger, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("cameras", sa.JSON, nullable=False),
        sa.Column("has_thumbnail", sa.Boolean, nullable=False),
        sa.Column("catalogued_at_ns", sa.BigInteger, nullable=False),
    )
    for column in _EPISODE_INDEXED:
        op.create_index(f"ix_episodes_{column}", "episodes", [column])
    for column in _SORT_KEYS:
        op.create_index(f"ix_episodes_{column}_episode_id", "episodes", [column, "episode_id"])
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String, nullable=False, unique=True),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("station", sa.String, nullable=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("expires_ns", sa.BigInteger, nullable=True),
        sa.Column("revoked_ns", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tokens")
    op.drop_table("episodes")
