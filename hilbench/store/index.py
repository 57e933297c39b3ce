"""A sealed run directory into the store: refused when its integrity does not verify, idempotent (a run already
indexed as sealed is left as it is), one transaction per run so a reader never sees half a run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from hilbench.report.integrity import read_manifest, verify
from hilbench.report.records import Run, read_run
from hilbench.store import schema
from hilbench.store.database import Store

#: the roles that are the container under test, not the lab's instruments: their identities are its firmware
DUT_ROLES = ("controller", "boards")
#: worst first: a check's verdict is the worst of its figures
VERDICT_ORDER = ("error", "fail", "marginal", "pass", "info", "n/a")


class RunRefused(Exception):
    """This directory is not indexed; the message names it and says why."""


@dataclass(frozen=True)
class Indexed:
    run_id: int
    uid: str
    action: str  # added | replaced (it was live, or sealed again) | unchanged
    measurements: int
    seconds: float


def run_uid(run_start: dict) -> str:
    """The run's key: the SHA-256 of its ``run_start`` record (canonical JSON), known from its first record."""
    return hashlib.sha256(json.dumps(run_start, sort_keys=True, default=str).encode()).hexdigest()


def when(wall_time: float | None) -> dt.datetime | None:
    """A record's wall time as the naive UTC datetime the store keeps."""
    if wall_time is None:
        return None
    return dt.datetime.fromtimestamp(float(wall_time), dt.UTC).replace(tzinfo=None)


def index_run(store: Store, run_dir: str | Path, *, host: str | None = None) -> Indexed:
    """Index the sealed run in ``run_dir``; ``RunRefused`` when it is not a sealed, unedited run directory."""
    began = time.perf_counter()
    run_dir = Path(run_dir).resolve()
    if not (run_dir / "measurements.jsonl").exists():
        raise RunRefused(f"{run_dir}: not a run directory (no measurements.jsonl)")
    problems = verify(run_dir)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise RunRefused(f"{run_dir}: not indexed, its integrity does not verify: {shown}")
    run = read_run(run_dir)
    if not run.start:
        raise RunRefused(f"{run_dir}: not indexed: its record has no run_start (nothing was started)")
    manifest = read_manifest(run_dir) or {}
    rows = RunRows.of(run, manifest.get("sha256"), host or socket.gethostname())
    with store.engine.begin() as connection:
        existing = connection.execute(
            sa.select(schema.runs.c.id, schema.runs.c.status, schema.runs.c.integrity_sha256).where(
                schema.runs.c.uid == rows.run["uid"]
            )
        ).first()
        if existing is not None and existing.status == "ended" and existing.integrity_sha256 == rows.integrity:
            return Indexed(existing.id, rows.run["uid"], "unchanged", len(rows.measurements), _since(began))
        if existing is not None:
            delete_children(connection, existing.id)
            connection.execute(schema.runs.update().where(schema.runs.c.id == existing.id).values(**rows.run))
            run_id, action = existing.id, "replaced"
        else:
            run_id = connection.execute(schema.runs.insert().values(**rows.run)).inserted_primary_key[0]
            action = "added"
        rows.insert_children(connection, run_id)
    return Indexed(run_id, rows.run["uid"], action, len(rows.measurements), _since(began))


def delete_children(connection: sa.Connection, run_id: int) -> None:
    """The run's indexed rows (its live records stay: the live view shows how a run that just ended went)."""
    for table in (schema.safe_states, schema.measurements, schema.checks, schema.instruments):
        connection.execute(table.delete().where(table.c.run_id == run_id))


def _since(began: float) -> float:
    return time.perf_counter() - began


