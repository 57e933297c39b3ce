"""Checks of the container's power behaviour: boot, setpoint steps, ramp range and rate, shutdowns."""

from __future__ import annotations

import itertools

import numpy as np

from hilbench.core.roles import ControllerMode
from hilbench.core.units import KW
from hilbench.plans.checks.base import (
    CheckAborted,
    CheckContext,
    WaitTimedOut,
    check,
    first_time,
    series,
    settle_time,
)  # fmt: skip
from hilbench.report import charts


def _chart(
    ctx: CheckContext, name: str, samples: list, marks: list[tuple[float, str]], band: tuple[float, float] | None = None
) -> None:
    t, p = series(samples)
    ctx.attach_chart(
        name,
        lambda: charts.power_trend(
            f"{ctx.check_id}: power at the PCC",
            t,
            p,
            marks=[charts.Mark(at, label) for at, label in marks],
            band_w=band,
        ),
    )


#: plan parameters in kW and kW/s become W and W/s here


@check(
    "boot",
    measurements={"boot_time_s": "s", "boot_energy_kwh": "kWh", "rated_power_reached_kw": "kW"},
    params={"target_percent": 95.0, "timeout_s": 400.0},
    resolution_s=1.0,  # boot times of tens of seconds
    roles=("controller", "analyser"),
)
def boot(ctx: CheckContext, params: dict) -> None:
    """Power-on to rated power: time and energy (from the analyser's own time stamps)."""
    controller = ctx.controller
    ctx.analyser.setup()
    ctx.strategy.stop_container(ctx.rated_w)
    ctx.trend(1.0, "off")
    controller.set_power(ctx.rated_w)
    commanded = ctx.command(lambda: controller.set_mode(ControllerMode.RUN))
    target = ctx.rated_w * params["target_percent"] / 100
    samples = ctx.wait_for(lambda s: s.p_total >= target, params["timeout_s"], "rated power after boot")
    samples += ctx.trend(3.0, "after boot")
    t, p = series(samples)
    reached = first_time(t, p >= target)
    raw = ctx.run_record.save_raw(ctx.check_id, "trend", time=t, p_total=p, command=commanded)
    ctx.measure("boot_time_s", reached - commanded, instrument_time=reached, raw=raw)
    window = t <= reached
    energy_j = float(np.trapezoid(p[window], t[window])) if window.sum() > 1 else 0.0
    ctx.measure("boot_energy_kwh", energy_j, raw=raw)
    ctx.measure("rated_power_reached_kw", float(np.mean(p[-10:])), raw=raw)
    _chart(ctx, "boot", samples, [(commanded, "power on"), (reached, f"{params['target_percent']:g} %")])


@check(
    "step_response",
    measurements={"latency_s": "s", "settling_time_s": "s", "overshoot_percent": "%", "steady_error_percent": "%"},
    params={
        "from_percent": 100.0,
        "to_percent": 50.0,
        "band_percent": 5.0,
        "observe_s": 40.0,
        "ramp_kw_s": 50.0,
        "movement_percent": 10.0,
    },
    resolution_s=0.25,  # latencies and settling times of seconds
    roles=("controller", "analyser"),
)
def step_response(ctx: CheckContext, params: dict) -> None:
    """Setpoint step: latency, time to enter and stay in the band, overshoot, steady-state error."""
    ctx.prepare_running(params["from_percent"])
    ctx.controller.set_ramp(params["ramp_kw_s"] * KW)
    # a second before the step is stored with it: model validation's pre-event window (IEC 61400-27-2) needs it
    before = ctx.trend(1.0, "before the step")
    start = before[-1] if before else ctx.analyser.read()
    target = ctx.rated_w * params["to_percent"] / 100
    commanded = ctx.command(lambda: ctx.controller.set_power(target))
    samples = [start, *ctx.trend(params["observe_s"], f"step to {params['to_percent']:g} %")]
    t, p = series(samples)
    stored_t, stored_p = series([*before[:-1], *samples])
    step = target - start.p_total
    moved = np.abs(p - start.p_total) >= params["movement_percent"] / 100 * abs(step) if step else p * 0 > 0
    movement = first_time(t, moved)
    band = params["band_percent"] / 100 * ctx.rated_w
    settled = settle_time(t, p, target, band, commanded)
    raw = ctx.run_record.save_raw(
        ctx.check_id, "trend", time=stored_t, p_total=stored_p, command=commanded, target=target
    )
    ctx.measure("latency_s", None if movement is None else movement - commanded, instrument_time=movement, raw=raw)
    ctx.measure("settling_time_s", settled, raw=raw, note="" if settled is not None else "never stayed in the band")
    beyond = (p - target) if step > 0 else (target - p)
    ctx.measure("overshoot_percent", max(0.0, float(beyond.max())) / ctx.rated_w * 100, raw=raw)
    tail = p[t >= t[-1] - min(5.0, params["observe_s"] / 4)]
    ctx.measure("steady_error_percent", abs(float(tail.mean()) - target) / ctx.rated_w * 100, raw=raw)
    _chart(
        ctx,
        "step",
        samples,
        [(commanded, "command")] + ([(movement, "first movement")] if movement else []),
        band=(target - band, target + band),
    )


