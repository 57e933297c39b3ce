"""What each stored check did to the container, replayed on a simulated plant.

A check's trend (``raw/<check>-trend.npz`` or ``-record.npz``) holds the analyser's time stamps and total power,
and the time of the command that started the response.  The commands around it follow from the check's
procedure (hilbench/plans/checks) and its parameters in the record, so the fit can give the simulated plant the
same commands at the same times and compare power sample by sample.  Plant time in a simulation is the record's
time shifted so the command falls at ``WARM_UP_S``: long enough for any container to settle at its starting point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hilbench.core.errors import HilbenchError
from hilbench.emulation.controller import Mode
from hilbench.plans.checks.base import REGISTRY
from hilbench.plans.checks.frequency_response import frequency_levels
from hilbench.plans.checks.ride_through import disturbance_steps
from hilbench.plans.model_check import disturbance
from hilbench.twin.model import ContainerModel, as_received, simulated_plant

WARM_UP_S = 400.0
#: the ramp limit prepare_running sets before every check that starts from a running container (kW/s, capped
#: at the rated power per second): hilbench.bench.strategy.Strategy.prepare_running
PREPARE_RAMP_KW_S = 50.0
#: the frequency_response check's under-frequency trip delay while it plays its trajectory
#: (hilbench.plans.checks.frequency_response)
DROOP_UF_DELAY_S = 0.1


class ProcedureError(ValueError):
    """A stored trend this version cannot replay (named in the fit report, never guessed)."""


@dataclass
class StoredResponse:
    """One check's stored response, and what was commanded."""

    check: str
    kind: str  # boot | step | ramp | emergency | graceful | frequency_trip
    time: np.ndarray
    p_total: np.ndarray
    command: float  # record time of the first command of the response
    rated_w: float  # the plan's DUT rating (setpoints are its percentages)
    ramp_w_s: float | None  # the controller's ramp limit when the response began; None: the container's default
    params: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"{self.check} ({self.kind})"

    def sample_period(self) -> float:
        return float(np.median(np.diff(self.time))) if self.time.size > 1 else 0.05


def stored_responses(run_dir: Path, checks: list, rated_w: float) -> tuple[list[StoredResponse], list[str]]:
    """Every check of the run whose response the simulator can replay, in run order, and notes on the others."""
    responses: list[StoredResponse] = []
    notes: list[str] = []
    ramp_register: float | None = None  # None: nothing written yet, the container's own default
    prepared = min(PREPARE_RAMP_KW_S * 1000, rated_w)
    for check in checks:
        kind, cid, params = check.type, check.id, check.params or {}
        trend = _load(run_dir, cid, "trend")
        if kind == "boot" and trend is not None:
            responses.append(_response(cid, "boot", trend, rated_w, ramp_register, params))
        elif kind == "step_response" and trend is not None:
            ramp_register = params["ramp_kw_s"] * 1000
            responses.append(_response(cid, "step", trend, rated_w, ramp_register, params))
            continue
        elif kind == "ramp" and trend is not None:
            ramp_register = params["ramp_kw_s"] * 1000
            extra = {"commands": trend["commands"]} if "commands" in trend else {}
            responses.append(
                _response(cid, "ramp", trend, rated_w, ramp_register, params, command=trend["time"][0], extra=extra)
            )
            continue
        elif kind == "shutdown" and trend is not None:
            mode = params.get("mode", "emergency")
            extra = {k: trend[k] for k in ("boards_online", "boards_online_before") if k in trend}
            responses.append(_response(cid, mode, trend, rated_w, prepared, params, extra=extra))
        elif kind == "frequency_event" and (record := _load(run_dir, cid, "record")) is not None:
            if params.get("action", "trip") == "trip":
                responses.append(
                    _response(
                        cid, "frequency_trip", record, rated_w, prepared, params,
                        command=float(record["time"][0]), extra={"frequency": record["frequency"]},
                    )
                )  # fmt: skip
            else:
                notes.append(f"{cid}: an under-frequency curtailment is not replayed by this version")
        elif kind == "frequency_response" and (record := _load(run_dir, cid, "record")) is not None:
            responses.append(
                _response(
                    cid, "droop", record, rated_w, prepared, params, command=float(record["start"]),
                    extra={"frequency": record["frequency"]},
                )
            )  # fmt: skip
        elif kind == "ride_through" and (record := _load(run_dir, cid, "record")) is not None:
            responses.append(
                _response(
                    cid, "ride_through", record, rated_w, prepared, params, command=float(record["start"]),
                    extra={"voltage_pu": record["voltage_pu"], "frequency": record["frequency"]},
                )
            )  # fmt: skip
        if kind in ("step_response", "ramp", "shutdown", "frequency_event", "harmonics", "power_factor"):
            ramp_register = prepared
        if kind in ("hashrate_tracking", "flicker", "frequency_response", "ride_through"):
            ramp_register = prepared
    return responses, notes


