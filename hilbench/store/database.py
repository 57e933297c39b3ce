"""Opening the results store: which database (``--db``, ``HILBENCH_DB``, else ``reports/hilbench.db``), its
schema brought to this hilbench's revision by the Alembic migrations, and every way that can go wrong said in one
line that names the database (its password hidden) - a newer schema, a file that is not SQLite, a server that does
not answer."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

DEFAULT_DB = Path("reports") / "hilbench.db"
ENV_VAR = "HILBENCH_DB"
MIGRATIONS = "hilbench.store:migrations"


class StoreError(Exception):
    """The store cannot be used; the message names it and says what to do.  Run directories are never touched."""


def store_url(option: str | None = None) -> str:
    """The store's URL: the option, else ``HILBENCH_DB``, else the SQLite file ``reports/hilbench.db``.  A plain
    path is an SQLite file."""
    text = option or os.environ.get(ENV_VAR) or str(DEFAULT_DB)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def shown(url: str) -> str:
    """The URL as it may be printed or logged: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say so without echoing it whole
        return "<an unreadable database URL>"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


@dataclass
class Store:
    """An open store: the engine, and what it was opened as."""

    engine: Engine
    url: str
    read_only: bool = False

    @property
    def name(self) -> str:
        return shown(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


def _engine(url: str, read_only: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            path = Path(database)
            if read_only and not path.exists():
                raise StoreError(f"{path}: no results store here (nothing indexed yet: hilbench db import reports/*)")
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # foreign keys on; readers never block the writer of a live run
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not read_only:
                cursor.execute("PRAGMA journal_mode=WAL")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":  # the driver hilbench installs (psycopg 3), not psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        options = {"connect_timeout": 5}
        if read_only:
            options["options"] = "-c default_transaction_read_only=on"
        return sa.create_engine(parsed, connect_args=options, pool_pre_ping=True)
    raise StoreError(f"{shown(url)}: hilbench's store is SQLite or PostgreSQL (sqlite:///FILE, postgresql://...)")


def open_store(url: str | None = None, *, read_only: bool = False) -> Store:
    """The store at ``url``, at this hilbench's schema: migrated forward when opened for writing; refused when
    its schema is newer than this hilbench knows, or (read-only) older than it reads."""
    url = store_url(url)
    try:
        engine = _engine(url, read_only)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"{shown(url)}: not a database URL ({exc})") from None
    store = Store(engine, url, read_only)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.DatabaseError as exc:  # a corrupt file, a server that does not answer, a refused login
        engine.dispose()
        raise StoreError(_unusable(url, exc)) from None
    script = ScriptDirectory.from_config(_alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    head = script.get_current_head()
    if current is not None and current not in known:
        engine.dispose()
        raise StoreError(
            f"{shown(url)}: its schema (revision {current}) is newer than this hilbench knows (up to {head}): "
            "upgrade hilbench to use it; nothing was changed"
        )
    if current != head:
        if read_only:
            engine.dispose()
            raise StoreError(
                f"{shown(url)}: its schema is at revision {current or 'none'}, this hilbench reads {head}: "
                "run `hilbench db upgrade` (or any `hilbench db import`) first"
            )
        upgrade(store)
    return store


_migrating = threading.Lock()  # Alembic's operation proxies are module-global: one migration at a time per process


def upgrade(store: Store) -> None:
    config = _alembic_config()
    try:
        with _migrating, store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.DatabaseError as exc:
        raise StoreError(_unusable(store.url, exc)) from None


def _unusable(url: str, exc: Exception) -> str:
    parsed = make_url(url)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if parsed.get_backend_name() == "sqlite":
        if "not a database" in detail or "malformed" in detail:
            return (
                f"{parsed.database}: not a readable SQLite database ({detail}); the run directories are untouched: "
                "move this file aside and rebuild the index with `hilbench db import reports/*`"
            )
        return f"{parsed.database}: the SQLite store cannot be opened ({detail})"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    return f"PostgreSQL store {where} unreachable or refused ({detail})"
