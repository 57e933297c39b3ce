"""Ride-through: the grid source plays a disturbance - voltage sags, frequency excursions, or a recorded fault
(CSV/NPY, a fault recorder's export) - and the container must stay connected and its consumption recover to most
of what it was soon after the supply returns (ERCOT's proposed rule for Large Electronic Loads: >= 90 % of the
pre-disturbance load within 1 s of the POI voltage returning to >= 0.9 pu; docs/references/grid_response.md
section 6).  Boards that did drop out must come back no faster than the site's ramp allows.  Judged on the
analyser's own stored updates."""

from __future__ import annotations

import numpy as np

from hilbench.core.roles import ControllerMode, TripCause, UnderFrequencyAction
from hilbench.core.units import KW
from hilbench.plans.checks.base import CheckAborted, CheckContext, check, series
from hilbench.plans.trajectory import Step, load_recording, staircase
from hilbench.report import charts

DEFAULT_SAGS = [[0.5, 0.15]]


@check(
    "ride_through",
    measurements={
        "boards_lost": "count",
        "tripped": "count",
        "recovery_time_s": "s",
        "min_power_percent": "%",
        "min_voltage_pu": "pu",
        "restart_ramp_kw_s": "kW/s",
    },
    params={
        "sags": None,  # [[depth in pu of nominal, seconds], ...] played in order (none given: [[0.5, 0.15]])
        "frequency_excursions": None,  # [[Hz, seconds], ...]: frequency ride-through, at nominal voltage
        "recording": None,  # a recorded disturbance (CSV/NPY: time_s, voltage_pu|voltage_v[, frequency_hz])
        "repeats": 1,  # the whole sequence of sags or excursions, e.g. six reclosing dips
        "spacing_s": 5.0,  # nominal supply between sags or excursions
        "recover_pu": 0.9,  # the voltage counts as returned at this level
        "recover_band_hz": 0.5,  # the frequency counts as returned within this of nominal
        "recover_percent": 90.0,  # of the pre-disturbance power
        "observe_s": 10.0,  # after the disturbance (long enough to see boards that dropped out boot again)
        "ramp_window_s": 1.0,  # restart ramp: the steepest rise over this window, from this long after a return
        "voltage_tolerance_pu": 0.01,  # a recording played as list steps no further than this from it
        "frequency_tolerance_hz": 0.01,
        "uf_threshold_hz": None,  # the container's under-frequency trip for the test (None: as configured)
        "uf_delay_s": 0.1,
    },
    resolution_s=None,  # judged on the analyser's stored updates, stamped by the instrument
    roles=("controller", "analyser", "grid"),
    uses=("grid.program_steps", "grid.trigger", "analyser.record"),
)
def ride_through(ctx: CheckContext, params: dict) -> None:
    """A disturbance played by the grid source: trips, boards lost, recovery after each return, restart ramp."""
    nominal = ctx.grid.nominal()
    volts, hz = nominal.voltage_v, nominal.frequency_hz
    steps, source = _disturbance(ctx.check_id, params, volts, hz)
    ctx.prepare_running(100.0)
    if params["uf_threshold_hz"] is not None:
        ctx.controller.configure_under_frequency(
            params["uf_threshold_hz"], params["uf_delay_s"], UnderFrequencyAction.TRIP
        )
    online_before = ctx.controller.read().boards_online
    before = ctx.trend(1.0, "before")
    baseline = float(np.mean([s.p_total for s in before]))
    u_before = float(np.mean([np.mean(s.urms) for s in before])) / volts  # the PCC's own level (a weak grid sits low)
    program = [(s.dwell_s, s.voltage_pu * volts, s.frequency_hz) for s in steps]
    try:
        ctx.grid.program_steps(program)
    except ValueError as exc:  # more points than the source's list holds: refused, never thinned
        raise CheckAborted(
            f"{ctx.check_id}: {source} as {len(program)} list points: {exc}; raise params.voltage_tolerance_pu / "
            "frequency_tolerance_hz or play a shorter part of the record"
        ) from None
    total = steps[-1].start_s + steps[-1].dwell_s
    ctx.progress(f"{ctx.check_id}: {source} playing, {total + 1:g} s of updates stored")
    samples = ctx.analyser.record(total + 1.0, during=ctx.grid.trigger)
    status = ctx.controller.read()
    t, p = series(samples)
    _, f = series(samples, "frequency")
    u = np.array([np.mean(s.urms) for s in samples]) / volts
    start = _start(t, u, f, u_before, hz, steps)
    disturbed = [
        s.voltage_pu < params["recover_pu"] or abs(s.frequency_hz - hz) > params["recover_band_hz"] for s in steps
    ]
    begins = [s.start_s for k, s in enumerate(steps) if disturbed[k] and (k == 0 or not disturbed[k - 1])]
    returns = [s.start_s for k, s in enumerate(steps) if k and disturbed[k - 1] and not disturbed[k]]
    recoveries = _recoveries(t, p, start, begins, returns, params["recover_percent"] / 100 * baseline)
    raw = ctx.run_record.save_raw(ctx.check_id, "record", time=t, p_total=p, voltage_pu=u, frequency=f, start=start)
    ctx.measure(
        "boards_lost", max(0, online_before - status.boards_online), raw=raw, note=f"{online_before} online before"
    )
    tripped = status.trip_cause is not TripCause.NONE
    ctx.measure("tripped", int(tripped), raw=raw, note=f"trip cause {status.trip_cause.value}" if tripped else "")
    never = [i + 1 for i, r in enumerate(recoveries) if r is None]
    ctx.measure(
        "recovery_time_s",
        max(r if r is not None else float(t[-1] - (start + returns[i])) for i, r in enumerate(recoveries))
        if returns
        else None,
        raw=raw,
        note=f"return(s) {never} not recovered by the end of the record (a lower bound)" if never else "",
        not_applicable="" if returns else "the supply never returned from a disturbance within the record",
    )
    during = t >= start
    ctx.measure("min_power_percent", float(np.min(p[during])) / baseline * 100, raw=raw)
    ctx.measure("min_voltage_pu", float(np.min(u[during])), raw=raw, note="as the analyser's updates saw it")
    still_down = max(0, online_before - status.boards_online)
    ramp, ramp_note = _restart_ramp(t, p, start, begins, returns, params["ramp_window_s"])
    if still_down and not tripped:  # a restart only partly seen gives a lower bound: a figure only beyond the limit
        limit = ctx.limits.get("restart_ramp_kw_s")
        beyond = ramp is not None and limit is not None and limit.high is not None and ramp / KW > limit.high
        seen = f"{still_down} board(s) had not booted again when the record ended"
        if beyond:
            ramp_note = f"{seen}: a lower bound, already beyond the limit"
        else:
            ramp, ramp_note = None, f"{seen}: the restart was not all seen; raise params.observe_s"
    ctx.measure(
        "restart_ramp_kw_s",
        ramp,
        raw=raw,
        note=ramp_note,  # no figure with a note: an error where limited
        not_applicable=_no_restart(returns, tripped),
    )
    ctx.attach_chart(
        "ride-through",
        lambda: charts.ride_through(
            f"{ctx.check_id}: power through the disturbance",
            t,
            p / baseline * 100,
            u,
            marks=[charts.Mark(start + b, "disturbance") for b in begins[:6]],
        ),
    )
    if params["uf_threshold_hz"] is not None:
        ctx.controller.configure_under_frequency(round(0.995 * hz, 2), 0.1, UnderFrequencyAction.TRIP)
    if tripped:
        ctx.controller.set_mode(ControllerMode.OFF)