@check(
    "ramp",
    measurements={"min_power_percent": "%", "max_power_percent": "%", "ramp_down_kw_s": "kW/s", "ramp_up_kw_s": "kW/s"},
    params={"min_percent": 1.0, "ramp_kw_s": 10.0, "low_percent": 20.0, "settle_s": 30.0},
    resolution_s=0.5,  # rates over transitions of 5 s and more
    roles=("controller", "analyser"),
)
def ramp(ctx: CheckContext, params: dict) -> None:
    """Reachable range (1 %-100 %) and the ramp rate down and up under the controller's ramp limit."""
    ctx.prepare_running(100.0)
    top = float(np.mean([s.p_total for s in ctx.trend(2.0, "max")]))
    ctx.measure("max_power_percent", top / ctx.rated_w * 100)
    ramp_w_s = params["ramp_kw_s"] * KW
    ctx.controller.set_ramp(ramp_w_s)
    low = ctx.rated_w * params["low_percent"] / 100
    # each setpoint's instrument time and percent are stored with the trend: a twin's fit replays them
    commands = [(ctx.command(lambda: ctx.controller.set_power(low)), params["low_percent"])]
    down = ctx.trend((top - low) / ramp_w_s + params["settle_s"], "ramp down")
    ctx.measure("ramp_down_kw_s", _slope(down, top, low))
    commands.append((ctx.command(lambda: ctx.controller.set_power(ctx.rated_w)), 100.0))
    up = ctx.trend((top - low) / ramp_w_s + params["settle_s"], "ramp up")
    ctx.measure("ramp_up_kw_s", _slope(up, low, top))
    floor = ctx.rated_w * params["min_percent"] / 100
    # at the plan's ramp rate, observed until it has settled at the floor
    commands.append((ctx.command(lambda: ctx.controller.set_power(floor)), params["min_percent"]))
    bottom = ctx.trend((top - floor) / ramp_w_s + params["settle_s"], "minimum")
    level = float(np.mean([s.p_total for s in bottom[-10:]]))
    ctx.measure("min_power_percent", level / ctx.rated_w * 100, note="includes the container's auxiliaries")
    samples = down + up + bottom
    t, p = series(samples)
    ctx.run_record.save_raw(ctx.check_id, "trend", time=t, p_total=p, commands=np.array(commands, dtype=float))
    _chart(ctx, "ramp", samples, [])
    ctx.controller.set_power(ctx.rated_w)


def _slope(samples: list, start: float, end: float) -> float | None:
    """Average rate between 10 % and 90 % of the transition (W/s, positive)."""
    t, p = series(samples)
    a, b = start + 0.1 * (end - start), start + 0.9 * (end - start)
    crossed_a = first_time(t, (p <= a) if end < start else (p >= a))
    crossed_b = first_time(t, (p <= b) if end < start else (p >= b))
    if crossed_a is None or crossed_b is None:
        return None
    # both crossings in one sample interval: the rate is at least the transition over that interval
    duration = max(crossed_b - crossed_a, float(np.median(np.diff(t))) if len(t) > 1 else 1.0)
    return abs(b - a) / duration