@dataclass
class RunRows:
    """The rows of one run, built from its record alone (no database needed: the benchmark seeds with these)."""

    run: dict
    integrity: str | None
    instruments: list[dict]
    checks: list[dict]
    measurements: list[dict]
    safe_states: list[dict]

    @classmethod
    def of(cls, run: Run, integrity: str | None, host: str) -> RunRows:
        start, plan = run.start, (run.plans[0] if run.plans else None)
        dut = plan.dut if plan else {}
        identities = run.identities or {}
        passed, reasons = run.verdict()
        end = next((r for r in reversed(run.records) if r.get("record") == "run_end"), None)
        row = {
            "uid": run_uid(start),
            "path": str(run.path),
            "host": host,
            "status": "ended",
            "verdict": "pass" if passed else "fail",
            "reasons": "\n".join(reasons),
            "plan_name": plan.name if plan else "",
            "plan_title": plan.title if plan else "",
            "plan_version": plan.version if plan else "",
            "plan_sha256": plan.sha256 if plan else "",
            "bench_name": str(start.get("bench") or ""),
            "bench_file": str(start.get("bench_file") or ""),
            "bench_sha256": str(start.get("bench_sha256") or ""),
            "dut_name": str(dut.get("name") or ""),
            "dut_serial": ",".join(dut.get("serials") or ()),
            "dut_firmware": "; ".join(f"{r}: {identities[r]}" for r in DUT_ROLES if identities.get(r)),
            "time_scale": float(start.get("time_scale") or 1.0),
            "emulated": bool(start.get("emulated")),
            "replay_of": start.get("replay_of") or start.get("validation_of"),
            "integrity_sha256": integrity,
            "hilbench_version": str(start.get("hilbench_version") or ""),
            "record_schema": run.schema_version,
            "started_at": when(start.get("wall_time")) or dt.datetime(1970, 1, 1),
            "ended_at": when(end.get("wall_time")) if end else None,
            "current_check": "",
            "checks_total": len(run.checks),
            "indexed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        }
        instruments = [
            {
                "role": role,
                "driver": str(spec.get("driver") or ""),
                "address": str(spec.get("address") or ""),
                "identity": str(identities.get(role) or ""),
                "calibration_serial": (spec.get("calibration") or {}).get("serial"),
                "calibration_certificate": (spec.get("calibration") or {}).get("certificate"),
                "calibration_due": (spec.get("calibration") or {}).get("due"),
                "calibration_status": (spec.get("calibration") or {}).get("status"),
            }
            for role, spec in (start.get("roles") or {}).items()
        ]
        checks, measurements = [], []
        for seq, check in enumerate(run.checks):
            verdicts = [m.verdict for m in check.measurements] + (["error"] if check.error else [])
            checks.append(
                {
                    "seq": seq,
                    "check_id": check.id,
                    "type": check.type,
                    "plan_name": check.plan,
                    "verdict": worst(verdicts),
                    "error": check.error,
                }
            )
            for m in check.measurements:
                limits = m.limits
                measurements.append(
                    {
                        "check_id": check.id,
                        "name": m.name,
                        "value": _finite(m.value),
                        "unit": m.unit or "",
                        "low": limits.low if limits else None,
                        "high": limits.high if limits else None,
                        "low_inclusive": limits.low_inclusive if limits else True,
                        "high_inclusive": limits.high_inclusive if limits else True,
                        "marginal": limits.marginal if limits else 0.0,
                        "verdict": m.verdict,
                        "instrument_time": _finite(m.instrument_time),
                        "note": m.note or "",
                    }
                )
        safe = [
            {
                "role": str(r.get("role") or ""),
                "confirmed": r.get("confirmed"),
                "seconds": _finite(r.get("seconds")),
                "read_back": str(r.get("read_back") or ""),
                "context": str(r.get("context") or "end of run"),
                "worker": r.get("worker"),
            }
            for r in run.safe_states
        ]
        return cls(row, integrity, instruments, checks, measurements, safe)

    def insert_children(self, connection: sa.Connection, run_id: int) -> None:
        for table, rows in (
            (schema.instruments, self.instruments),
            (schema.checks, self.checks),
            (schema.measurements, self.measurements),
            (schema.safe_states, self.safe_states),
        ):
            if rows:
                connection.execute(table.insert(), [dict(r, run_id=run_id) for r in rows])


def worst(verdicts: list[str]) -> str:
    """The worst verdict of a check's figures (``error`` for a check that measured nothing)."""
    ranked = [v for v in VERDICT_ORDER if v in verdicts]
    return ranked[0] if ranked else "error"


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
