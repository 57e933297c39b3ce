"""The questions a lab asks of its store, as functions over an open connection: runs by filter, a figure across
runs (with its capability and control chart), first-pass yield per plan, runs in progress.  The command line
(``hilbench db query``) and the web view (``hilbench serve``) both answer from here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from hilbench.store import schema
from hilbench.store.spc import Capability, ControlChart, capability, control_chart, first_pass_yield

runs, measurements = schema.runs, schema.measurements


@dataclass(frozen=True)
class RunFilter:
    plan: str | None = None
    serial: str | None = None  # one DUT serial (a run of several serials matches each)
    bench: str | None = None
    verdict: str | None = None  # pass | fail | running
    dut: str | None = None  # the DUT's name: its design
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 50
    offset: int = 0

    def where(self) -> list:
        clauses = []
        if self.plan:
            clauses.append(runs.c.plan_name == self.plan)
        if self.serial:
            s = self.serial
            clauses.append(
                sa.or_(
                    runs.c.dut_serial == s,
                    runs.c.dut_serial.like(f"{s},%"),
                    runs.c.dut_serial.like(f"%,{s}"),
                    runs.c.dut_serial.like(f"%,{s},%"),
                )
            )
        if self.bench:
            clauses.append(runs.c.bench_name == self.bench)
        if self.verdict:
            clauses.append(runs.c.verdict == self.verdict)
        if self.dut:
            clauses.append(runs.c.dut_name == self.dut)
        if self.since:
            clauses.append(runs.c.started_at >= self.since)
        if self.until:
            clauses.append(runs.c.started_at < self.until)
        return clauses


RUN_COLUMNS = (
    "id", "plan_name", "plan_version", "dut_name", "dut_serial", "dut_firmware", "bench_name", "verdict", "status",
    "started_at", "ended_at", "emulated", "time_scale", "replay_of", "current_check",
)  # fmt: skip


def find_runs(connection: sa.Connection, query: RunFilter) -> tuple[list[dict], int]:
    """(the page of runs, newest first; how many match in all)."""
    where = query.where()
    selected = (
        sa.select(*(runs.c[name] for name in RUN_COLUMNS))
        .where(*where)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    rows = [dict(r._mapping) for r in connection.execute(selected)]
    total = connection.execute(sa.select(sa.func.count()).select_from(runs).where(*where)).scalar_one()
    return rows, total


def choices(connection: sa.Connection) -> dict[str, list[str]]:
    """The values the history filters offer: plans, benches, DUT designs."""
    out = {}
    for key, column in (("plans", runs.c.plan_name), ("benches", runs.c.bench_name), ("duts", runs.c.dut_name)):
        out[key] = [v for (v,) in connection.execute(sa.select(column).distinct().order_by(column)) if v]
    return out


def run_detail(connection: sa.Connection, run_id: int) -> dict | None:
    row = connection.execute(sa.select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        return None
    detail = dict(row._mapping)
    for name, table, order in (
        ("checks", schema.checks, schema.checks.c.seq),
        ("measurements", measurements, measurements.c.id),
        ("instruments", schema.instruments, schema.instruments.c.id),
        ("safe_states", schema.safe_states, schema.safe_states.c.id),
    ):
        selected = sa.select(table).where(table.c.run_id == run_id).order_by(order)
        detail[name] = [dict(r._mapping) for r in connection.execute(selected)]
    return detail


@dataclass
class FigureSeries:
    plan: str
    check_id: str
    name: str
    serial: str | None
    points: list[dict] = field(default_factory=list)  # run_id, started_at, dut_serial, value, verdict, low, high
    unit: str = ""
    low: float | None = None  # the limits of the newest run (a plan's limits may change between versions)
    high: float | None = None
    capability: Capability | None = None
    chart: ControlChart | None = None

    @property
    def values(self) -> list[float]:
        return [p["value"] for p in self.points if p["value"] is not None]


def figure_series(
    connection: sa.Connection,
    check_id: str,
    name: str,
    *,
    plan: str | None = None,
    serial: str | None = None,
    last: int | None = None,
    include_replays: bool = False,
) -> FigureSeries:
    """One figure across runs, oldest first, with Cpk/Ppk against the newest run's limits and a control chart."""
    where = [measurements.c.check_id == check_id, measurements.c.name == name, runs.c.status == "ended"]
    where += RunFilter(plan=plan, serial=serial).where()
    if not include_replays:
        where.append(runs.c.replay_of.is_(None))
    selected = (
        sa.select(
            runs.c.id.label("run_id"),
            runs.c.started_at,
            runs.c.dut_serial,
            measurements.c.value,
            measurements.c.verdict,
            measurements.c.low,
            measurements.c.high,
            measurements.c.unit,
        )
        .select_from(measurements.join(runs, measurements.c.run_id == runs.c.id))
        .where(*where)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
    )
    if last:
        selected = selected.limit(last)
    points = [dict(r._mapping) for r in connection.execute(selected)][::-1]
    series = FigureSeries(plan or "", check_id, name, serial, points)
    if points:
        newest = points[-1]
        series.unit, series.low, series.high = newest["unit"], newest["low"], newest["high"]
    series.capability = capability(series.values, series.low, series.high)
    series.chart = control_chart(series.values)
    return series


