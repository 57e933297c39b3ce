"""``hilbench validate-model RUN_DIR --model SIM``: every event of a stored run that the model file answers,
judged by hilbench.plans.model_check, written as a new run directory (like a replay: the run is only read) with
one ``validate_model`` check per event, its figures as measurements with limits, and a chart per event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.core.errors import HilbenchError
from hilbench.core.measurement import Limits, Measurement, judge
from hilbench.plans.model_check import (
    EVENT_RECORDS,
    EventError,
    Figure,
    MeasuredEvent,
    event_chart_data,
    judge_event,
    measured_event,
)
from hilbench.pq.model_file import ModelResponse, read_model_file
from hilbench.report import charts
from hilbench.report.record_writer import RecordWriter, read_records
from hilbench.report.records import RECORD_SCHEMA_VERSION


class ValidationError(HilbenchError):
    """A run or a model file the validation cannot use."""


@dataclass
class ValidationResult:
    report_dir: Path
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def figure_measurement(check: str, figure: Figure, raw: str) -> Measurement:
    limits = None if figure.high is None else Limits(high=figure.high, unit=figure.unit)
    if figure.value is None:
        return judge(check, figure.name, None, figure.unit, limits, not_applicable=figure.note or "not measured")
    return judge(check, figure.name, figure.value, figure.unit, limits, note=figure.note, raw=raw)


def chart_png(event: MeasuredEvent, model: ModelResponse, figures: list[Figure], title: str) -> bytes:
    data = event_chart_data(event, model)
    spans = []
    for window in ("pre", "during", "post"):
        own = [f for f in figures if f.name.endswith(f"_{window}")]
        span = next((f.extra.get("span") for f in own if f.extra.get("span")), None)
        if span is None:
            continue
        verdicts = [f.passed for f in own]
        passed = None if all(v is None for v in verdicts) else all(v is not False for v in verdicts)
        spans.append((window, span[0], span[1], passed))
    return charts.model_validation(
        title, event.time, event.p_w, data["simulated_time"], model.p_w, windows=spans, worst=data["worst"]
    )


def validate_run(
    run_dir: Path, model_path: Path, *, reference: str = "field_test", report_dir: Path | None = None,
    event: str | None = None,
) -> ValidationResult:  # fmt: skip
    run_dir, model_path = Path(run_dir), Path(model_path)
    records, torn = read_records(run_dir / "measurements.jsonl")
    if not records:
        raise ValidationError(f"{run_dir}: no measurements.jsonl records (is it a hilbench run directory?)")
    plan = next((r for r in records if r.get("record") == "plan"), {})
    rated_kw = (plan.get("dut") or {}).get("rated_kw")
    if not rated_kw:
        raise ValidationError(f"{run_dir}: the record names no DUT rating (rated_kw): nothing to take per unit of")
    responses = read_model_file(model_path)
    checks = [(r["check"], r["type"]) for r in records if r.get("record") == "check_start"]
    events = [(c, t) for c, t in checks if t in EVENT_RECORDS]
    if "" in responses:  # one unnamed event: it answers the run's event given by --event
        if event is None:
            raise ValidationError(f"{model_path}: the file names no event (no 'event' column); give --event CHECK "
                                  f"(one of {', '.join(c for c, _ in events) or 'none'})")  # fmt: skip
        responses = {event: responses[""]}
    report_dir = Path(report_dir) if report_dir else run_dir.with_name(f"{run_dir.name}-model-validation")
    if report_dir.resolve() == run_dir.resolve() or run_dir.resolve() in report_dir.resolve().parents:
        raise ValidationError(f"{report_dir}: a validation is written beside the run, never into it")
    if (report_dir / "measurements.jsonl").exists():
        raise ValidationError(f"{report_dir} already holds a run; choose another --report directory")
    result = ValidationResult(report_dir, notes=[torn] if torn else [])
    unknown = sorted(set(responses) - {c for c, _ in checks})
    if unknown:
        raise ValidationError(f"{model_path}: event(s) {', '.join(unknown)} are not checks of {run_dir}")
    writer = RecordWriter(report_dir)
    original = next((r for r in records if r.get("record") == "run_start"), {})
    carried = {
        k: original[k]
        for k in ("bench", "bench_file", "bench_sha256", "roles", "emulated", "time_scale")
        if k in original
    }
    writer.event(
        "run_start", validation_of=str(run_dir), model=str(model_path),
        model_sha256=hashlib.sha256(model_path.read_bytes()).hexdigest(), reference=reference, **carried,
        schema_version=RECORD_SCHEMA_VERSION,
    )  # fmt: skip
    writer.event("plan", **{k: v for k, v in plan.items() if k not in ("record", "wall_time")})
    try:
        for check, check_type in events:
            if check not in responses:
                result.notes.append(f"{check}: the model file has no response to this event; not judged")
                continue
            result.measurements += _validate_event(run_dir, check, check_type, responses[check], float(rated_kw),
                                                   reference, writer, result.notes)  # fmt: skip
        for check in responses:
            if check not in {c for c, _ in events}:
                kind = dict(checks)[check]
                result.notes.append(f"{check}: a {kind} check stores no event this method judges")
        writer.event("run_end")
    finally:
        writer.close()
    return result


def _validate_event(run_dir, check, check_type, model, rated_kw, reference, writer, notes) -> list[Measurement]:
    cid = f"validate-{check}"
    writer.event("check_start", check=cid, type="validate_model", params={"event": check, "reference": reference})
    try:
        event = measured_event(run_dir, check, check_type)
        figures = judge_event(event, model, rated_w=rated_kw * 1000, reference=reference)
    except (EventError, ValueError) as exc:
        m = judge(cid, "p_mxe_during", None, "pu", None, note=f"not judged: {exc}")
        writer.record(m)
        writer.event("check_end", check=cid, verdicts={m.name: m.verdict}, error=str(exc))
        notes.append(f"{check}: {exc}")
        return [m]
    measurements = [writer.record(figure_measurement(cid, f, event.raw)) for f in figures]
    png = chart_png(event, model, figures, f"{check}: measured and model ({reference.replace('_', ' ')} tolerances)")
    relative = f"raw/{cid}-validation.png"
    (writer.run_dir / relative).write_bytes(png)
    writer.event("chart", check=cid, name="validation", file=relative)
    writer.event("check_end", check=cid, verdicts={m.name: m.verdict for m in measurements})
    return measurements