def disturbance_steps(check_id: str, params: dict, volts: float, hz: float) -> list[Step]:
    """The list steps the check plays for ``params`` (a twin replays them)."""
    return _disturbance(check_id, params, volts, hz)[0]


def _disturbance(check_id: str, params: dict, volts: float, hz: float) -> tuple[list[Step], str]:
    """The list steps to play (then ``observe_s`` at nominal) and a description of where they came from."""
    given = [k for k in ("sags", "frequency_excursions", "recording") if params[k] is not None]
    if len(given) > 1:
        raise CheckAborted(f"{check_id}: give one of params.sags, params.frequency_excursions, params.recording")
    kind = given[0] if given else "sags"
    levels: list[tuple[float, float, float]] = []  # (seconds, pu, Hz)
    if kind == "recording":
        recording = load_recording(params["recording"])
        stairs = staircase(
            recording,
            nominal_v=volts,
            nominal_hz=hz,
            voltage_tolerance_pu=params["voltage_tolerance_pu"],
            frequency_tolerance_hz=params["frequency_tolerance_hz"],
        )
        levels = [(s.dwell_s, s.voltage_pu, s.frequency_hz) for s in stairs.steps]
        source = (
            f"recording {recording.source} ({len(recording.time_s)} samples, played within "
            f"{stairs.max_voltage_error_pu:.3g} pu / {stairs.max_frequency_error_hz:.3g} Hz)"
        )
    else:
        raw = params[kind] if params[kind] is not None else DEFAULT_SAGS
        try:
            pairs = [(float(a), float(b)) for a, b in raw] * int(params["repeats"])
        except (TypeError, ValueError) as exc:
            raise CheckAborted(f"{check_id}: params.{kind} must be [[value, seconds], ...]: {exc}") from None
        if kind == "sags" and (not pairs or any(not 0 <= d <= 1.2 or s <= 0 for d, s in pairs)):
            raise CheckAborted(f"{check_id}: params.sags: depths 0..1.2 pu and durations above 0 s")
        if kind == "frequency_excursions" and (not pairs or any(not 40 <= f <= 70 or s <= 0 for f, s in pairs)):
            raise CheckAborted(f"{check_id}: params.frequency_excursions: 40..70 Hz and durations above 0 s")
        for value, seconds in pairs:
            levels.append((seconds, value, hz) if kind == "sags" else (seconds, 1.0, value))
            levels.append((params["spacing_s"], 1.0, hz))
        levels.pop()
        source = f"{len(pairs)} {kind.replace('_', ' ')}"
    levels.append((params["observe_s"], 1.0, hz))
    steps, at = [], 0.0
    for seconds, pu, hertz in levels:
        steps.append(Step(at, seconds, pu, hertz))
        at += seconds
    return steps, source