@check(
    "shutdown",
    measurements={"emergency_time_s": "s", "graceful_duration_s": "s", "boards_stopped_in_order": "bool"},
    params={"mode": "emergency", "threshold_percent": 5.0, "observe_s": 120.0, "order_min_steps": 3},
    resolution_s=0.5,  # emergency stops within 1-2 s, graceful ones over tens of seconds
    roles=("controller", "analyser"),
)
def shutdown(ctx: CheckContext, params: dict) -> None:
    """Emergency (time to below a threshold) or graceful (duration, boards stopped one after another)."""
    if params["mode"] not in ("emergency", "graceful"):
        raise CheckAborted(f"shutdown mode must be emergency or graceful, got {params['mode']!r}")
    ctx.prepare_running(100.0)
    threshold = ctx.rated_w * params["threshold_percent"] / 100
    stop = ControllerMode.EMERGENCY_STOP if params["mode"] == "emergency" else ControllerMode.GRACEFUL_STOP
    # the count before the stop: the reads after it already miss the first board stopped (a twin's board count)
    online_before = ctx.controller.read().boards_online if params["mode"] == "graceful" else -1
    commanded = ctx.command(lambda: ctx.controller.set_mode(stop))
    online: list[tuple[float, int]] = []

    def below_threshold(sample) -> bool:
        if params["mode"] == "graceful":
            online.append((sample.time, ctx.controller.read().boards_online))
        return sample.p_total < threshold

    try:
        samples = ctx.wait_for(below_threshold, params["observe_s"], "power below the threshold")
    except WaitTimedOut as exc:  # still above the threshold: the duration is at least observe_s
        name = "emergency_time_s" if params["mode"] == "emergency" else "graceful_duration_s"
        raw = None
        if params["mode"] == "graceful":  # the stop so far is stored all the same (a twin's fit reads its stagger;
            # an emergency stop that never came is no record of a stop)
            t, p = series(exc.samples)
            raw = ctx.run_record.save_raw(
                ctx.check_id, "trend", time=t, p_total=p, command=commanded,
                boards_online=np.array(online, dtype=float).reshape(-1, 2), boards_online_before=online_before,
            )  # fmt: skip
        ctx.measure(name, params["observe_s"], raw=raw, note=f"lower bound: {exc}")
        if params["mode"] == "graceful":
            ctx.measure("boards_stopped_in_order", 0.0, note="the stop did not complete")
        ctx.controller.set_mode(ControllerMode.OFF)
        return
    samples += ctx.trend(2.0, "after stop")
    t, p = series(samples)
    below = first_time(t, p < threshold)
    raw = ctx.run_record.save_raw(
        ctx.check_id,
        "trend",
        time=t,
        p_total=p,
        command=commanded,
        boards_online=np.array(online, dtype=float).reshape(-1, 2),
        boards_online_before=online_before,
    )
    if params["mode"] == "emergency":
        ctx.measure("emergency_time_s", below - commanded, instrument_time=below, raw=raw)
    else:
        ctx.measure("graceful_duration_s", below - commanded, instrument_time=below, raw=raw)
        counts = [n for _, n in online]
        monotonic = all(b <= a for a, b in itertools.pairwise(counts))
        steps = len({n for n in counts})
        in_order = monotonic and steps >= params["order_min_steps"]
        ctx.measure(
            "boards_stopped_in_order",
            1.0 if in_order else 0.0,
            raw=raw,
            note=f"boards online went {counts[0] if counts else '?'} -> {counts[-1] if counts else '?'} "
            f"in {steps} distinct counts, monotonic={monotonic}",
        )
    _chart(ctx, "shutdown", samples, [(commanded, "stop"), (below, "below threshold")])
    ctx.controller.set_mode(ControllerMode.OFF)
