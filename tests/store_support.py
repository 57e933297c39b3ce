"""Run directories and a PostgreSQL server for the results store's tests.

``write_run`` writes a real, sealed run directory in the documented record format (docs/records.md) - the same
bytes a run writes, with the wall times a test chooses, so history can span weeks.  ``PostgresServer`` starts a
real PostgreSQL (the distribution's binaries) on a free loopback port in a temporary directory: never a mock."""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from hilbench.report.integrity import seal

PLAN = "container_acceptance"


def write_run(
    run_dir: Path,
    *,
    started: dt.datetime,
    serial: str = "C-0001",
    plan: str = PLAN,
    dut: str = "Design X 100 kW",
    bench: str = "bench-1",
    figures: dict[tuple[str, str], tuple[float, float | None, float | None]] | None = None,
    firmware: str = "fw 1.0",
    seal_it: bool = True,
) -> Path:
    """A sealed run of ``figures`` {(check, name): (value, low, high)}; a figure outside its limits fails."""
    figures = figures or {("boot", "boot_time_s"): (80.0, None, 90.0)}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "raw").mkdir(exist_ok=True)
    t = started.replace(tzinfo=dt.UTC).timestamp()
    records = [
        {"record": "run_start", "wall_time": t, "bench": bench, "bench_file": f"instruments/{bench}.yaml",
         "emulated": True, "time_scale": 20.0, "schema_version": 1, "hilbench_version": "0.1.0",
         "bench_sha256": "b" * 64, "roles": {"analyser": {"driver": "yokogawa-wt5000", "address": "TCPIP::127.0.0.1",
                                                         "calibration": None}}},
        {"record": "plan", "wall_time": t + 0.1, "name": plan, "title": plan, "version": "1", "path": f"{plan}.yaml",
         "sha256": "a" * 64, "dut": {"name": dut, "serials": [serial], "rated_kw": 100.0}},
    ]  # fmt: skip
    checks: dict[str, list] = {}
    for (check, name), figure in figures.items():
        checks.setdefault(check, []).append((name, *figure))
    clock = t + 1
    for check, rows in checks.items():
        records.append({"record": "check_start", "wall_time": clock, "plan": plan, "check": check, "type": check,
                        "params": {}, "declared": {}})  # fmt: skip
        verdicts = {}
        for name, value, low, high in rows:
            ok = (low is None or value >= low) and (high is None or value <= high)
            verdicts[name] = "pass" if ok else "fail"
            records.append({"record": "measurement", "wall_time": clock + 0.5, "check": check, "name": name,
                            "value": value, "unit": "s", "limits": {"low": low, "high": high},
                            "verdict": verdicts[name], "instrument_time": clock, "raw": "", "note": ""})  # fmt: skip
        records.append({"record": "check_end", "wall_time": clock + 1, "check": check, "verdicts": verdicts,
                        "error": None})  # fmt: skip
        clock += 2
    records.append({"record": "safe_state", "wall_time": clock, "role": "analyser", "confirmed": True,
                    "seconds": 0.04, "read_back": "no output"})  # fmt: skip
    records.append({"record": "identities", "wall_time": clock, "identities": {"controller": firmware}})
    records.append({"record": "run_end", "wall_time": clock + 0.5})
    (run_dir / "measurements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    if seal_it:
        seal(run_dir)
    return run_dir


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A private PostgreSQL cluster on loopback (as user ``postgres`` when the tests run as root: PostgreSQL
    refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = _binaries()
        if self.bin is None:
            raise RuntimeError(
                "the store's PostgreSQL tests need a real server: install the distribution's package "
                "(apt-get install postgresql; .ci/run does), or point HILBENCH_TEST_POSTGRES at one "
                "(postgresql://user:password@127.0.0.1:PORT/DB); deselect them with -m 'not postgres'"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="hilbench-pg-"))
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> str:
        if self.user:
            shutil.chown(self.dir, self.user)
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "hilbench", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60", "start")
        return f"postgresql://hilbench@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            break
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
