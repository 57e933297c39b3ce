"""The acceptance certificate: one document that states what a run showed, built from the run directory alone.

This DUT (name, serials), on this bench (file and its hash; each instrument's identity and calibration, overdue
marked), against this plan (name, version, hash), gave these figures against these limits, so the verdict is X;
with the safe-state records, the time scale (and an EMULATED BENCH banner when no hardware was measured), and
the integrity manifest's hash so a later edit is found by ``hilbench report --verify``.  The model here is plain
data; ``certificate_html`` and ``certificate_pdf`` render it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.report.integrity import read_manifest, verify
from hilbench.report.records import Run, read_run


@dataclass(frozen=True)
class FigureRow:
    name: str
    value: str
    unit: str
    limit: str
    verdict: str
    note: str


@dataclass(frozen=True)
class CheckSection:
    id: str
    type: str
    rows: list[FigureRow]
    charts: list[tuple[str, bytes]]  # (name, PNG)
    error: str | None


@dataclass(frozen=True)
class Certificate:
    title: str
    passed: bool
    reasons: list[str]
    emulated: bool
    time_scale: float
    started: str
    ended: str
    dut: list[tuple[str, str]]
    plans: list[tuple[str, str]]
    bench: list[tuple[str, str]]
    instruments: list[dict]
    checks: list[CheckSection]
    safe_states: list[dict]
    lag: list[dict]
    integrity: list[tuple[str, str]]
    integrity_ok: bool
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "PASSED" if self.passed else "FAILED"


def build(run_dir: str | Path) -> Certificate:
    run = read_run(run_dir)
    passed, reasons = run.verdict()
    start, records = run.start, run.records
    plan = run.plans[0] if run.plans else None
    dut = plan.dut if plan else next((r.get("dut") for r in records if r.get("record") == "check_start"), {}) or {}
    problems = verify(run.path)
    manifest = read_manifest(run.path) or {}
    return Certificate(
        title=f"Acceptance certificate: {plan.title or plan.name}" if plan else "Acceptance certificate",
        passed=passed and not problems,
        reasons=reasons + [f"integrity: {p}" for p in problems],
        emulated=run.emulated,
        time_scale=float(start.get("time_scale") or 1.0),
        started=_when(start.get("wall_time")),
        ended=_when(next((r.get("wall_time") for r in reversed(records) if r.get("record") == "run_end"), None)),
        dut=[
            ("name", str(dut.get("name") or "-")),
            ("serials", ", ".join(dut.get("serials") or []) or "not stated in the plan"),
            ("rating", f"{dut.get('rated_kw', '-')} kW, {dut.get('boards', '-')} boards"),
            ("supply", f"{dut.get('voltage_v', '-')} V, {dut.get('frequency_hz', '-')} Hz"),
        ],
        plans=[
            (p.name, f"{p.title}; version {p.version or 'not stated'}; {p.path}; sha256 {p.sha256}") for p in run.plans
        ]
        or [("-", "no plan record (a run written before record schema 1)")],
        bench=[
            ("bench", str(start.get("bench", "-"))),
            ("bench file", f"{start.get('bench_file', '-')} (sha256 {start.get('bench_sha256') or 'not recorded'})"),
            ("hilbench", f"{start.get('hilbench_version', 'unknown')}, record schema {run.schema_version}"),
        ],
        instruments=_instruments(run),
        checks=[_section(run, check) for check in run.checks],
        safe_states=[r for r in run.safe_states if "context" not in r],
        lag=[r for r in records if r.get("record") == "emulation_lag"],
        integrity=[
            ("sha256", manifest.get("sha256", "no manifest")),
            ("covers", f"{len(manifest.get('files', {}))} files: measurements.jsonl and the raw captures"),
            ("sealed", f"{manifest.get('sealed', '-')} ({manifest.get('sealed_at', '-')})"),
            ("checked now", "every file as sealed" if not problems else "; ".join(problems)),
        ],
        integrity_ok=not problems,
        notes=([run.note] if run.note else []) + _replay_note(start) + _unverified_notes(records),
    )


def _unverified_notes(records: list[dict]) -> list[str]:
    """Commands the run relied on although the instruments had not shown they accept them (--accept-unverified)."""
    return [
        f"UNVERIFIED COMMAND, accepted by --accept-unverified: {item}"
        for record in records
        if record.get("record") == "unverified_accepted"
        for item in record.get("items", [])
    ]


def _replay_note(start: dict) -> list[str]:
    if not start.get("replay"):
        return []
    return [
        f"REPLAY of {start.get('replay_of')}: the stored figures and captures judged again against "
        f"{start.get('plan')}; no instrument was touched. The original run's own certificate states what it measured."
    ]


def _when(wall_time) -> str:
    if wall_time is None:
        return "not recorded (the run did not end)"
    return dt.datetime.fromtimestamp(float(wall_time), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _instruments(run: Run) -> list[dict]:
    rows = []
    for role, spec in (run.start.get("roles") or {}).items():
        cal = spec.get("calibration") or {}
        status = cal.get("status") or "no calibration record"
        rows.append(
            {
                "role": role,
                "driver": spec.get("driver", ""),
                "address": spec.get("address", ""),
                "identity": run.identities.get(role, "not opened by this run"),
                "calibration": ", ".join(x for x in (cal.get("serial"), cal.get("certificate")) if x) or "-",
                "due": cal.get("due") or "-",
                "status": status,
                "overdue": status.startswith("OVERDUE"),
            }
        )
    return rows


def _section(run: Run, check) -> CheckSection:
    rows = []
    for m in check.measurements:
        rows.append(
            FigureRow(
                m.name,
                "-" if m.value is None else f"{m.value:.4g}",
                m.unit,
                m.limits.describe() if m.limits else "-",
                m.verdict,
                m.note,
            )
        )
    charts = [(name, path.read_bytes()) for name, path in run.charts(check.id) if path.exists()]
    return CheckSection(check.id, check.type, rows, charts, check.error)
