"""A run directory read back: the typed record stream of ``measurements.jsonl`` as dataclasses and as a plain
table, for reports, comparisons and a lab's own scripts.

The stream is documented in docs/records.md and described by ``hilbench/data/records.schema.json``; every run
writes ``schema_version`` in its ``run_start`` record (runs written before there was one read as version 0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.core.measurement import Limits, Measurement
from hilbench.report.record_writer import read_records

#: The record stream's version: raised when a record type or field changes meaning or goes away (a new optional
#: field or record type keeps it).
RECORD_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PlanRecord:
    name: str
    title: str = ""
    version: str = ""
    path: str = ""
    sha256: str = ""
    dut: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CheckRecord:
    id: str
    type: str
    plan: str
    params: dict
    verdicts: dict[str, str]
    error: str | None
    measurements: list[Measurement]


@dataclass(frozen=True)
class Run:
    """Everything a run directory states, from its record stream alone."""

    path: Path
    schema_version: int
    start: dict  # the run_start record: bench, its file's hash, roles with calibration, emulated, time scale
    plans: list[PlanRecord]
    checks: list[CheckRecord]
    safe_states: list[dict]
    identities: dict[str, str]
    records: list[dict]  # every record, in order
    note: str = ""  # what could not be read (a last line cut short by a killed run)

    @property
    def measurements(self) -> list[Measurement]:
        return [m for c in self.checks for m in c.measurements]

    @property
    def emulated(self) -> bool:
        return bool(self.start.get("emulated"))

    def verdict(self) -> tuple[bool, list[str]]:
        """(passed, why not): passed only when checks ran, no figure failed or could not be judged, every check
        ended cleanly and every role used was confirmed safe (at the end and at any interlock trip) - the rule
        ``hilbench run`` prints its PLAN PASSED / FAILED by."""
        reasons = []
        if not self.checks:
            reasons.append("no check ran")
        for check in self.checks:
            bad = [m.name for m in check.measurements if m.verdict in ("fail", "error")]
            if bad:
                reasons.append(f"{check.id}: {', '.join(bad)}")
            if check.error:
                reasons.append(f"{check.id}: {check.error}")
        unsafe = [r.get("role", "?") for r in self.safe_states if r.get("confirmed") is False]  # at a trip too
        if unsafe:
            reasons.append(f"safe state not confirmed: {', '.join(unsafe)}")
        return not reasons, reasons

    def charts(self, check: str) -> list[tuple[str, Path]]:
        """(name, file) of each chart the check drew, in order."""
        return [
            (r.get("name", ""), self.path / r["file"])
            for r in self.records
            if r.get("record") == "chart" and r.get("check") == check and r.get("file")
        ]

    def table(self) -> list[dict]:
        """One plain dict per measurement (check, type, name, value, unit, low, high, verdict, note): no pandas."""
        rows = []
        for check in self.checks:
            for m in check.measurements:
                rows.append(
                    {
                        "check": check.id,
                        "type": check.type,
                        "name": m.name,
                        "value": m.value,
                        "unit": m.unit,
                        "low": m.limits.low if m.limits else None,
                        "high": m.limits.high if m.limits else None,
                        "verdict": m.verdict,
                        "note": m.note,
                    }
                )
        return rows


def bench_identity(bench) -> dict:
    """The run_start fields that say which bench ran: the bench file's hash, each role's driver, address and
    calibration (serial, certificate, due date, status on the day), and the schema and hilbench versions."""
    roles = {}
    for name, spec in bench.roles.items():
        cal = spec.calibration
        roles[name] = {
            "driver": spec.driver,
            "address": spec.address,
            "calibration": None
            if cal is None
            else {
                "serial": cal.serial,
                "certificate": cal.certificate,
                "due": cal.due.isoformat() if cal.due else None,
                "status": cal.status(),
            },
        }
    try:
        bench_sha256 = hashlib.sha256(Path(bench.path).read_bytes()).hexdigest()
    except OSError:
        bench_sha256 = None
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "hilbench_version": _version(),
        "bench_sha256": bench_sha256,
        "roles": roles,
    }


def plan_identity(plan) -> dict:
    """The ``plan`` record: which plan, by name, version label and the hash of its file's bytes, and its DUT."""
    return {
        "name": plan.name,
        "title": plan.title,
        "version": plan.version,
        "path": plan.path,
        "sha256": plan.sha256,
        "dut": dataclasses.asdict(plan.dut),
    }


def _version() -> str:
    try:
        return importlib.metadata.version("hilbench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def read_run(run_dir: str | Path) -> Run:
    """The run in ``run_dir`` (its ``measurements.jsonl``), measurements grouped under their checks in order."""
    run_dir = Path(run_dir)
    path = run_dir / "measurements.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: not a run directory (no measurements.jsonl)")
    records, note = read_records(path)
    start = next((r for r in records if r.get("record") == "run_start"), {})
    fields = ("name", "title", "version", "path", "sha256")
    plans = [
        PlanRecord(*(str(r.get(k) or "") for k in fields), dut=r.get("dut") or {})
        for r in records
        if r.get("record") == "plan"
    ]
    checks, open_checks = [], {}
    for r in records:
        kind = r.get("record")
        if kind == "check_start":
            open_checks[r["check"]] = {"start": r, "measurements": []}
        elif kind == "measurement":
            entry = open_checks.setdefault(r["check"], {"start": {"check": r["check"]}, "measurements": []})
            entry["measurements"].append(measurement_from_record(r))
        elif kind == "check_end" and r.get("check") in open_checks:
            entry = open_checks.pop(r["check"])
            checks.append(_check(entry, r))
    checks += [_check(entry, {}) for entry in open_checks.values()]  # a run killed inside a check
    return Run(
        run_dir,
        int(start.get("schema_version", 0)),
        start,
        plans,
        checks,
        [r for r in records if r.get("record") == "safe_state"],
        next((r.get("identities", {}) for r in records if r.get("record") == "identities"), {}),
        records,
        note,
    )


def measurement_from_record(record: dict) -> Measurement:
    limits = record.get("limits")
    return Measurement(
        record["check"],
        record["name"],
        record.get("value"),
        record.get("unit", ""),
        Limits(**limits) if limits else None,
        record.get("verdict", ""),
        record.get("instrument_time"),
        record.get("raw", ""),
        record.get("note", ""),
        record.get("extra") or {},
    )


def _check(entry: dict, end: dict) -> CheckRecord:
    start = entry["start"]
    return CheckRecord(
        start.get("check", ""),
        start.get("type", ""),
        start.get("plan", ""),
        start.get("params") or {},
        end.get("verdicts") or {m.name: m.verdict for m in entry["measurements"]},
        end.get("error") if end else "the run ended inside this check",
        entry["measurements"],
    )
