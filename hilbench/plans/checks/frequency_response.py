"""Frequency response (droop / frequency-watt): the grid plays a frequency trajectory, the container's power
must follow the plan's response curve inside an envelope (hilbench.core.envelope), judged on the analyser's own
stored updates."""

from __future__ import annotations

import numpy as np

from hilbench.core.envelope import ResponseCurve, StepRequirement, margins, step_envelope
from hilbench.core.roles import ControllerMode, UnderFrequencyAction
from hilbench.core.units import KW
from hilbench.plans.checks.base import CheckAborted, CheckContext, check, series
from hilbench.plans.trajectory import TrajectoryError, frequency_ramp, load_recording, staircase
from hilbench.report import charts


@check(
    "frequency_response",
    measurements={
        "outside_envelope_percent": "%",
        "first_violation_s": "s",
        "worst_excess_kw": "kW",
        "delivered_kw": "kW",
    },
    params={
        "steps": [[10.0, 49.8], [10.0, 49.5]],  # [seconds, Hz] held, or [seconds, Hz, "ramp"]: a linear ramp
        "ramp_step_s": 0.02,  # a ramp is played as list steps this long (each at the ramp's value at its end)
        "recording": None,  # instead of steps: a recorded frequency (CSV/NPY: time_s, voltage_pu|_v, frequency_hz)
        "frequency_tolerance_hz": 0.005,  # a recording played as list steps no further than this from it
        "voltage_tolerance_pu": 0.01,
        "curve": [[0.015, 0.0], [0.2, 0.05], [0.5, 1.0]],  # [Hz off nominal, response fraction]: NESO DC's shape
        "volume_kw": None,  # the contracted response at 100 %: the plan must give it
        "initiation_s": 0.5,
        "full_s": 1.0,
        "delivered_percent": 90.0,  # of each change, by full_s (IEEE 1547.1's 90 %; "full delivery": 100)
        "power_accuracy_percent": 1.0,  # of the DUT's rating: the value margin is 1.5 x this (IEEE 1547.1)
        "time_accuracy_s": 0.05,  # one analyser update: the time margin is 1.5 x this
        "uf_threshold_hz": None,  # the container's under-frequency trip moved out of the way (default nominal - 6 %)
    },
    resolution_s=None,  # judged on the analyser's stored updates, stamped by the instrument
    roles=("controller", "analyser", "grid"),
    uses=("grid.program_steps", "grid.trigger", "analyser.record"),
)
def frequency_response(ctx: CheckContext, params: dict) -> None:
    """Power against a frequency trajectory, inside the envelope of the plan's response curve and times."""
    if not params["volume_kw"]:
        raise CheckAborted(f"{ctx.check_id}: params.volume_kw (the contracted response in kW) is required")
    nominal = ctx.dut.frequency_hz
    try:
        curve = ResponseCurve.from_plan(params["curve"])
        steps = frequency_levels(params, nominal, ctx.grid.nominal().voltage_v)
    except (TypeError, ValueError) as exc:
        raise CheckAborted(f"{ctx.check_id}: params.curve / params.steps / params.recording: {exc}") from None
    ctx.prepare_running(100.0)
    uf = params["uf_threshold_hz"] or round(0.94 * nominal, 2)
    ctx.controller.configure_under_frequency(uf, 0.1, UnderFrequencyAction.TRIP)
    baseline = float(np.mean([s.p_total for s in ctx.trend(1.0, "before")]))
    volts = ctx.grid.nominal().voltage_v
    program = [(d, pu * volts, hz) for d, pu, hz in steps] + [(1.0, volts, nominal)]
    try:
        ctx.grid.program_steps(program)
    except ValueError as exc:  # more points than the source's list holds: refused, never thinned
        raise CheckAborted(f"{ctx.check_id}: the trajectory as {len(program)} list points: {exc}") from None
    program_s = sum(d for d, _, _ in steps)
    ctx.progress(f"{ctx.check_id}: {len(program)} list steps playing, {program_s + 3.0:g} s of updates stored")
    samples = ctx.analyser.record(program_s + 3.0, during=ctx.grid.trigger)
    t, p = series(samples)
    _, f = series(samples, "frequency")
    moved = np.flatnonzero(np.abs(f - nominal) > 1e-3)
    if not moved.size:
        raise CheckAborted(f"{ctx.check_id}: the analyser never saw the frequency move from {nominal:g} Hz")
    # the last update at nominal, less where the program first left it: deadlines counted from it, never later
    offsets = np.cumsum([0.0] + [d for d, _, _ in steps])
    first_move = next((offsets[k] for k, (_, _, hz) in enumerate(steps) if abs(hz - nominal) > 1e-3), 0.0)
    start = float(t[max(moved[0] - 1, 0)]) - float(first_move)
    value_margin, time_margin = margins(
        value_accuracy=params["power_accuracy_percent"] / 100 * ctx.rated_w, time_accuracy_s=params["time_accuracy_s"]
    )
    volume_w = params["volume_kw"] * KW
    requirements, before, at = [], baseline, start
    for duration, _, hz in steps:
        deviation = nominal - hz  # under-frequency: a load reduces its demand
        target = baseline - volume_w * curve.fraction(deviation) if deviation > 0 else baseline
        requirements.append(
            StepRequirement(
                at,
                before,
                target,
                params["initiation_s"],
                params["full_s"],
                delivered_fraction=params["delivered_percent"] / 100,
            )
        )
        before, at = target, at + duration
    envelope = step_envelope(requirements, value_margin=value_margin, time_margin=time_margin)
    judged = (t >= start) & (t < at)
    result = envelope.judge(t[judged], p[judged])
    raw = ctx.run_record.save_raw(ctx.check_id, "record", time=t, p_total=p, frequency=f, start=start)
    ctx.measure("outside_envelope_percent", result.outside_percent, raw=raw, note=f"{result.samples} updates judged")
    ctx.measure(
        "first_violation_s",
        None if result.first_violation is None else result.first_violation - start,
        instrument_time=result.first_violation,
        raw=raw,
        note="every update inside the envelope" if result.first_violation is None else "after the first step",
    )
    ctx.measure("worst_excess_kw", result.worst_excess, raw=raw)
    ctx.measure("delivered_kw", baseline - float(np.min(p[judged])), raw=raw)
    lower, upper = envelope.bounds_at(t[judged])
    marks = [charts.Mark(start, "first step")]
    marks += [charts.Mark(result.first_violation, "first outside")] if result.first_violation is not None else []
    ctx.attach_chart(
        "envelope",
        lambda: charts.envelope(
            f"{ctx.check_id}: power against the response envelope",
            t[judged],
            p[judged],
            lower,
            upper,
            marks=marks,
            f_hz=f[judged],
        ),
    )
    ctx.controller.configure_under_frequency(round(0.995 * nominal, 2), 0.1, UnderFrequencyAction.TRIP)
    ctx.controller.set_mode(ControllerMode.OFF)


def frequency_levels(params: dict, nominal_hz: float, volts: float) -> list[tuple[float, float, float]]:
    """(seconds, voltage pu, Hz) list levels from the plan's steps and ramps, or from a recording (the check plays
    them; a twin's fit replays them)."""
    if params["recording"] is not None:
        stairs = staircase(
            load_recording(params["recording"]),
            nominal_v=volts,
            nominal_hz=nominal_hz,
            voltage_tolerance_pu=params["voltage_tolerance_pu"],
            frequency_tolerance_hz=params["frequency_tolerance_hz"],
        )
        return [(s.dwell_s, s.voltage_pu, s.frequency_hz) for s in stairs.steps]
    levels, previous = [], nominal_hz
    for entry in params["steps"]:
        seconds, hz, *shape = entry
        seconds, hz = float(seconds), float(hz)
        if shape not in ([], ["ramp"]):
            raise TrajectoryError(f"step {entry}: [seconds, Hz] or [seconds, Hz, ramp]")
        if shape:
            levels += [(d, 1.0, f) for d, f in frequency_ramp(previous, hz, seconds, step_s=params["ramp_step_s"])]
        else:
            levels.append((seconds, 1.0, hz))
        previous = hz
    return levels