def _start(t: np.ndarray, u: np.ndarray, f: np.ndarray, u_before: float, hz: float, steps: list[Step]) -> float:
    """Instrument time of the program's start: the first update that saw the supply move, less where the program
    first moved it, taken from the last update before it (deadlines counted from there are never later than the
    true ones).  A program too short for any update to see: the record's start."""
    moves = [s.start_s for s in steps if s.voltage_pu < 0.95 or abs(s.frequency_hz - hz) > 0.02]
    seen = np.flatnonzero((u < 0.95 * u_before) | (np.abs(f - hz) > 0.02))
    if not moves or not seen.size:
        return float(t[0])
    return float(t[max(seen[0] - 1, 0)]) - moves[0]


def _recoveries(
    t: np.ndarray, p: np.ndarray, start: float, begins: list[float], returns: list[float], level: float
) -> list[float | None]:
    """Per return of the supply: time until power is at or above ``level`` and stays there until the next
    disturbance (a load still falling is not back); None if it never was."""
    out: list[float | None] = []
    for returned in returns:
        following = [b for b in begins if b > returned]
        until = start + following[0] if following else np.inf
        window = (t >= start + returned) & (t < until)
        staying = np.flip(np.cumprod(np.flip(p[window] >= level))).astype(bool)
        out.append(float(t[window][staying][0]) - (start + returned) if staying.any() else None)
    return out


def _no_restart(returns: list[float], tripped: bool) -> str:
    if tripped:
        return "the container tripped: restoring it is the operator's, no restart to judge"
    return "" if returns else "the supply never returned from a disturbance within the record"


def _restart_ramp(
    t: np.ndarray, p: np.ndarray, start: float, begins: list[float], returns: list[float], window_s: float
):
    """(the steepest rise of power over ``window_s`` in W/s, a note).  Rises over windows that touch a disturbance
    or the first ``window_s`` after a return are ride-through recovery (judged by recovery_time_s); a rise at any
    other time is boards that dropped out booting again, which the site's ramp limit governs."""
    if not returns:
        return None, ""
    busy = [(start + b, start + r + window_s) for b, r in zip(begins, returns, strict=False)]
    quiet = (t >= start + returns[0]) & (t + window_s <= t[-1])
    for low, high in busy:
        quiet &= ~((t < high) & (t + window_s > low))
    if not quiet.any():
        return None, "the record ends too soon after the supply returned to see a restart: raise params.observe_s"
    later = np.interp(t[quiet] + window_s, t, p)
    return float(np.max((later - p[quiet]) / window_s)), f"steepest rise over {window_s:g} s outside the disturbances"
