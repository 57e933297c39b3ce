"""Alembic's environment for the results store: hilbench runs the migrations on the connection it opened
(``hilbench.store.database.upgrade``); there is no alembic.ini, and no offline (SQL script) mode."""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # only reached by running the alembic command by hand
        raise SystemExit("hilbench's store migrations run through `hilbench db upgrade`, not the alembic command")
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # alembic's proxies exist only while it runs this file (not when merely imported)
    run_migrations()
