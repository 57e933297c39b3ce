"""``validate_model``: a vendor's simulated response judged against an event this run measured earlier (a setpoint
step, a frequency step, a voltage sag), by the IEC 61400-27-2 method (hilbench.plans.model_check).  It drives
nothing: it reads the earlier check's stored record from this run's directory and the model file the plan names.

Limits: the plan's ``limits`` for a figure win; a figure the plan gives none gets the tolerance of
``params.reference`` (RTE's DyCoV defaults for a field test or a simulation reference, pq/data).
"""

from __future__ import annotations

from pathlib import Path

from hilbench.core.measurement import Limits
from hilbench.plans.checks.base import CheckAborted, CheckContext, check
from hilbench.plans.model_check import STEP_FIGURES, WINDOWS, EventError, judge_event, measured_event
from hilbench.plans.model_validation_run import chart_png
from hilbench.pq.model_file import ModelFileError, read_model_file
from hilbench.report.record_writer import read_records

MEASUREMENTS = {f"p_{stat}_{w}": "pu" for w in WINDOWS for stat in ("mxe", "me", "mae")}
MEASUREMENTS |= {f"{name.rsplit('_', 1)[0]}_error": "" for name in STEP_FIGURES}


@check(
    "validate_model",
    measurements=MEASUREMENTS,
    params={
        "event": None,  # the id of this plan's check whose record is the measured event (run before this one)
        "model": None,  # the model's response file (.csv or .npz), relative to the plan file or absolute
        "model_event": None,  # the event's name in the model file (default: the event's id, or its only event)
        "reference": "field_test",  # or "simulation": which default tolerances apply where the plan sets none
        "insertion_exclusion_s": 0.020,  # RTE's defaults (IEC 61400-27-2 allows up to 0.14 s)
        "clearing_exclusion_s": 0.060,  # (IEC allows up to 0.5 s)
    },
    resolution_s=None,
    roles=(),
)
def validate_model(ctx: CheckContext, params: dict) -> None:
    """The model's response to an event of this run: per-window errors and step figures, each with its limit."""
    if not params["event"] or not params["model"]:
        raise CheckAborted(f"{ctx.check_id}: params.event (a check of this plan) and params.model (a file) are needed")
    run_dir = ctx.run_record.run_dir
    records, _ = read_records(run_dir / "measurements.jsonl")
    starts = {r["check"]: r["type"] for r in records if r.get("record") == "check_start"}
    if params["event"] not in starts:
        raise CheckAborted(f"{ctx.check_id}: event {params['event']!r} has not run before this check in this run")
    model_path = Path(params["model"])
    if not model_path.is_absolute():
        plan = next((r.get("path") for r in records if r.get("record") == "plan" and r.get("path")), None)
        model_path = (Path(plan).parent if plan else Path.cwd()) / model_path
    try:
        responses = read_model_file(model_path)
        wanted = params["model_event"] or params["event"]
        model = responses.get(wanted) or (next(iter(responses.values())) if len(responses) == 1 else None)
        if model is None:
            raise CheckAborted(f"{ctx.check_id}: {model_path} has no event {wanted!r} ({', '.join(responses)})")
        event = measured_event(run_dir, params["event"], starts[params["event"]])
        figures = judge_event(
            event, model, rated_w=ctx.dut.rated_kw * 1000, reference=params["reference"],
            insertion_exclusion_s=params["insertion_exclusion_s"], clearing_exclusion_s=params["clearing_exclusion_s"],
        )  # fmt: skip
    except (ModelFileError, EventError, ValueError) as exc:
        raise CheckAborted(f"{ctx.check_id}: {exc}") from None
    for figure in figures:
        if figure.name not in ctx.limits and figure.high is not None:
            ctx.limits[figure.name] = Limits(high=figure.high, unit=figure.unit)
        if figure.value is None:
            ctx.measure(figure.name, None, not_applicable=figure.note, raw=event.raw)
        else:
            ctx.measure(figure.name, figure.value, note=figure.note, raw=event.raw)
    for name in MEASUREMENTS:  # step figures of an event that is not a setpoint step
        if name not in {f.name for f in figures}:
            ctx.measure(name, None, not_applicable=f"a {event.kind} event has no step-response figures")
    ctx.attach_chart("validation", lambda: chart_png(event, model, figures, f"{ctx.check_id}: measured and model"))
