"""Frequency events: the grid simulator steps the frequency; the container must shed in time."""

from __future__ import annotations

import numpy as np

from hilbench.core.roles import ControllerMode, UnderFrequencyAction
from hilbench.plans.checks.base import CheckContext, check, first_time, series
from hilbench.report import charts


@check(
    "frequency_event",
    measurements={"response_time_s": "s", "delivered_reduction_kw": "kW", "sustained_s": "s"},
    params={
        "event_hz": 49.6,
        "duration_s": 5.0,
        "threshold_hz": None,
        "delay_s": 0.1,
        "action": "trip",
        "reduction_percent": 90.0,
        "observe_s": None,
    },
    resolution_s=0.25,  # response times of 1-1.5 s (a plan promising 0.25 s declares its own)
    roles=("controller", "analyser", "grid"),
    uses=("grid.program_steps", "grid.trigger", "analyser.record"),
)
def frequency_event(ctx: CheckContext, params: dict) -> None:
    """Step the grid frequency; response time (event to full reduction) and the reduction delivered."""
    ctx.prepare_running(100.0)
    nominal = ctx.dut.frequency_hz
    threshold = params["threshold_hz"] or round(0.995 * nominal, 2)
    ctx.controller.configure_under_frequency(threshold, params["delay_s"], UnderFrequencyAction(params["action"]))
    before = float(np.mean([s.p_total for s in ctx.trend(1.0, "before")]))
    volts = ctx.grid.nominal().voltage_v
    ctx.grid.program_steps([(params["duration_s"], volts, params["event_hz"]), (1.0, volts, nominal)])
    # The analyser stores every update itself while the step runs (buffered acquisition): the timing has the
    # instrument's update period whatever the host's polling speed or an emulated bench's time scale.
    observe = params["observe_s"] or params["duration_s"] + 2.0
    ctx.progress(f"{ctx.check_id}: {params['event_hz']:g} Hz for {params['duration_s']:g} s, {observe + 1:g} s stored")
    samples = ctx.analyser.record(observe + 1.0, during=ctx.grid.trigger)
    t, p = series(samples)
    _, f = series(samples, "frequency")
    step = nominal - params["event_hz"]
    seen = first_time(t, f <= params["event_hz"] + 0.5 * step)
    # The event time is the last update that still read the nominal frequency (within 10 % of the step): the
    # step began after it, so a response measured from it is never shorter than the true one.
    steady = np.flatnonzero((f > nominal - 0.1 * step) & (t < (seen if seen is not None else -np.inf)))
    event = float(t[steady[-1]]) if seen is not None and steady.size else seen
    target = before * (1 - params["reduction_percent"] / 100)
    reduced = first_time(t, (p <= target) & (t >= (event if event is not None else t[0])))
    raw = ctx.run_record.save_raw(ctx.check_id, "record", time=t, p_total=p, frequency=f)
    ctx.measure(
        "response_time_s",
        None if event is None or reduced is None else reduced - event,
        instrument_time=reduced,
        raw=raw,
        note="" if event is not None else "the analyser never saw the frequency step",
    )
    during = (t >= (reduced or t[-1])) & (f < nominal - 0.5 * (nominal - params["event_hz"]))
    ctx.measure("delivered_reduction_kw", before - float(np.min(p)), raw=raw)
    held = float(t[during][-1] - t[during][0]) if during.sum() > 1 and np.all(p[during] <= target * 1.05) else 0.0
    ctx.measure("sustained_s", held, raw=raw, note="time the reduction was held while the event lasted")
    marks = [charts.Mark(event, "event")] if event is not None else []
    marks += [charts.Mark(reduced, "reduced")] if reduced is not None else []
    title = f"{ctx.check_id}: frequency event"
    ctx.attach_chart("response", lambda: charts.frequency_and_power(title, t, p, f, marks=marks, target_w=target))
    if event is not None and t[-1] - t[0] > 30:  # a long hold: the response itself, seconds wide
        near = (t >= event - 2.0) & (t <= (reduced if reduced is not None else event) + 3.0)
        ctx.attach_chart(
            "response-detail",
            lambda: charts.frequency_and_power(
                f"{title} (detail)", t[near], p[near], f[near], marks=marks, target_w=target
            ),
        )
    ctx.controller.configure_under_frequency(round(0.995 * nominal, 2), 0.1, UnderFrequencyAction.TRIP)
    ctx.controller.set_mode(ControllerMode.OFF)
