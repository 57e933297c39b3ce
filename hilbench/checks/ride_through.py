"""Voltage ride-through: the grid source plays a sequence of sags; the container must stay connected and its
consumption recover to most of what it was soon after the voltage returns (ERCOT's proposed rule for Large
Electronic Loads: >= 90 % of the pre-disturbance load within 1 s of the POI voltage returning to >= 0.9 pu;
shared/reference/grid_response.md section 6).  Judged on the analyser's own stored updates."""

from __future__ import annotations

import numpy as np

from hilbench.checks.base import CheckAborted, CheckContext, check, series
from hilbench.report.svg import line_chart

KW = 1000.0


@check(
    "ride_through",
    measurements={
        "boards_lost": "count",
        "recovery_time_s": "s",
        "min_power_percent": "%",
        "min_voltage_pu": "pu",
    },
    params={
        "sags": [[0.5, 0.15]],  # [depth in pu of nominal, seconds], played in order
        "repeats": 1,  # the whole sequence, e.g. six reclosing dips
        "spacing_s": 5.0,  # nominal voltage between sags
        "recover_pu": 0.9,  # the voltage counts as returned at this level
        "recover_percent": 90.0,  # of the pre-disturbance power
        "observe_s": 10.0,  # after the last sag
    },
    resolution_s=None,  # judged on the analyser's stored updates, stamped by the instrument
)
def ride_through(ctx: CheckContext, params: dict) -> None:
    """Sags played by the grid source: boards lost, time for power to recover after each, deepest power and voltage."""
    try:
        sags = [(float(depth), float(seconds)) for depth, seconds in params["sags"]] * int(params["repeats"])
    except (TypeError, ValueError) as exc:
        raise CheckAborted(f"{ctx.check_id}: params.sags must be [[depth_pu, seconds], ...]: {exc}") from None
    if not sags or any(not 0 <= d <= 1.2 or s <= 0 for d, s in sags):
        raise CheckAborted(f"{ctx.check_id}: params.sags: depths 0..1.2 pu and durations above 0 s")
    ctx.prepare_running(100.0)
    nominal = ctx.grid.nominal()
    volts, hz = nominal.voltage_v, nominal.frequency_hz
    online_before = ctx.controller.read().boards_online
    before = ctx.trend(1.0, "before")
    baseline = float(np.mean([s.p_total for s in before]))
    u_before = float(np.mean([np.mean(s.urms) for s in before])) / volts  # the PCC's own level (a weak grid sits low)
    program, offsets, offset = [], [], 0.0
    for depth, seconds in sags:
        program += [(seconds, depth * volts, hz), (params["spacing_s"], volts, hz)]
        offsets.append((offset, offset + seconds))
        offset += seconds + params["spacing_s"]
    program[-1] = (params["observe_s"], volts, hz)
    total = offset - params["spacing_s"] + params["observe_s"]
    ctx.grid.program_steps(program)
    samples = ctx.analyser.record(total + 1.0, during=ctx.grid.trigger)
    online_after = ctx.controller.read().boards_online
    t, p = series(samples)
    u = np.array([np.mean(s.urms) for s in samples]) / volts
    low = np.flatnonzero(u < 0.95 * u_before)
    # The first sag began after the last update before the first low one (or with the record, when every sag was
    # shorter than an update): recovery deadlines counted from there are never later than the true ones.
    start = float(t[max(low[0] - 1, 0)]) if low.size else float(t[0])
    recoveries = []
    level = params["recover_percent"] / 100 * baseline
    for i, (_, end) in enumerate(offsets):
        returned = start + end
        until = start + offsets[i + 1][0] if i + 1 < len(offsets) else np.inf
        window = (t >= returned) & (t < until)
        # recovered: from then on at or above the level until the next sag (a load still falling is not back)
        staying = np.flip(np.cumprod(np.flip(p[window] >= level))).astype(bool)
        recovered = float(t[window][staying][0]) if staying.any() else None
        recoveries.append(recovered - returned if recovered is not None else None)
    raw = ctx.recorder.save_raw(ctx.check_id, "record", time=t, p_total=p, voltage_pu=u, start=start)
    ctx.measure("boards_lost", max(0, online_before - online_after), raw=raw, note=f"{online_before} online before")
    never = [i + 1 for i, r in enumerate(recoveries) if r is None]
    ctx.measure(
        "recovery_time_s",
        max(r if r is not None else float(t[-1] - (start + offsets[i][1])) for i, r in enumerate(recoveries)),
        raw=raw,
        note=f"sag(s) {never} not recovered by the end of the record (a lower bound)" if never else "",
    )
    during = t >= start
    ctx.measure("min_power_percent", float(np.min(p[during])) / baseline * 100, raw=raw)
    ctx.measure("min_voltage_pu", float(np.min(u[during])), raw=raw, note="as the analyser's updates saw it")
    ctx.attach_svg(
        "ride-through",
        line_chart(
            f"{ctx.check_id}: power through the sags",
            "instrument time (s)",
            "% of pre-disturbance power / voltage pu x 100",
            [("P", t, p / baseline * 100), ("U", t, u * 100)],
            vlines=[(start + b, "sag") for b, _ in offsets[:6]],
        ),
    )