def _load(run_dir: Path, check: str, what: str) -> dict | None:
    path = run_dir / "raw" / f"{check}-{what}.npz"
    if not path.is_file():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _response(cid, kind, trend, rated_w, ramp, params, *, command=None, extra=None) -> StoredResponse:
    return StoredResponse(
        check=cid,
        kind=kind,
        time=np.asarray(trend["time"], dtype=float),
        p_total=np.asarray(trend["p_total"], dtype=float),
        command=float(trend["command"]) if command is None else float(command),
        rated_w=rated_w,
        ramp_w_s=ramp,
        params=params,
        extra=extra or {},
    )


def simulate(response: StoredResponse, model: ContainerModel) -> np.ndarray:
    """The total power the model's plant draws at the response's sample times, under the same commands."""
    shift = WARM_UP_S - response.command
    times = response.time + shift
    handler = _SIMULATORS.get(response.kind)
    if handler is None:
        raise ProcedureError(f"{response.source}: no simulator for this kind of response")
    return handler(response, model, times, WARM_UP_S)


def misfit(responses: list[StoredResponse], model: ContainerModel) -> np.ndarray:
    """Simulated less stored power, sample by sample, in per-unit of rated, every response end to end."""
    return np.concatenate([(simulate(r, model) - r.p_total) / r.rated_w for r in responses])


def _setpoint(model: ContainerModel, c, watts: float) -> float:
    """The setpoint register's value (kW) as the controller decodes it, capped at the container's rating."""
    limit_w = max(c.rated_w, c.params.setpoint_limit_kw * 1000)
    return min(as_received(model, "setpoint_kw", watts / 1000), limit_w / 1000)


def _ramp_kw_s(model: ContainerModel, kw_s: float) -> float:
    return as_received(model, "ramp_kw_s", kw_s)


