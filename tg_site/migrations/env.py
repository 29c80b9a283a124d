"""Alembic's environment: migrate the connection :mod:`tg_site._migrate` hands over."""

from __future__ import annotations

from alembic import context

from tg_site._models import Base

__all__: list[str] = []


def _run() -> None:
    connection = context.config.attributes["connection"]
    # SQLite cannot ALTER most things: batch mode copies a table to change it.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


_run()
