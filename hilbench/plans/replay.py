"""``hilbench replay RUN_DIR``: judge a stored run again, against the plan given (new limits, another limit table),
without touching an instrument or the network.  The run directory is only read; the replay is a new run directory
whose records say it is a replay, of which run, against which plan.

What can be judged again, and what cannot (a replay never prints a pass the run did not measure):
- every stored figure against the new plan's limits for the same check and measurement;
- the harmonics check's figures recomputed from its stored captures when the new plan changes only how captures
  are judged (``table``, ``equipment_class``, ``receiving_kv``, ``rsce``);
- a check whose new parameters change what would have been captured (levels, durations, ...) gets verdict
  ``error`` ("the run did not measure with these parameters"); a check the run did not store is ``error`` too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.core.errors import HilbenchError
from hilbench.core.measurement import ERROR, Limits, Measurement, judge
from hilbench.plans.checks import REGISTRY
from hilbench.plans.checks.base import Dut
from hilbench.plans.checks.harmonic_figures import JUDGING_PARAMS, TableError, capture_from_raw, harmonic_figures
from hilbench.plans.plan import Plan, PlanCheck, load_plan
from hilbench.report.record_writer import RecordWriter, read_records, safe_file_name
from hilbench.report.records import RECORD_SCHEMA_VERSION, plan_identity

#: check types whose figures a replay can recompute from the run's raw files, and the parameters it may change
RECOMPUTABLE = {"harmonics": JUDGING_PARAMS}


class ReplayError(HilbenchError):
    """A run directory that cannot be replayed (no records, a plan that does not fit)."""


@dataclass
class StoredCheck:
    id: str
    type: str
    params: dict
    declared: dict  # measurement name -> Limits fields, as the run declared them
    dut: dict | None
    measurements: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    check: str
    name: str
    before: str
    after: str
    value_before: float | None
    value_after: float | None


@dataclass
class ReplayResult:
    report_dir: Path
    measurements: list[Measurement]
    changes: list[Change]
    notes: list[str]


def stored_checks(records: list[dict]) -> list[StoredCheck]:
    checks: dict[str, StoredCheck] = {}
    for record in records:
        kind = record.get("record")
        if kind == "check_start":
            checks[record["check"]] = StoredCheck(
                record["check"], record["type"], record.get("params", {}), record.get("declared", {}), record.get("dut")
            )
        elif kind == "measurement" and record.get("check") in checks:
            checks[record["check"]].measurements.append(record)
    return list(checks.values())


def _limits(fields_: dict | None) -> Limits | None:
    return Limits(**fields_) if fields_ else None


def _dut(stored: StoredCheck, plan: Plan | None) -> Dut:
    if plan is not None:
        return plan.dut
    if stored.dut is None:
        raise ReplayError(f"check {stored.id}: the run did not store the DUT; give the plan with --plan")
    return Dut(**{**stored.dut, "serials": tuple(stored.dut.get("serials", ()))})


def _recompute(run_dir: Path, stored: StoredCheck, params: dict, dut: Dut) -> dict[str, tuple[float | None, dict]]:
    """The harmonics figures from the stored captures, judged with ``params``."""
    captures = []
    for level in stored.params["levels_percent"]:
        for kind in ("waveforms", "harmonics"):
            relative = f"raw/{safe_file_name(f'{stored.id}-{kind}-{level:g}')}.npz"
            if (run_dir / relative).exists():
                source = next((m.get("extra", {}).get("source", "") for m in stored.measurements), "")
                captures.append(capture_from_raw(run_dir / relative, level, dut.frequency_hz, relative, source))
                break
        else:
            raise ReplayError(f"check {stored.id}: no stored capture for level {level:g} % in {run_dir / 'raw'}")
    return harmonic_figures(captures, params, dut)


def replay(run_dir: Path, *, plan_path: Path | None = None, report_dir: Path | None = None) -> ReplayResult:
    run_dir = Path(run_dir)
    records, torn = read_records(run_dir / "measurements.jsonl")
    checks = stored_checks(records)
    if not checks:
        raise ReplayError(f"{run_dir}: no checks recorded in measurements.jsonl (is it a hilbench run directory?)")
    plan = load_plan(plan_path) if plan_path else None
    report_dir = (
        Path(report_dir)
        if report_dir
        else run_dir.with_name(f"{run_dir.name}-replay-{dt.datetime.now():%Y%m%d-%H%M%S}")
    )
    if report_dir.resolve() == run_dir.resolve() or run_dir.resolve() in report_dir.resolve().parents:
        raise ReplayError(f"{report_dir}: a replay is written beside the run, never into it")
    if (report_dir / "measurements.jsonl").exists():
        raise ReplayError(f"{report_dir} already holds a run; choose another --report directory")
    report_dir.mkdir(parents=True, exist_ok=True)
    writer = RecordWriter(report_dir)
    notes = [torn] if torn else []
    original = next((r for r in records if r.get("record") == "run_start"), {})
    carried = {k: original.get(k) for k in ("bench", "bench_file", "bench_sha256", "roles", "emulated", "time_scale")}
    writer.event(
        "run_start", replay_of=str(run_dir), plan=str(plan_path or "the run's own limits"), **carried, replay=True,
        schema_version=RECORD_SCHEMA_VERSION,
    )  # fmt: skip
    if plan is not None:
        writer.event("plan", **plan_identity(plan))
    else:
        for record in (r for r in records if r.get("record") == "plan"):
            writer.event("plan", **{k: v for k, v in record.items() if k not in ("record", "wall_time")})
    measured, changes = [], []
    try:
        for stored in checks:
            plan_check = next((c for c in plan.checks if c.id == stored.id), None) if plan else None
            if plan is not None and plan_check is None:
                notes.append(f"{stored.id}: not in {plan_path}; not replayed")
                continue
            results = _replay_check(run_dir, stored, plan_check, plan, writer, notes)
            measured.extend(results)
            before = {m["name"]: m for m in stored.measurements}
            for m in results:
                old = before.get(m.name)
                if old is not None and old["verdict"] != m.verdict:
                    changes.append(Change(m.check, m.name, old["verdict"], m.verdict, old["value"], m.value))
        writer.event("replay_changes", changes=[dataclasses.asdict(c) for c in changes])
        writer.event("run_end")
    finally:
        writer.close()
    return ReplayResult(report_dir, measured, changes, notes)


def _replay_check(
    run_dir: Path, stored: StoredCheck, plan_check: PlanCheck | None, plan: Plan | None, writer: RecordWriter,
    notes: list[str],
) -> list[Measurement]:  # fmt: skip
    params = plan_check.params if plan_check else stored.params
    limits = plan_check.limits if plan_check else {k: _limits(v) for k, v in stored.declared.items()}
    writer.event("check_start", check=stored.id, type=stored.type, params=params, replay=True,
                   declared={k: v.__dict__ for k, v in limits.items() if v is not None})  # fmt: skip
    judging = RECOMPUTABLE.get(stored.type, ())
    changed = sorted(k for k in set(params) | set(stored.params) if params.get(k) != stored.params.get(k))
    not_replayable = [k for k in changed if k not in judging]
    figures: dict[str, tuple[float | None, dict]] = {}
    reason = ""
    if not_replayable:
        reason = f"the run did not measure with these parameters ({', '.join(not_replayable)} changed)"
    elif changed:
        try:
            figures = _recompute(run_dir, stored, params, _dut(stored, plan))
            notes.append(f"{stored.id}: recomputed from the stored captures with {', '.join(changed)} changed")
        except (TableError, ReplayError, OSError, KeyError) as exc:
            reason = f"could not be recomputed: {exc}"
    results = []
    names = list(dict.fromkeys([*(m["name"] for m in stored.measurements), *limits]))
    for name in names:
        old = next((m for m in stored.measurements if m["name"] == name), None)
        unit = old["unit"] if old else REGISTRY[stored.type].measurements.get(name, "")
        if reason:
            m = judge(stored.id, name, None, unit, limits.get(name), note=f"replay: {reason}")
        elif name in figures:
            value, extra = figures[name]
            note = extra.pop("note", "")
            m = judge(stored.id, name, value, unit, limits.get(name), note=f"replay (recomputed): {note}".rstrip(": "),
                      raw=old["raw"] if old else "", extra=extra)  # fmt: skip
        elif old is None:
            m = judge(stored.id, name, None, unit, limits.get(name), note="replay: the run did not measure it")
        elif old["value"] is None or old["verdict"] in (ERROR, "n/a"):
            m = Measurement(stored.id, name, None, unit, limits.get(name), old["verdict"],
                            note=f"replay: as in the run: {old.get('note', '')}", raw=old.get("raw", ""))  # fmt: skip
        else:
            note = f"replay: stored value; {old.get('note', '')}".rstrip("; ")
            m = judge(
                stored.id, name, old["value"], unit, limits.get(name), instrument_time=old.get("instrument_time"),
                raw=old.get("raw", ""), note=note,
            )  # fmt: skip
        writer.record(m)
        results.append(m)
    writer.event("check_end", check=stored.id, verdicts={m.name: m.verdict for m in results})
    return results
