"""``hilbench db import|upgrade|query``: the results store from the command line (docs/store.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

# The store's modules (SQLAlchemy, Alembic: a quarter of a second) are imported by the commands that use them, not
# by every `hilbench` command that builds this parser.

DB_HELP = "the store: a file, sqlite:///FILE or postgresql://... (default: $HILBENCH_DB, else reports/hilbench.db)"


def add_parser(sub) -> None:
    p = sub.add_parser("db", help="the results store: import run directories, query across runs")
    db_sub = p.add_subparsers(dest="db_command", required=True)

    imp = db_sub.add_parser("import", help="index run directories (idempotent; an edited run is refused, named)")
    imp.add_argument("run_dirs", type=Path, nargs="+")
    imp.add_argument("--db", default=None, help=DB_HELP)
    imp.set_defaults(func=cmd_import)

    up = db_sub.add_parser("upgrade", help="bring the store's schema to this hilbench's (Alembic migrations)")
    up.add_argument("--db", default=None, help=DB_HELP)
    up.set_defaults(func=cmd_upgrade)

    query = db_sub.add_parser("query", help="ask the store: runs, a figure's trend and capability, yield, live")
    q_sub = query.add_subparsers(dest="query", required=True)
    for name, helptext in (
        ("runs", "runs by plan, DUT serial, design, bench, verdict, date (newest first)"),
        ("trend", "one figure across runs (oldest first), with Cpk/Ppk and its control limits"),
        ("yield", "first-pass yield per plan"),
        ("live", "runs in progress (indexed live with hilbench run --live)"),
    ):
        q = q_sub.add_parser(name, help=helptext)
        q.add_argument("--db", default=None, help=DB_HELP)
        q.add_argument("--format", choices=("table", "json"), default="table")
        q.add_argument("--plan", default=None, help="plan name")
        if name in ("runs", "trend"):
            q.add_argument("--serial", default=None, help="DUT serial")
        if name == "runs":
            q.add_argument("--dut", default=None, help="the DUT's name (its design)")
            q.add_argument("--bench", default=None, help="bench name")
            q.add_argument("--verdict", choices=("pass", "fail", "running"), default=None)
            q.add_argument("--since", type=_day, default=None, help="YYYY-MM-DD (UTC)")
            q.add_argument("--until", type=_day, default=None, help="YYYY-MM-DD (UTC), exclusive")
            q.add_argument("--limit", type=int, default=50)
        if name == "trend":
            q.add_argument("figure", help="CHECK/NAME, e.g. ramp-range/ramp_up_kw_per_s")
            q.add_argument("--last", type=int, default=None, help="only the newest N runs")
        q.set_defaults(func=cmd_query)


def _day(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date is YYYY-MM-DD, got {text!r}") from None


def cmd_import(args: argparse.Namespace) -> int:
    from hilbench.store.database import StoreError, open_store
    from hilbench.store.index import RunRefused, index_run

    try:
        store = open_store(args.db)
    except StoreError as exc:
        print(f"hilbench: {exc}")
        return 2
    refused = 0
    try:
        for run_dir in args.run_dirs:
            if not run_dir.is_dir() or not (run_dir / "measurements.jsonl").exists():
                if run_dir.is_dir() or run_dir.exists():  # reports/* also matches the store itself and README.md
                    print(f"skipped  {run_dir}: not a run directory")
                else:
                    refused += 1
                    print(f"REFUSED  {run_dir}: no such directory")
                continue
            try:
                done = index_run(store, run_dir)
            except RunRefused as exc:
                refused += 1
                print(f"REFUSED  {exc}")
                continue
            print(f"{done.action:<8} {run_dir}  ({done.measurements} figures, {done.seconds * 1000:.0f} ms)")
    finally:
        store.close()
    print(f"store: {store.name}")
    return 1 if refused else 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from hilbench.store.database import StoreError, open_store, upgrade

    try:
        store = open_store(args.db)  # opening for writing migrates forward
        upgrade(store)
    except StoreError as exc:
        print(f"hilbench: {exc}")
        return 2
    print(f"{store.name}: schema at this hilbench's revision")
    store.close()
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from hilbench.store.database import StoreError, open_store
    from hilbench.store.queries import RunFilter, figure_series, find_runs, live_runs, yields

    try:
        store = open_store(args.db, read_only=True)
    except StoreError as exc:
        print(f"hilbench: {exc}")
        return 2
    try:
        with store.engine.connect() as connection:
            if args.query == "runs":
                query = RunFilter(
                    plan=args.plan, serial=args.serial, bench=args.bench, verdict=args.verdict, dut=args.dut,
                    since=args.since, until=args.until, limit=args.limit,
                )  # fmt: skip
                rows, total = find_runs(connection, query)
                columns = ("id", "started_at", "plan_name", "dut_name", "dut_serial", "dut_firmware", "bench_name",
                           "verdict")  # fmt: skip
                return _emit(args, rows, columns, f"{len(rows)} of {total} runs")
            if args.query == "trend":
                if "/" not in args.figure:
                    print(f"hilbench: a figure is CHECK/NAME (e.g. boot/boot_time_s), got {args.figure!r}")
                    return 2
                check_id, name = args.figure.split("/", 1)
                series = figure_series(connection, check_id, name, plan=args.plan, serial=args.serial, last=args.last)
                return _emit_trend(args, series)
            if args.query == "yield":
                rows = yields(connection, args.plan)
                return _emit(args, rows, ("plan", "units", "passed_first_time", "runs", "first_pass_yield"), "")
            rows = live_runs(connection)
            return _emit(args, rows, ("id", "started_at", "plan_name", "dut_serial", "bench_name", "status",
                                      "current_check", "verdict"), f"{len(rows)} live or just ended")  # fmt: skip
    finally:
        store.close()


def _emit(args: argparse.Namespace, rows: list[dict], columns: tuple[str, ...], footer: str) -> int:
    if args.format == "json":
        print(json.dumps(rows, default=str, indent=1))
        return 0
    print(table(rows, columns))
    if footer:
        print(footer)
    return 0


def _emit_trend(args: argparse.Namespace, series) -> int:
    cap, chart = series.capability, series.chart
    summary = {
        "figure": f"{series.check_id}/{series.name}",
        "plan": series.plan or None,
        "serial": series.serial,
        "unit": series.unit,
        "limits": {"low": series.low, "high": series.high},
        "n": cap.n,
        "mean": cap.mean,
        "sigma_within": cap.sigma_within,
        "sigma_overall": cap.sigma_overall,
        "cpk": cap.cpk,
        "ppk": cap.ppk,
        "sides": cap.sides,
        "note": cap.note,
        "control_limits": None if chart is None else {k: getattr(chart, k) for k in ("lower", "center", "upper")},
        "out_of_control_runs": [] if chart is None else [series.points[i]["run_id"] for i in chart.out_of_control],
    }
    if args.format == "json":
        print(json.dumps({"summary": summary, "points": series.points}, default=str, indent=1))
        return 0
    print(table(series.points, ("run_id", "started_at", "dut_serial", "value", "verdict")))
    for key, value in summary.items():
        print(f"{key}: {_fmt(value)}")
    return 0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


def table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """A plain text table (no dependency): one line per row, columns as wide as their widest cell (max 40)."""
    cells = [[_fmt(row.get(c))[:40] for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)