def _boot(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
    sim = simulated_plant(model, running=False)
    c = sim.plant.controller
    if r.ramp_w_s is not None:
        c.write_ramp(_ramp_kw_s(model, r.ramp_w_s / 1000), at=1.0)
    c.write_setpoint(_setpoint(model, c, r.rated_w), at=t0 - 0.1)
    c.write_mode(int(Mode.RUN), at=t0)
    return sim.p_total(times)


def _running_at(model: ContainerModel, percent: float, r: StoredResponse, t0: float):
    sim = simulated_plant(model, running=True)
    c = sim.plant.controller
    c.write_ramp(_ramp_kw_s(model, min(PREPARE_RAMP_KW_S, r.rated_w / 1000)), at=1.0)
    c.write_setpoint(_setpoint(model, c, r.rated_w * percent / 100), at=1.0)
    sim.at(t0 - 1.0)
    return sim, c


def _step(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
    sim, c = _running_at(model, r.params["from_percent"], r, t0)
    c.write_ramp(_ramp_kw_s(model, r.params["ramp_kw_s"]), at=t0 - 0.05)
    c.write_setpoint(_setpoint(model, c, r.rated_w * r.params["to_percent"] / 100), at=t0)
    return sim.p_total(times)


def ramp_command_times(r: StoredResponse) -> list[tuple[float, float]]:
    """(record time, percent) of the ramp check's three setpoints: as the check stored them, or for a record made
    before it did, from its trends, back to back, each as long as the check's own formula ((top - level) / rate +
    settle) from the top power it read (a loaded bench's trend overheads then shift later commands)."""
    if "commands" in r.extra:
        return [(float(t), float(percent)) for t, percent in r.extra["commands"]]
    p = r.params
    rate = p["ramp_kw_s"] * 1000
    top = float(r.p_total[0])
    low = r.rated_w * p["low_percent"] / 100
    floor = r.rated_w * p["min_percent"] / 100
    first = r.time[0] - r.sample_period()
    down = (top - low) / rate + p["settle_s"]
    up = (top - low) / rate + p["settle_s"]
    return [(first, p["low_percent"]), (first + down, 100.0), (first + down + up, p["min_percent"])] if floor else []


def _ramp(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
    shift = t0 - r.command
    commands = ramp_command_times(r)
    sim, c = _running_at(model, 100.0, r, commands[0][0] + shift)
    c.write_ramp(_ramp_kw_s(model, r.params["ramp_kw_s"]), at=commands[0][0] + shift - 0.05)
    for when, percent in commands:
        sim.at(when + shift)
        c.write_setpoint(_setpoint(model, c, r.rated_w * percent / 100), at=when + shift)
    return sim.p_total(times)


def _stop(mode: Mode):
    def run(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
        sim, c = _running_at(model, 100.0, r, t0)
        c.write_mode(int(mode), at=t0 + float(r.extra.get("event_shift_s", 0.0)))
        return sim.p_total(times)

    return run


def frequency_step_times(r: StoredResponse) -> tuple[float, float] | None:
    """(start, end) record times of the frequency event: midway between the last nominal and the first stepped
    update (the analyser saw it within one update), and likewise for the return; moved by ``event_shift_s`` when
    the fit has placed the event inside that update (hilbench.twin.scan_fit.place_events)."""
    f = r.extra["frequency"]
    shift = float(r.extra.get("event_shift_s", 0.0))
    nominal = record_nominal(f)
    event = r.params["event_hz"]
    low = f <= event + 0.5 * (nominal - event)
    if not low.any():
        return None
    first = int(np.flatnonzero(low)[0])
    start = midway_before(r.time, first)
    back = np.flatnonzero(~low[first:])
    end = start + r.params["duration_s"] if back.size == 0 else midway_before(r.time, first + int(back[0]))
    return float(start + shift), float(end + shift)


def record_nominal(f: np.ndarray) -> float:
    """The supply's own level in a stored record: the median of its first updates (before any event)."""
    return float(np.median(f[: max(3, f.size // 20)]))


def midway_before(t: np.ndarray, k: int) -> float:
    """Midway between update ``k`` (the first to see an event) and the one before: the analyser saw it within one
    update."""
    return float(0.5 * (t[k] + t[max(k - 1, 0)]))


def _frequency_trip(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
    event = frequency_step_times(r)
    if event is None:
        raise ProcedureError(f"{r.source}: the stored record never shows the frequency step")
    shift = t0 - r.command
    sim, c = _running_at(model, 100.0, r, t0)
    nominal = sim.plant.params.frequency_hz
    threshold = r.params.get("threshold_hz") or round(0.995 * nominal, 2)
    c.write_uf(threshold_hz=threshold, delay_s=r.params.get("delay_s", 0.1), action="trip", at=t0)
    sim.plant.grid.set_frequency(r.params["event_hz"], at=event[0] + shift)
    sim.plant.grid.set_frequency(nominal, at=event[1] + shift)
    return sim.p_total(times)


def with_defaults(r: StoredResponse, check_type: str) -> dict:
    """The check's parameters as it ran: its type's defaults under what the plan gave (the record holds the
    plan's)."""
    return {**REGISTRY[check_type].params, **r.params}


def _ride_through(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
    """The check's own list of supply steps (hilbench.plans.checks.ride_through), played from its stored start."""
    sim, c = _running_at(model, 100.0, r, t0)
    volts, hz = sim.plant.params.voltage_v, sim.plant.params.frequency_hz
    params = with_defaults(r, "ride_through")
    if params["uf_threshold_hz"] is not None:
        c.write_uf(threshold_hz=params["uf_threshold_hz"], delay_s=params["uf_delay_s"], action="trip", at=t0 - 0.5)
    steps = _playable(r, lambda: disturbance_steps(r.check, params, volts, hz))
    program = [(s.dwell_s, s.voltage_pu * volts, s.frequency_hz) for s in steps] + [(1e6, volts, hz)]
    sim.plant.grid.program(program, start=ride_through_start(r, steps, hz) + t0 - r.command)
    return sim.p_total(times)


def ride_through_start(r: StoredResponse, steps: list, hz: float) -> float:
    """Record time the ride-through's program began: midway in the update in which the analyser first saw the
    supply move (as hilbench.plans.checks.ride_through finds it; its own stored start is the update before, up to
    an update early), less where the program first moved it; moved by the fit's ``event_shift_s``."""
    u, f = r.extra["voltage_pu"], r.extra["frequency"]
    moves = [s.start_s for s in steps if s.voltage_pu < 0.95 or abs(s.frequency_hz - hz) > 0.02]
    u_before = float(np.median(u[r.time <= r.command])) if np.any(r.time <= r.command) else float(u[0])
    seen = np.flatnonzero((u < 0.95 * u_before) | (np.abs(f - hz) > 0.02))
    if not moves or not seen.size:
        return r.command + float(r.extra.get("event_shift_s", 0.0))
    return float(midway_before(r.time, int(seen[0])) - moves[0] + r.extra.get("event_shift_s", 0.0))


def _playable(r: StoredResponse, build):
    """The check's list steps, or a ProcedureError naming the check (a recording moved or unreadable since the
    run, a trajectory this version cannot build)."""
    try:
        return build()
    except (OSError, ValueError, HilbenchError) as exc:
        raise ProcedureError(f"{r.source}: its supply program cannot be rebuilt: {exc}") from None


def droop_program_start(r: StoredResponse, levels: list[tuple[float, float, float]]) -> float:
    """Record time the frequency_response check's trajectory began: midway between the last nominal and the first
    moved update (the analyser saw the move within one update), less the levels played at nominal before it (the
    check's own stored start is the last nominal update: up to an update early); moved by the fit's
    ``event_shift_s``."""
    f = r.extra["frequency"]
    nominal = record_nominal(f)
    moved = np.flatnonzero(np.abs(f - nominal) > 1e-3)
    if not moved.size:
        return r.command
    seen = midway_before(r.time, int(moved[0]))
    offset = 0.0
    for seconds, _, hz in levels:
        if abs(hz - nominal) > 1e-3:
            break
        offset += seconds
    return float(seen - offset + r.extra.get("event_shift_s", 0.0))


def _droop(r: StoredResponse, model: ContainerModel, times: np.ndarray, t0: float) -> np.ndarray:
    """The frequency_response check's trajectory (hilbench.plans.checks.frequency_response) played on a running
    container whose under-frequency trip the check moved out of the way."""
    sim, c = _running_at(model, 100.0, r, t0)
    volts, nominal = sim.plant.params.voltage_v, sim.plant.params.frequency_hz
    params = with_defaults(r, "frequency_response")
    uf = params["uf_threshold_hz"] or round(0.94 * nominal, 2)
    c.write_uf(threshold_hz=uf, delay_s=DROOP_UF_DELAY_S, action="trip", at=t0 - 0.5)
    levels = _playable(r, lambda: frequency_levels(params, nominal, volts))
    program = [(d, pu * volts, hz) for d, pu, hz in levels] + [(1e6, volts, nominal)]
    sim.plant.grid.program(program, start=droop_program_start(r, levels) + t0 - r.command)
    return sim.p_total(times)


_SIMULATORS = {
    "boot": _boot,
    "step": _step,
    "ramp": _ramp,
    "emergency": _stop(Mode.EMERGENCY_STOP),
    "graceful": _stop(Mode.GRACEFUL_STOP),
    "frequency_trip": _frequency_trip,
    "ride_through": _ride_through,
    "droop": _droop,
}


def event_time(r: StoredResponse) -> float:
    """The record time the response's event began, found as the validation finds it in the measured record
    (hilbench.plans.model_check.disturbance: the supply's half-deviation crossing) for a grid event, else the
    command.  A model file's times count from it, so they line up with the record whatever the fit placed
    inside the update."""
    if r.kind in ("ride_through", "frequency_trip", "droop"):
        u = r.extra.get("voltage_pu")
        signal = u if u is not None and np.ptp(u) > 0.05 else r.extra["frequency"]
        event, _ = disturbance(r.time, signal)
        return r.command if event is None else event
    return r.command
