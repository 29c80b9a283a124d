"""Revision 2: the audit log, tasks, saved selections, and deletion to the trash.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["down_revision", "downgrade", "revision", "upgrade"]

revision = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.add_column(sa.Column("trashed_at_ns", sa.BigInteger, nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at_ns", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("episode_id", sa.String(26), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_episode_id_at_ns", "audit_log", ["episode_id", "at_ns"])
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False, unique=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "selections",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("query", sa.JSON, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("selections")
    op.drop_table("tasks")
    op.drop_index("ix_audit_log_episode_id_at_ns", "audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("trashed_at_ns")
