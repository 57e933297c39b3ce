"""The store's tables (SQLAlchemy Core).  Alembic migrations (``hilbench/store/migrations``) create and change
them; this module is what the code reads and writes, and ``tests/test_store.py`` checks the two agree.

A run is keyed by ``uid``: the SHA-256 of its ``run_start`` record as written, known from the first record on (a
run indexed live) and the same when its sealed directory is imported later, so an import is idempotent."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False),  # the run directory as indexed (absolute)
    Column("host", String(255), nullable=False, default=""),
    Column("status", String(16), nullable=False),  # running | ended (sealed and indexed) | unsealed
    Column("verdict", String(16), nullable=False),  # pass | fail | running
    Column("reasons", Text, nullable=False, default=""),
    Column("plan_name", String(255), nullable=False, default=""),
    Column("plan_title", Text, nullable=False, default=""),
    Column("plan_version", String(64), nullable=False, default=""),
    Column("plan_sha256", String(64), nullable=False, default=""),
    Column("bench_name", String(255), nullable=False, default=""),
    Column("bench_file", Text, nullable=False, default=""),
    Column("bench_sha256", String(64), nullable=False, default=""),
    Column("dut_name", String(255), nullable=False, default=""),
    Column("dut_serial", String(255), nullable=False, default=""),  # the serials, comma separated
    Column("dut_firmware", Text, nullable=False, default=""),  # the DUT roles' identities as the run read them
    Column("time_scale", Float, nullable=False, default=1.0),
    Column("emulated", Boolean, nullable=False, default=False),
    Column("replay_of", Text),
    Column("integrity_sha256", String(64)),
    Column("hilbench_version", String(64), nullable=False, default=""),
    Column("record_schema", Integer, nullable=False, default=0),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("current_check", String(255), nullable=False, default=""),
    Column("checks_total", Integer, nullable=False, default=0),
    Column("indexed_at", DateTime, nullable=False),
)
Index("ix_runs_started_at", runs.c.started_at)
Index("ix_runs_plan_started", runs.c.plan_name, runs.c.started_at)
Index("ix_runs_serial", runs.c.dut_serial)
Index("ix_runs_status", runs.c.status)

instruments = Table(
    "instruments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(64), nullable=False),
    Column("driver", String(128), nullable=False, default=""),
    Column("address", Text, nullable=False, default=""),
    Column("identity", Text, nullable=False, default=""),
    Column("calibration_serial", String(255)),
    Column("calibration_certificate", String(255)),
    Column("calibration_due", String(32)),
    Column("calibration_status", String(64)),
)
Index("ix_instruments_run", instruments.c.run_id)

checks = Table(
    "checks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("check_id", String(255), nullable=False),
    Column("type", String(64), nullable=False, default=""),
    Column("plan_name", String(255), nullable=False, default=""),
    Column("verdict", String(16), nullable=False),  # the worst of its figures, error when it did not end cleanly
    Column("error", Text),
)
Index("ix_checks_run", checks.c.run_id)

measurements = Table(
    "measurements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("check_id", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", Float),
    Column("unit", String(32), nullable=False, default=""),
    Column("low", Float),
    Column("high", Float),
    Column("low_inclusive", Boolean, nullable=False, default=True),
    Column("high_inclusive", Boolean, nullable=False, default=True),
    Column("marginal", Float, nullable=False, default=0.0),
    Column("verdict", String(16), nullable=False),
    Column("instrument_time", Float),
    Column("note", Text, nullable=False, default=""),
)
Index("ix_measurements_run", measurements.c.run_id)
Index("ix_measurements_figure", measurements.c.check_id, measurements.c.name, measurements.c.run_id)

safe_states = Table(
    "safe_states",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(64), nullable=False),
    Column("confirmed", Boolean),  # None: the role was not used
    Column("seconds", Float),
    Column("read_back", Text, nullable=False, default=""),
    Column("context", String(64), nullable=False, default="end of run"),
    Column("worker", String(32)),
)
Index("ix_safe_states_run", safe_states.c.run_id)

#: A run in progress, record by record (``hilbench run --live``): what the live page shows until the run ends.
live_records = Table(
    "live_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("check_id", String(255), nullable=False, default=""),
    Column("payload", Text, nullable=False),  # the record as JSON (a power trace: its points, thinned)
    Column("wall_time", Float, nullable=False),
)
Index("ix_live_records_run", live_records.c.run_id, live_records.c.id)
