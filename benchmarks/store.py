"""The results store at a lab's scale: 10,000 runs x 50 measurements, on SQLite and on PostgreSQL.

Prints, per database: the time to seed the store; the time ``hilbench serve`` takes to answer each page (over
HTTP on loopback, median and max of 7 requests after one warm-up) with a baseline measured in the same run - the
same pages over a store of 100 runs; the time to index one sealed run directory (50 figures) into the full store,
beside the floor no index can go under (reading and verifying that directory); and the store's size per run.
Goals (issue 21): history and trend pages <= 200 ms, indexing a run <= 1 s.

    python benchmarks/store.py [--runs 10000] [--baseline-runs 100] [--skip-postgres] [--postgres URL]

Without --postgres a private PostgreSQL server is started from the distribution's binaries (as the tests do).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hilbench.report.integrity import verify  # noqa: E402
from hilbench.report.records import read_run  # noqa: E402
from hilbench.store import schema  # noqa: E402
from hilbench.store.database import open_store  # noqa: E402
from hilbench.store.index import index_run  # noqa: E402
from tests.store_support import PostgresServer, fresh_database, write_run  # noqa: E402

PLANS = ("mw2mh_100kw", "grid_1200kw", "site_1500kw", "container_acceptance")
CHECKS = [f"check-{c:02d}" for c in range(10)]
FIGURES = [f"figure_{f}" for f in range(5)]  # 10 checks x 5 figures = 50 measurements per run
SERIALS = [f"C-{n:04d}" for n in range(200)]
BENCHES = [f"bench-{b}" for b in range(1, 6)]
DAY0 = dt.datetime(2026, 1, 1)


def seed(url: str, runs: int) -> float:
    """``runs`` runs straight into the tables (what indexing writes, in batches): seconds taken."""
    began = time.perf_counter()
    store = open_store(url)
    rng = random.Random(7)
    batch = 500
    with store.engine.begin() as connection:
        for first in range(0, runs, batch):
            run_rows, check_rows, measurement_rows = [], [], []
            for i in range(first, min(runs, first + batch)):
                started = DAY0 + dt.timedelta(minutes=50 * i)
                plan, serial = (
                    PLANS[i % len(PLANS)],
                    SERIALS[(i // len(PLANS)) % len(SERIALS)],
                )  # each DUT through each plan
                failed = False
                for c, check in enumerate(CHECKS):
                    for f, name in enumerate(FIGURES):
                        centre = 10.0 * (c + 1) + f
                        value = rng.gauss(centre, 0.1 * centre / 3)
                        low, high = (centre * 0.8, centre * 1.2) if f % 2 == 0 else (None, centre * 1.15)
                        ok = (low is None or value >= low) and value <= high
                        failed |= not ok
                        measurement_rows.append({
                            "run_id": i + 1, "check_id": check, "name": name, "value": value, "unit": "s",
                            "low": low, "high": high, "low_inclusive": True, "high_inclusive": True, "marginal": 0.0,
                            "verdict": "pass" if ok else "fail", "instrument_time": float(i), "note": "",
                        })  # fmt: skip
                    check_rows.append({"run_id": i + 1, "seq": c, "check_id": check, "type": "power",
                                       "plan_name": plan, "verdict": "pass", "error": None})  # fmt: skip
                run_rows.append({
                    "id": i + 1, "uid": f"{i:064x}", "path": f"/lab/reports/{plan}-{i}", "host": "bench-pc",
                    "status": "ended", "verdict": "fail" if failed else "pass", "reasons": "", "plan_name": plan,
                    "plan_title": plan, "plan_version": "1", "plan_sha256": "a" * 64,
                    "bench_name": BENCHES[i % len(BENCHES)], "bench_file": "instruments/lab.yaml",
                    "bench_sha256": "b" * 64, "dut_name": "Design X", "dut_serial": serial,
                    "dut_firmware": f"controller: fw {1 + i // 2500}.0", "time_scale": 1.0, "emulated": False,
                    "replay_of": None, "integrity_sha256": "c" * 64, "hilbench_version": "0.1.0", "record_schema": 1,
                    "started_at": started, "ended_at": started + dt.timedelta(minutes=40), "current_check": "",
                    "checks_total": len(CHECKS), "indexed_at": started + dt.timedelta(minutes=41),
                })  # fmt: skip
            connection.execute(schema.runs.insert(), run_rows)
            connection.execute(schema.checks.insert(), check_rows)
            connection.execute(schema.measurements.insert(), measurement_rows)
        if store.dialect == "postgresql":  # the ids were given: the sequence must follow them
            connection.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT max(id) FROM runs))")
            )
            connection.execute(sa.text("ANALYZE"))
        else:
            connection.execute(sa.text("ANALYZE"))
    store.close()
    return time.perf_counter() - began


PAGES = {
    "history": "/history",
    "history, plan + verdict": f"/history?plan={PLANS[0]}&verdict=fail",
    "history, one serial": "/history?serial=C-0002",
    "history, one week": "/history?since=2026-03-02&until=2026-03-08",
    "history, page 20": "/history?page=20",
    "trend, a plan's runs": f"/figure?plan={PLANS[0]}&check=check-03&name=figure_2",
    "trend, one DUT": f"/figure?plan={PLANS[0]}&check=check-03&name=figure_2&serial=C-0002",
    "measurements of a plan": f"/figures?plan={PLANS[0]}",
    "a run": "/runs/50",
    "live": "/live",
}


def time_pages(url: str) -> dict[str, tuple[float, float]]:
    server = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "serve", "--db", url, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    line = server.stdout.readline()
    base = line.split(" on ", 1)[1].split()[0].rstrip("/")
    out = {}
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for name, path in PAGES.items():
                client.get(path).raise_for_status()  # warm-up: the first request of a page loads its template
                times = []
                for _ in range(7):
                    began = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append(time.perf_counter() - began)
                out[name] = (statistics.median(times), max(times))
    finally:
        server.terminate()
        server.wait(10)
    return out


def index_times(url: str, work: Path, count: int = 10) -> tuple[list[float], list[float]]:
    """(seconds to index each of ``count`` sealed 50-figure runs into the store, seconds to read and verify each)."""
    figures = {(c, f): (10.0 * (i + 1) + j, None, 1e6) for i, c in enumerate(CHECKS) for j, f in enumerate(FIGURES)}
    dirs = [write_run(work / f"run-{k}", started=dt.datetime(2027, 1, 1) + dt.timedelta(hours=k), figures=figures,
                      plan=PLANS[0], serial=f"C-9{k:03d}") for k in range(count)]  # fmt: skip
    floor = []
    for d in dirs:
        began = time.perf_counter()
        verify(d)
        read_run(d)
        floor.append(time.perf_counter() - began)
    store = open_store(url)
    indexed = []
    for d in dirs:
        done = index_run(store, d)
        indexed.append(done.seconds)
    store.close()
    return indexed, floor


def size_per_run(url: str, runs: int) -> float:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            total = connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        else:
            path = Path(engine.url.database)
            total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine.dispose()
    return total / runs


def report(label: str, make_url, runs: int, baseline_runs: int, work: Path) -> None:
    small, big = make_url("small"), make_url("big")
    print(f"\n== {label} ==")
    seconds = seed(small, baseline_runs)
    print(f"seeded {baseline_runs} runs in {seconds:.1f} s (baseline store)")
    seconds = seed(big, runs)
    print(f"seeded {runs} runs x {len(CHECKS) * len(FIGURES)} measurements in {seconds:.1f} s")
    base, full = time_pages(small), time_pages(big)
    print(f"{'page':<26} {f'{baseline_runs} runs (ms)':>16} {f'{runs} runs median (ms)':>22} {'max (ms)':>9}  goal")
    for name in PAGES:
        goal = "<= 200 ms" if name.startswith(("history", "trend")) else ""
        verdict = ("ok" if full[name][1] <= 0.2 else "OVER") if goal else ""
        print(f"{name:<26} {base[name][0] * 1000:>16.1f} {full[name][0] * 1000:>22.1f} {full[name][1] * 1000:>9.1f}"
              f"  {goal} {verdict}")  # fmt: skip
    indexed, floor = index_times(big, work / label.split()[0])
    print(f"index one sealed run (50 figures) into {runs + 0} runs: median {statistics.median(indexed) * 1000:.1f} ms, "
          f"max {max(indexed) * 1000:.1f} ms (goal <= 1000 ms); reading + verifying it alone: median "
          f"{statistics.median(floor) * 1000:.1f} ms")  # fmt: skip
    print(
        f"store size per run: {size_per_run(big, runs + len(indexed)) / 1024:.1f} KiB "
        f"(baseline store: {size_per_run(small, baseline_runs) / 1024:.1f} KiB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--baseline-runs", type=int, default=100)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres", default=None, help="a server URL (a database is created per store)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hilbench-store-bench-"))
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; sqlalchemy {sa.__version__}")
    report("SQLite", lambda name: f"sqlite:///{work / (name + '.db')}", args.runs, args.baseline_runs, work)
    if not args.skip_postgres:
        server = None
        url = args.postgres
        if url is None:
            server = PostgresServer()
            url = server.start()
        try:
            report("PostgreSQL", lambda name: fresh_database(url), args.runs, args.baseline_runs, work)
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
