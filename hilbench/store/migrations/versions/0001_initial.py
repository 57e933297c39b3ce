"""The first schema: runs, their instruments, checks, measurements, safe states, and live records.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _run_id() -> sa.Column:
    return sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("plan_name", sa.String(255), nullable=False),
        sa.Column("plan_title", sa.Text, nullable=False),
        sa.Column("plan_version", sa.String(64), nullable=False),
        sa.Column("plan_sha256", sa.String(64), nullable=False),
        sa.Column("bench_name", sa.String(255), nullable=False),
        sa.Column("bench_file", sa.Text, nullable=False),
        sa.Column("bench_sha256", sa.String(64), nullable=False),
        sa.Column("dut_name", sa.String(255), nullable=False),
        sa.Column("dut_serial", sa.String(255), nullable=False),
        sa.Column("dut_firmware", sa.Text, nullable=False),
        sa.Column("time_scale", sa.Float, nullable=False),
        sa.Column("emulated", sa.Boolean, nullable=False),
        sa.Column("replay_of", sa.Text),
        sa.Column("integrity_sha256", sa.String(64)),
        sa.Column("hilbench_version", sa.String(64), nullable=False),
        sa.Column("record_schema", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("current_check", sa.String(255), nullable=False),
        sa.Column("checks_total", sa.Integer, nullable=False),
        sa.Column("indexed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_runs_plan_started", "runs", ["plan_name", "started_at"])
    op.create_index("ix_runs_serial", "runs", ["dut_serial"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_table(
        "instruments",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_id(),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("driver", sa.String(128), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("identity", sa.Text, nullable=False),
        sa.Column("calibration_serial", sa.String(255)),
        sa.Column("calibration_certificate", sa.String(255)),
        sa.Column("calibration_due", sa.String(32)),
        sa.Column("calibration_status", sa.String(64)),
    )
    op.create_index("ix_instruments_run", "instruments", ["run_id"])
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_id(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("check_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("plan_name", sa.String(255), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_checks_run", "checks", ["run_id"])
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_id(),
        sa.Column("check_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("low", sa.Float),
        sa.Column("high", sa.Float),
        sa.Column("low_inclusive", sa.Boolean, nullable=False),
        sa.Column("high_inclusive", sa.Boolean, nullable=False),
        sa.Column("marginal", sa.Float, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("instrument_time", sa.Float),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_measurements_run", "measurements", ["run_id"])
    op.create_index("ix_measurements_figure", "measurements", ["check_id", "name", "run_id"])
    op.create_table(
        "safe_states",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_id(),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("confirmed", sa.Boolean),
        sa.Column("seconds", sa.Float),
        sa.Column("read_back", sa.Text, nullable=False),
        sa.Column("context", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(32)),
    )
    op.create_index("ix_safe_states_run", "safe_states", ["run_id"])
    op.create_table(
        "live_records",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("check_id", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("wall_time", sa.Float, nullable=False),
    )
    op.create_index("ix_live_records_run", "live_records", ["run_id", "id"])


def downgrade() -> None:
    for table in ("live_records", "safe_states", "measurements", "checks", "instruments", "runs"):
        op.drop_table(table)
