"""Alembic's environment for the results store: hilbench runs the migrations on the connection it opened
(``hilbench.store.database.upgrade``); there is no alembic.ini, and no offline (SQL script) mode."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running the alembic command by hand
    raise SystemExit("hilbench's store migrations run through `hilbench db upgrade`, not the alembic command")
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