def serials_of_plan(connection: sa.Connection, plan: str) -> list[str]:
    """The DUT serials a plan ran on (the figure page's DUT filter)."""
    column = runs.c.dut_serial
    selected = sa.select(column).where(runs.c.plan_name == plan).distinct().order_by(column)
    return [v for (v,) in connection.execute(selected) if v]


def figures_of_plan(connection: sa.Connection, plan: str) -> list[dict]:
    """The figures a plan's newest indexed run measured (check, name, unit, limits): the measurement index."""
    newest = connection.execute(
        sa.select(runs.c.id)
        .where(runs.c.plan_name == plan, runs.c.status == "ended")
        .order_by(runs.c.started_at.desc())
        .limit(1)
    ).scalar()
    if newest is None:
        return []
    selected = (
        sa.select(*(measurements.c[k] for k in ("check_id", "name", "unit", "low", "high")))
        .where(measurements.c.run_id == newest)
        .order_by(measurements.c.id)
    )
    return [dict(r._mapping) for r in connection.execute(selected)]


def yields(connection: sa.Connection, plan: str | None = None) -> list[dict]:
    """First-pass yield per plan: of the DUTs (by serial) a plan ran on, the share whose first run passed (replays
    and runs in progress left out), with the counts."""
    where = [runs.c.status == "ended", runs.c.replay_of.is_(None)]
    if plan:
        where.append(runs.c.plan_name == plan)
    selected = (
        sa.select(runs.c.plan_name, runs.c.dut_serial, runs.c.verdict)
        .where(*where)
        .order_by(runs.c.plan_name, runs.c.started_at, runs.c.id)
    )
    first: dict[str, dict[str, str]] = {}
    counts: dict[str, int] = {}
    for row in connection.execute(selected):
        counts[row.plan_name] = counts.get(row.plan_name, 0) + 1
        first.setdefault(row.plan_name, {}).setdefault(row.dut_serial or "(no serial)", row.verdict)
    out = []
    for name, units in sorted(first.items()):
        verdicts = list(units.values())
        out.append(
            {
                "plan": name,
                "units": len(verdicts),
                "passed_first_time": sum(v == "pass" for v in verdicts),
                "runs": counts[name],
                "first_pass_yield": first_pass_yield(verdicts),
            }
        )
    return out


def live_runs(connection: sa.Connection, *, recent_s: float = 300.0) -> list[dict]:
    """Runs in progress, and those that ended in the last ``recent_s`` seconds (their safe state shown)."""
    horizon = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=recent_s)
    selected = (
        sa.select(*(runs.c[name] for name in RUN_COLUMNS), runs.c.checks_total)
        .where(sa.or_(runs.c.status == "running", runs.c.indexed_at >= horizon))
        .where(sa.exists().where(schema.live_records.c.run_id == runs.c.id))
        .order_by(runs.c.started_at.desc())
        .limit(20)
    )
    return [dict(r._mapping) for r in connection.execute(selected)]


def live_records(connection: sa.Connection, run_id: int, *, after: int = 0) -> list[dict]:
    table = schema.live_records
    selected = sa.select(table).where(table.c.run_id == run_id, table.c.id > after).order_by(table.c.id)
    return [dict(r._mapping) for r in connection.execute(selected)]
