"""A run into the store record by record while it runs (``hilbench run --live``), for the live view.

The run's record writer hands every record to ``LiveIndexer.offer`` (a queue put: the run never waits for the
database); a thread writes them.  The first failure of the store is said once and ends live indexing: the run goes
on, and its sealed directory is indexed (or not, said) as it ends."""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import socket
import threading
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from hilbench.store import schema
from hilbench.store.database import Store, StoreError, open_store
from hilbench.store.index import run_uid, when

log = logging.getLogger(__name__)

#: the records the live page shows (others - lag, faults, identities - wait for the sealed index)
SHOWN = {"run_start", "plan", "check_start", "measurement", "check_end", "safe_state", "run_end", "interlock_tripped"}
TRACE_POINTS = 400  # a power trace is thinned to this many points for the page


class LiveIndexer:
    def __init__(self, url: str, run_dir: Path, *, warn=print) -> None:
        self.url, self.run_dir, self.warn = url, Path(run_dir).resolve(), warn
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._store: Store | None = None
        self._run_id: int | None = None
        self.failed: str = ""
        self._thread = threading.Thread(target=self._drain, name="hilbench-live-store", daemon=True)
        self._thread.start()

    def offer(self, record: dict) -> None:
        """From the record writer, as each record is written: queued, never blocking, never raising."""
        if not self.failed and record.get("record") in SHOWN:
            self._queue.put(record)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (at most ``timeout_s``), then stop."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.warn(f"live store: {self._queue.qsize()} records not written within {timeout_s:g} s (left)")
        if self._store is not None:
            self._store.close()

    def _drain(self) -> None:
        while True:
            record = self._queue.get()
            if record is None:
                return
            if self.failed:
                continue
            try:
                self._write(record)
            except (StoreError, sa.exc.SQLAlchemyError, OSError, ValueError) as exc:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self.failed = detail
                self.warn(f"live store: not updated any more ({detail}); the run goes on, its record is complete")

    def _write(self, record: dict) -> None:
        kind = record["record"]
        if self._store is None:
            self._store = open_store(self.url)
        with self._store.engine.begin() as connection:
            if kind == "run_start":
                self._run_id = _start(connection, record, self.run_dir)
                return
            if self._run_id is None:  # a record before run_start (never, from hilbench's writer)
                return
            runs = schema.runs
            update: dict = {}
            if kind == "plan":
                dut = record.get("dut") or {}
                update = {
                    "plan_name": str(record.get("name") or ""), "plan_title": str(record.get("title") or ""),
                    "plan_version": str(record.get("version") or ""), "plan_sha256": str(record.get("sha256") or ""),
                    "dut_name": str(dut.get("name") or ""), "dut_serial": ",".join(dut.get("serials") or ()),
                }  # fmt: skip
            elif kind == "check_start":
                update = {"current_check": str(record.get("check") or "")}
            elif kind == "run_end":
                update = {"current_check": "", "ended_at": when(record.get("wall_time")), "verdict": "ended"}
            if update:
                connection.execute(runs.update().where(runs.c.id == self._run_id).values(**update))
            self._add(connection, kind, record)
            if kind == "measurement" and record.get("raw"):
                trace = power_trace(self.run_dir / record["raw"])
                if trace is not None:
                    self._add(connection, "power_trace", {"check": record.get("check"), **trace})

    def _add(self, connection: sa.Connection, kind: str, record: dict) -> None:
        payload = json.dumps(record, default=str, allow_nan=False)
        connection.execute(
            schema.live_records.insert().values(
                run_id=self._run_id,
                kind=kind,
                check_id=str(record.get("check") or ""),
                payload=payload,
                wall_time=float(record.get("wall_time") or 0.0),
            )
        )


def _start(connection: sa.Connection, record: dict, run_dir: Path) -> int:
    uid = run_uid(record)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    row = {
        "uid": uid, "path": str(run_dir), "host": socket.gethostname(), "status": "running", "verdict": "running",
        "reasons": "", "plan_name": "", "plan_title": "", "plan_version": "", "plan_sha256": "",
        "bench_name": str(record.get("bench") or ""), "bench_file": str(record.get("bench_file") or ""),
        "bench_sha256": str(record.get("bench_sha256") or ""), "dut_name": "", "dut_serial": "", "dut_firmware": "",
        "time_scale": float(record.get("time_scale") or 1.0), "emulated": bool(record.get("emulated")),
        "replay_of": record.get("replay_of"), "integrity_sha256": None,
        "hilbench_version": str(record.get("hilbench_version") or ""),
        "record_schema": int(record.get("schema_version") or 0), "started_at": when(record.get("wall_time")) or now,
        "ended_at": None, "current_check": "", "checks_total": 0, "indexed_at": now,
    }  # fmt: skip
    existing = connection.execute(sa.select(schema.runs.c.id).where(schema.runs.c.uid == uid)).scalar()
    if existing is not None:
        return existing
    run_id = connection.execute(schema.runs.insert().values(**row)).inserted_primary_key[0]
    connection.execute(
        schema.live_records.insert().values(
            run_id=run_id, kind="run_start", check_id="", payload=json.dumps(record, default=str),
            wall_time=float(record.get("wall_time") or 0.0),
        )
    )  # fmt: skip
    return run_id


def power_trace(path: Path) -> dict | None:
    """(time, kW) of a check's stored record, thinned for the page; None when it holds no total power."""
    try:
        with np.load(path) as data:
            if "p_total" not in data or "time" not in data:
                return None
            t, p = np.asarray(data["time"], float), np.asarray(data["p_total"], float)
    except (OSError, ValueError, KeyError):
        return None
    if t.size == 0 or t.shape != p.shape:
        return None
    step = max(1, int(np.ceil(t.size / TRACE_POINTS)))
    t, p = t[::step], p[::step]
    keep = np.isfinite(t) & np.isfinite(p)
    t, p = t[keep], p[keep]
    scale = 1e-3 if np.nanmax(np.abs(p)) > 2000 else 1.0  # the analysers report W; a trace in kW reads better
    return {"time_s": [round(float(x - t[0]), 3) for x in t], "power_kw": [round(float(x * scale), 3) for x in p]}
