"""``hilbench fit RUN_DIR``: the emulated container that reproduces a stored run.

Three kinds of estimate (hilbench.twin.estimates):
- measured: read off steady stretches of the records (auxiliary power, power per board, board count from the
  graceful stop's boards-online count, the PSU spectrum and the supply impedance from the harmonic captures);
- fitted: the time constants, by simulating each stored response on the emulator's own plant with the same
  commands and minimising the difference sample by sample (scipy.optimize.least_squares), one group of
  parameters per kind of response, each group starting from the values the earlier groups found;
- selected: a discrete option (does the controller honour the ramp limit?) chosen by which simulation matches.
A parameter the run did not excite (its group has no response, or moving it changes no simulated sample) keeps
the template's value and says so.  Droop and ride-through parameters act by count and threshold (boards shed,
PSUs dropped): they are fitted by scanning the same simulation (hilbench.twin.scan_fit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from hilbench.emulation.power_model import power_model
from hilbench.report.records import Run, read_run
from hilbench.twin.estimates import DECLARED, FITTED, MEASURED, NOT_EXCITED, NOT_FITTED, SELECTED, Estimate
from hilbench.twin.model import ContainerModel, simulated_plant
from hilbench.twin.parameters import Group, Parameter
from hilbench.twin.procedures import ProcedureError, StoredResponse, misfit, simulate, stored_responses
from hilbench.twin.scan_fit import SCANNED_GROUPS, place_events, scan_group
from hilbench.twin.spectrum_fit import SpectrumFit, analyse_capture, capture_files, fit_spectrum

#: a parameter is excited when moving it by this fraction moves the simulated responses by more than
#: EXCITATION_PU of the rated power, r.m.s. over the group's samples
EXCITATION_STEP = 0.2
EXCITATION_PU = 1e-3


GROUPS = (
    Group(
        "boot",
        ("boot",),
        (
            Parameter("boot_s", "s", 0.5, 900.0, 60.0),
            Parameter("pll_ramp_mhz_per_s", "MHz/s", 1.0, 2000.0, 60.0, is_time=False),
            Parameter("default_ramp_kw_s", "kW/s", 0.1, 20000.0, 10.0, is_time=False),
        ),
    ),
    Group(
        "dispatch",
        # the PLL ramp again: a wake runs it from zero like a boot, in every step up; and the boot time with it
        # (held at the boot group's value, the boot's misfit would pull the PLL, and the wake delay after it)
        ("step", "ramp", "boot"),
        (
            Parameter("boot_s", "s", 0.5, 900.0, 60.0),
            Parameter("pll_ramp_mhz_per_s", "MHz/s", 1.0, 2000.0, 60.0, is_time=False),
            Parameter("curtail_latency_s", "s", 0.0, 60.0, 1.0),
            Parameter("wake_delay_s", "s", 0.0, 120.0, 2.0),
            Parameter("standby_w", "W", 0.0, 500.0, 15.0, is_time=False),
        ),
    ),
    Group("trip", ("emergency", "frequency_trip"), (Parameter("contactor_open_s", "s", 0.0, 60.0, 0.1),)),
    Group(
        "graceful stop",
        ("graceful",),
        (Parameter("stop_stagger_s", "s", 0.0, 60.0, 0.5), Parameter("graceful_stop_s", "s", 0.0, 600.0, 10.0)),
    ),
)
#: parameters the emulated container has that this version does not fit when a run excites them
#: parameters no record separates from others: named, with the reason, whenever the run has steps or ramps
NOT_SEPARABLE = {
    "setpoint_poll_s": "a setpoint's delay is not separable from the boards' curtail latency and wake delay by steps "
    "and ramps (only their sums are determined): it is fitted as part of them, and the template's value is kept",
}
NOT_FITTED_BY_CHECK = {
    "ride_through": ("uv_trip_pu", "uv_trip_delay_s"),  # the controller's own under-voltage trip
}


class FitError(ValueError):
    """A run directory the fit cannot use (no records, no plan, nothing to fit)."""


@dataclass
class FitResult:
    run: Path
    template: ContainerModel
    model: ContainerModel
    estimates: dict[str, Estimate]
    responses: list[StoredResponse]
    simulated: dict[str, np.ndarray]
    spectrum: SpectrumFit | None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def residuals(self) -> dict[str, float]:
        """Each response's r.m.s. misfit, % of rated power."""
        return {
            r.check: float(np.sqrt(np.mean((self.simulated[r.check] - r.p_total) ** 2)) / r.rated_w * 100)
            for r in self.responses
        }


def fit_run(run_dir: str | Path, template: ContainerModel, progress: Callable[[str], None] = print) -> FitResult:
    started = time.perf_counter()
    run_dir = Path(run_dir)
    try:
        run = read_run(run_dir)
    except FileNotFoundError as exc:
        raise FitError(str(exc)) from None
    if not run.plans or not run.plans[0].dut.get("rated_kw"):
        raise FitError(f"{run_dir}: the record names no plan with a DUT rating (rated_kw); nothing to fit against")
    dut = run.plans[0].dut
    rated_w = float(dut["rated_kw"]) * 1000
    responses, notes = stored_responses(run_dir, run.checks, rated_w)
    estimates: dict[str, Estimate] = {}
    model = _measured(run, responses, template, estimates, dut)
    model = _nameplate_by_dispatch(responses, model, estimates)
    model = model.with_values({"setpoint_limit_kw": float(dut["rated_kw"])})  # the setpoints the container took
    spectrum = _spectrum(run, run_dir, model, estimates, dut, notes)
    if spectrum is not None:
        model = model.with_values(
            {
                "psu_kind": "fitted",
                "psu_spectrum": spectrum.psu_spectrum,
                "voltage_v": round(spectrum.source_voltage_v, 1),
            }
            | ({"r_ohm": round(spectrum.r_ohm, 5), "x_ohm": round(spectrum.x_ohm, 5)} if _finite(spectrum) else {})
        )
    for group in GROUPS:
        if group.name == "dispatch":
            model = _dispatch_both_ways(group, responses, model, estimates, progress)
        else:
            model = _fit_group(group, responses, model, estimates, progress)
        if group.name == "trip":  # each trip placed inside its update, then the contactor again (twice)
            for _ in range(2):
                responses = place_events(responses, model, progress, group.kinds)
                model = _fit_group(group, responses, model, estimates, progress)
    toggling = _cycling(responses, model, estimates)  # read with the fitted latencies (they set the duty)
    if toggling is not model:  # a toggling board biased the dispatch fit: fitted again with it in the model
        dispatch = next(g for g in GROUPS if g.name == "dispatch")
        model = _fit_group(dispatch, responses, toggling, estimates, progress)
    for group in SCANNED_GROUPS:  # droop and ride-through: boards shed by count, PSUs dropped by threshold
        model, responses = scan_group(group, responses, model, estimates, progress)
    dispatch = [r.check for r in responses if r.kind in ("step", "ramp")]
    for name, why in NOT_SEPARABLE.items():
        if dispatch and (name not in estimates or estimates[name].status != SELECTED):
            estimates[name] = Estimate(name, model.value(name), "s", NOT_FITTED, sources=dispatch, note=why)
    for check in run.checks:
        for name in NOT_FITTED_BY_CHECK.get(check.type, ()):
            estimates[name] = Estimate(
                name, model.value(name), "", NOT_FITTED, sources=[check.id],
                note="this version does not fit it: the template's value is kept",
            )  # fmt: skip
    simulated = {}
    for r in responses:
        try:
            simulated[r.check] = simulate(r, model)
        except ProcedureError as exc:
            notes.append(str(exc))
    responses = [r for r in responses if r.check in simulated]
    return FitResult(
        run_dir, template, model, estimates, responses, simulated, spectrum, notes, time.perf_counter() - started
    )


def _finite(spectrum: SpectrumFit) -> bool:
    return bool(np.isfinite(spectrum.r_ohm) and np.isfinite(spectrum.x_ohm))


def _steady_tail(r: StoredResponse, seconds: float = 1.0) -> np.ndarray:
    return r.p_total[r.time >= r.time[-1] - seconds]


def _measured(run: Run, responses: list[StoredResponse], template: ContainerModel, estimates, dut) -> ContainerModel:
    """Board count, auxiliaries and power per board: steady stretches of the records."""
    by_kind: dict[str, list[StoredResponse]] = {}
    for r in responses:
        by_kind.setdefault(r.kind, []).append(r)
    values: dict[str, object] = {}
    graceful = [r for r in by_kind.get("graceful", []) if int(r.extra.get("boards_online_before", -1)) > 0]
    declared = int(dut.get("boards") or 0)
    online = max((int(r.extra["boards_online_before"]) for r in graceful), default=0)
    if graceful and online >= declared:
        values["boards"] = online
        estimates["boards"] = Estimate("boards", values["boards"], "", MEASURED, 0.0, [r.check for r in graceful],
                                       "the controller's boards-online count before the graceful stop")  # fmt: skip
    elif graceful:  # a board asleep at that moment (a toggling firmware) is installed all the same
        values["boards"] = declared
        estimates["boards"] = Estimate(
            "boards", declared, "", DECLARED, None, ["plan dut.boards", *(r.check for r in graceful)],
            f"the controller counted {online} boards online before the graceful stop, fewer than the plan's "
            f"{declared} (a board asleep, curtailed or toggling then is installed all the same): the plan's figure",
        )  # fmt: skip
    else:
        values["boards"] = int(dut.get("boards") or template.boards)
        estimates["boards"] = Estimate(
            "boards", values["boards"], "", DECLARED, None, ["plan dut.boards"],
            "no boards-online count before a graceful stop in the run: the plan's figure",
        )  # fmt: skip
    aux = [(r.check, _steady_tail(r)) for r in by_kind.get("emergency", [])]
    aux += [(r.check, r.p_total[r.time < r.command]) for r in by_kind.get("boot", [])]
    aux = [(c, p) for c, p in aux if p.size]
    if aux:
        samples = np.concatenate([p for _, p in aux])
        values["aux_w"] = round(float(np.mean(samples)), 1)
        estimates["aux_w"] = Estimate("aux_w", values["aux_w"], "W", MEASURED, _spread(samples), [c for c, _ in aux],
                                      "container off or tripped on a live supply")  # fmt: skip
    else:
        estimates["aux_w"] = _not_excited("aux_w", template, "W", "no record of the container off on a live supply")
    aux_w = float(values.get("aux_w", template.value("aux_w")))
    full = [(r.check, _steady_tail(r)) for r in by_kind.get("boot", [])]
    full += [(r.check, r.p_total[r.time < r.command]) for r in by_kind.get("emergency", [])]
    full += [(r.check, _steady_tail(r)) for r in by_kind.get("step", []) if r.params.get("to_percent") == 100]
    full = [(c, p) for c, p in full if p.size]
    if full:
        samples = np.concatenate([p for _, p in full])
        per_board = (float(np.mean(samples)) - aux_w) / values["boards"]
        values["nameplate_w"] = round(per_board, 2)
        estimates["nameplate_w"] = Estimate(
            "nameplate_w", values["nameplate_w"], "W", MEASURED, _spread(samples) / values["boards"],
            [c for c, _ in full], "(full power - auxiliaries) / boards",
        )  # fmt: skip
    else:
        estimates["nameplate_w"] = _not_excited("nameplate_w", template, "W", "no record at full power")
    trips = [r for r in by_kind.get("frequency_trip", []) if r.extra.get("frequency") is not None]
    if trips:
        f = np.concatenate([r.extra["frequency"][r.time < r.time[0] + 0.5] for r in trips])
        values["frequency_hz"] = round(float(np.median(f)), 3)
        estimates["frequency_hz"] = Estimate(
            "frequency_hz", values["frequency_hz"], "Hz", MEASURED, _spread(f), [r.check for r in trips],
            "the supply before the frequency event",
        )  # fmt: skip
    elif dut.get("frequency_hz"):
        values["frequency_hz"] = float(dut["frequency_hz"])
        estimates["frequency_hz"] = Estimate("frequency_hz", values["frequency_hz"], "Hz", DECLARED, None,
                                             ["plan dut.frequency_hz"], "no frequency record in the run")  # fmt: skip
    if dut.get("voltage_v"):  # replaced by the harmonic captures' measurement when the run has them
        values["voltage_v"] = round(float(dut["voltage_v"]) / np.sqrt(3), 1)
        estimates["voltage_v"] = Estimate(
            "voltage_v", values["voltage_v"], "V", DECLARED, None, ["plan dut.voltage_v"],
            "line-to-line / sqrt(3); no harmonic captures",
        )  # fmt: skip
    return template.with_values(values)


def _nameplate_by_dispatch(responses, model: ContainerModel, estimates) -> ContainerModel:
    """The power per board at "full" is the profile the controller chose for the plan's setpoint, which is the
    nameplate only when the setpoint reached it (a 100 % setpoint at the register's resolution may fall a few
    watts short and run every board one profile down).  Candidates: the level read as the default profile or as
    one of the three below it; selected by simulating the steps, whose settled levels tell them apart."""
    if estimates.get("nameplate_w") is None or estimates["nameplate_w"].status != MEASURED:
        return model
    used = [r for r in responses if r.kind == "step"]  # settled levels at two setpoints, whatever the boot took
    if not used:
        return model
    level = float(model.value("nameplate_w"))
    ladder = power_model(model.board_profile()).ladder
    default = next(p.watts for p in ladder if p.name == "default")
    below = [p.watts / default for p in ladder if p.name.startswith("-")][:3]
    candidates = [level] + [level / fraction for fraction in below]
    costs = {}
    for candidate in candidates:  # judged on the settled last quarter of each response: no latency matters there
        trial = model.with_values({"nameplate_w": round(candidate, 2)})
        costs[round(candidate, 2)] = sum(
            float(np.sum(((simulate(r, trial) - r.p_total) / r.rated_w)[r.time >= r.time[-1] - 0.25 * (r.time[-1]
                                                                          - r.command)] ** 2))
            for r in used
        )  # fmt: skip
    best = min(costs, key=costs.get)
    if best != round(level, 2):
        estimates["nameplate_w"].value = best
        estimates["nameplate_w"].status = SELECTED
        estimates["nameplate_w"].note += (
            f"; the full-power level {level:.1f} W per board is a lower profile of a {best:.1f} W board (the "
            f"setpoint at the register's resolution fell short of the rating): selected by simulating "
            f"{', '.join(r.check for r in used)}"
        )
    return model.with_values({"nameplate_w": best})


def _spread(samples: np.ndarray) -> float:
    return float(np.std(samples) / np.sqrt(max(samples.size, 1)))


def _not_excited(name: str, model: ContainerModel, unit: str, why: str) -> Estimate:
    return Estimate(name, model.value(name), unit, NOT_EXCITED, note=f"{why}: the template's value is kept")


def _spectrum(run: Run, run_dir: Path, model: ContainerModel, estimates, dut, notes) -> SpectrumFit | None:
    checks = [c for c in run.checks if c.type == "harmonics"]
    frequency = float(dut.get("frequency_hz") or model.value("frequency_hz"))
    captures = []
    for check in checks:
        for path in capture_files(run_dir, check.id):
            try:
                captures.append(analyse_capture(path, frequency, model.rated_w()))
            except ValueError as exc:
                notes.append(str(exc))
    if not captures:
        estimates["psu_spectrum"] = _not_excited("psu_spectrum", model, "", "no harmonic captures in the run")
        return None
    fit = fit_spectrum(captures)
    sources = [c.source for c in fit.captures]
    estimates["psu_spectrum"] = Estimate(
        "psu_spectrum", f"{len(fit.psu_spectrum['orders'])} orders at loads {fit.psu_spectrum['load_fractions']}",
        "", MEASURED, None, sources, "ratios of the fundamental and phases per order (the fit report lists them)",
    )  # fmt: skip
    estimates["displacement_pf"] = Estimate(
        "displacement_pf", fit.psu_spectrum["displacement_pf"], "", MEASURED,
        float(np.std([c.displacement_pf for c in fit.captures])), sources,
    )  # fmt: skip
    if _finite(fit):
        estimates["x_ohm"] = Estimate(
            "x_ohm", round(fit.x_ohm, 5), "ohm", FITTED, abs(fit.x_ohm) * fit.impedance_residual, sources,
            "voltage over current harmonics, |Z_h|^2 = R^2 + h^2 X^2 (linear least squares)",
        )  # fmt: skip
        estimates["r_ohm"] = Estimate(
            "r_ohm", round(fit.r_ohm, 5), "ohm", FITTED, None, sources,
            f"the fundamental's drop between {len(fit.captures)} loads, R pf + X sin(phi); no uncertainty from "
            "so few points",
        )  # fmt: skip
    estimates["voltage_v"] = Estimate(
        "voltage_v", round(fit.source_voltage_v, 2), "V", MEASURED, None, sources,
        "the supply behind the fitted impedance: the PCC's fundamental extrapolated to no load",
    )  # fmt: skip
    return fit


def _group_responses(group: Group, responses: list[StoredResponse]) -> list[StoredResponse]:
    return [r for r in responses if r.kind in group.kinds]


def _dispatch_both_ways(group: Group, responses, model: ContainerModel, estimates, progress) -> ContainerModel:
    """The dispatch group fitted with the ramp limit honoured and ignored; the option whose fitted simulation
    matches the records better is selected (a discrete choice no gradient can make)."""
    used = _group_responses(group, responses)
    if not any(r.kind in ("ramp", "step") for r in used):
        estimates["honours_ramp_limit"] = _not_excited("honours_ramp_limit", model, "", "no ramp or step in the run")
        return _fit_group(group, responses, model, estimates, progress)
    outcomes = {}
    for option in (True, False):
        trial: dict[str, Estimate] = {}
        fitted = _fit_group(group, responses, model.with_values({"honours_ramp_limit": option}), trial, progress)
        cost = float(np.sum(misfit(used, fitted) ** 2))
        outcomes[option] = (cost, fitted, trial)
    best = min(outcomes, key=lambda option: outcomes[option][0])
    cost, fitted, trial = outcomes[best]
    other = outcomes[not best][0]
    estimates.update(trial)
    if abs(other - cost) <= 0.01 * max(other, cost):
        estimates["honours_ramp_limit"] = _not_excited(
            "honours_ramp_limit", model, "", "both options, each fitted, simulate the responses alike"
        )
        return outcomes[bool(model.value("honours_ramp_limit"))][1]
    progress(f"fit: honours_ramp_limit = {best} (misfit {cost:.3g} against {other:.3g})")
    estimates["honours_ramp_limit"] = Estimate(
        "honours_ramp_limit", best, "", SELECTED, None, [r.check for r in used],
        f"each option fitted: sum of squared misfit (pu^2) {cost:.3g} against {other:.3g} for the other",
    )  # fmt: skip
    return fitted


def _cycling(responses: list[StoredResponse], model: ContainerModel, estimates) -> ContainerModel:
    """Faulty firmware toggling one board on and off: a square wave of one board's power on a steady stretch.
    Measured from the settled stretches' drops (the median interval between them); its phase is
    arbitrary, so the twin reproduces the rate and depth, not the instants."""
    per_board = float(model.value("nameplate_w"))
    intervals, edges_seen, checks = [], 0, []
    for r in responses:
        if r.kind not in ("boot", "step"):
            continue
        settled = _settled_half(r)
        edges = _one_board_drops(r.time[settled], r.p_total[settled], per_board)
        if len(edges) >= 2:
            intervals += list(np.diff(edges))
            edges_seen += len(edges)
            checks.append(r.check)
    if len(intervals) < 2:
        estimates["cycling_period_s"] = Estimate(
            "cycling_period_s", model.value("cycling_period_s"), "s", MEASURED, None, [],
            "no board toggling on any steady stretch of the records",
        )  # fmt: skip
        return model
    interval, check = float(np.median(intervals)), ", ".join(checks)
    # the drops come every few toggling periods (a board asleep must finish its curtailment and its wake before
    # the firmware's next toggle takes it down again): the period is the candidate interval / k whose simulated
    # drops come at the measured interval
    full_stretches = [
        r.p_total[_settled_half(r)] for r in responses if r.kind == "step" and r.params.get("to_percent") == 100
    ]
    full = np.concatenate(full_stretches or [np.zeros(0)])  # the settled second half of steps up to full power
    if full.size and estimates["nameplate_w"].status != SELECTED:  # (a lower profile selected by dispatch stands)
        # the full-power mean includes the toggling board's absences: the board's power, read again
        # from the top level, every board on (the toggling board's absences lie a board below it; its wake ramps
        # through the levels between).  Within 0.5 % of the DUT's rating per board it is the rating: 1 W per board
        # too many puts the boards' power a hair over a setpoint of their rated power, and the emulated controller
        # then runs every board a profile down (-5 %)
        corrected = (float(np.max(full)) - float(model.value("aux_w"))) / model.boards
        rating = float(model.value("setpoint_limit_kw")) * 1000 / model.boards
        corrected = round(rating if abs(corrected - rating) <= 0.005 * rating else corrected, 2)
        model = model.with_values({"nameplate_w": corrected})
        estimates["nameplate_w"].value = corrected
        estimates["nameplate_w"].note += "; read again from the top level, every board on (one board toggles)"
    # the toggling board sleeps and wakes by the firmware's own command, not through the setpoint's delay: its
    # drops separate that delay from the latencies the steps fitted as sums, so the two are chosen together.
    # The steps' sums: the fitted latencies plus the delay they were fitted with (the template's)
    held = float(model.value("setpoint_poll_s"))
    curtail, wake = float(model.value("curtail_latency_s")) + held, float(model.value("wake_delay_s")) + held
    periods = [interval / k for k in (1, 2, 3, 4, 5, 6) if interval / k >= 0.2]
    candidates = {}

    def score_all(polls: np.ndarray) -> None:
        for period in periods:
            for poll in polls:
                values = {"cycling_period_s": round(period, 3), "setpoint_poll_s": round(float(poll), 3),
                          "curtail_latency_s": curtail - poll, "wake_delay_s": wake - poll}  # fmt: skip
                drop_interval, mean_w = _simulated_cycling(model.with_values(values))
                # score: the drops' interval, and the power the toggling board takes away on average (its duty)
                score = abs(drop_interval - interval) / interval
                if full.size:
                    score += abs(mean_w - float(np.mean(full))) / per_board
                candidates[(values["cycling_period_s"], values["setpoint_poll_s"])] = (score, values)

    def leading() -> tuple[float, dict]:  # the best score so far, the least delay among equals
        return candidates[min(candidates, key=lambda key: (candidates[key][0], key[1]))]

    longest = min(curtail, wake)
    score_all(np.arange(0.0, longest + 1e-9, 0.5))  # coarse, then by 0.1 s around the best
    score_all(np.clip(leading()[1]["setpoint_poll_s"] + np.arange(-0.4, 0.41, 0.1), 0.0, longest))
    score, chosen = leading()
    period = chosen["cycling_period_s"]
    estimates["cycling_period_s"] = Estimate(
        "cycling_period_s", period, "s", SELECTED, None, [check],
        f"{edges_seen} drops of about one board's power {interval:.3g} s apart on a steady stretch; the period "
        f"(with the setpoint delay) whose simulation matches that interval and the duty best (score {score:.2g}); "
        "its phase is not fitted",
    )  # fmt: skip
    estimates["setpoint_poll_s"] = Estimate(  # selected with the period, whatever the template held
        "setpoint_poll_s", chosen["setpoint_poll_s"], "s", SELECTED, 0.1 / np.sqrt(12), [check],
        f"with the toggling period: the steps' latencies less it are the boards' own, with which the toggling "
        f"board's drops come at the measured interval (candidates 0-{longest:g} s by 0.5 s, then by "
        "0.1 s around the best; several may match equally, the least delay is taken)",
    )  # fmt: skip
    return model.with_values(chosen)


def _settled_half(r: StoredResponse) -> np.ndarray:
    """The second half of a response after its command: settled, for the steps and the boot the fit reads."""
    return r.time >= r.command + 0.5 * (r.time[-1] - r.command)


def _one_board_drops(t: np.ndarray, p: np.ndarray, per_board: float) -> list[float]:
    """Times of drops of about one board's power (a sleep or a stop drops at once; a wake ramps with the PLL),
    drops within two samples of each other counted once."""
    jumps = np.flatnonzero(np.diff(p) < -0.3 * per_board)
    return [float(t[j + 1]) for k, j in enumerate(jumps) if k == 0 or j - jumps[k - 1] > 2]


def _simulated_cycling(model: ContainerModel) -> tuple[float, float]:
    """(median interval between one-board drops, mean power) of the model running steadily at full power."""
    sim = simulated_plant(model, running=True)
    times = np.arange(60.0, 240.0, 0.05)
    p = sim.p_total(times)
    edges = _one_board_drops(times, p, float(model.value("nameplate_w")))
    return (float(np.median(np.diff(edges))) if len(edges) >= 2 else float("inf")), float(np.mean(p))


def _first_after(r: StoredResponse, mask: np.ndarray) -> float | None:
    hits = np.flatnonzero(mask & (r.time >= r.command))
    return float(r.time[hits[0]] - r.command) if hits.size else None


def _from_figures(group: Group, used: list[StoredResponse], model: ContainerModel, parameters) -> list[float]:
    """Starting values read off the responses' own figures (delays to the first movement, durations); the
    template's value where a figure says nothing."""
    guess = {p.name: float(model.value(p.name)) for p in parameters}
    poll = float(model.value("setpoint_poll_s"))
    for r in used:
        p0, p1 = float(r.p_total[0]), float(np.mean(r.p_total[-5:]))
        moved = _first_after(r, np.abs(r.p_total - p0) > 0.1 * max(abs(p1 - p0), 1.0))
        half = _first_after(r, np.abs(r.p_total - p0) > 0.5 * max(abs(p1 - p0), 1.0))
        if r.kind == "boot":
            # the boards' power rises with their PLL's frequency: 10 % to 90 % of the rise is 80 % of the ramp
            t10 = _first_after(r, r.p_total - p0 > 0.1 * (p1 - p0))
            t90 = _first_after(r, r.p_total - p0 > 0.9 * (p1 - p0))
            if t10 is not None and t90 is not None and t90 > t10:
                ramp = (t90 - t10) / 0.8
                guess["pll_ramp_mhz_per_s"] = float(model.value("nominal_freq_mhz")) / ramp
                guess["boot_s"] = max(0.5, t10 - 0.1 * ramp)
        elif r.kind in ("emergency", "frequency_trip") and half is not None and "contactor_open_s" in guess:
            hold = float(model.value("emergency_stop_s"))
            delay = half - (r.params.get("delay_s", 0.1) + 0.1 if r.kind == "frequency_trip" else 0.0)
            guess["contactor_open_s"] = max(0.0, delay - hold)
        elif r.kind == "step" and moved is not None:
            down = r.params["to_percent"] < r.params["from_percent"]
            guess["curtail_latency_s" if down else "wake_delay_s"] = max(0.0, moved - poll)
        elif r.kind == "graceful":
            # board i stops i staggers after the command and draws power until its own stop completes: the
            # first one-board drop gives the stop's duration, the drops' spacing the stagger (a record cut short
            # by the check's observation time holds only the first boards' drops)
            after = r.time >= r.command
            drops = _one_board_drops(r.time[after], r.p_total[after], float(model.value("nameplate_w")))
            if len(drops) >= 2 and model.boards > 1:
                guess["graceful_stop_s"] = max(0.0, drops[0] - r.command)
                guess["stop_stagger_s"] = float(np.median(np.diff(drops)))
    return [guess[p.name] for p in parameters]


def _centred(residual, x: np.ndarray, f: np.ndarray, parameters, sample: float) -> tuple[np.ndarray, np.ndarray]:
    """Each time parameter moved to the middle of the interval over which the misfit stays at its least: records
    sampled every ``sample`` seconds leave an event's time undetermined within a sample, and least squares stops at
    whichever end it meets first (one rounding then flips a sample)."""
    x = x.copy()
    for i, p in enumerate(parameters):
        if not p.is_time:
            continue
        cost = float(np.sum(f**2))
        ends = []
        for direction in (-1.0, 1.0):
            reach = 0.0
            for k in range(1, 11):
                trial = x.copy()
                trial[i] = x[i] + direction * k * sample / 5
                if (
                    not p.lower <= trial[i] <= p.upper
                    or float(np.sum(residual(trial) ** 2)) > cost * (1 + 1e-6) + 1e-18
                ):
                    break
                reach = direction * k * sample / 5
            ends.append(reach)
        if ends[0] != 0.0 or ends[1] != 0.0:
            x[i] += (ends[0] + ends[1]) / 2
            f = residual(x)
    return x, f


def _jacobian(residual, x: np.ndarray, f0: np.ndarray, steps: np.ndarray, parameters) -> np.ndarray:
    """Forward differences with the fit's own steps (a step into a bound is taken backwards): the sensitivity of
    the simulated responses to each parameter, for the excitation test and the uncertainties."""
    jac = np.empty((f0.size, x.size))
    for i, p in enumerate(parameters):
        h = steps[i] if x[i] + steps[i] <= p.upper else -steps[i]
        moved = x.copy()
        moved[i] += h
        jac[:, i] = (residual(moved) - f0) / h
    return jac


def _fit_group(group: Group, responses, model: ContainerModel, estimates, progress) -> ContainerModel:
    used = _group_responses(group, responses)
    parameters = list(group.parameters)
    if group.name == "boot" and not any(r.ramp_w_s is None for r in used):
        # the ramp limit at power-on was written by an earlier check: the container's default never acted
        estimates["default_ramp_kw_s"] = _not_excited(
            "default_ramp_kw_s", model, "kW/s", "the boot ran under a ramp limit an earlier check had written"
        )
        parameters = [p for p in parameters if p.name != "default_ramp_kw_s"]
    if not used:
        for p in parameters:
            estimates[p.name] = _not_excited(p.name, model, p.unit, f"no {' or '.join(group.kinds)} record in the run")
        return model
    names = [p.name for p in parameters]
    starts = [model.value(p.name) for p in parameters], _from_figures(group, used, model, parameters)

    def start_cost(values) -> float:
        return float(np.sum(misfit(used, model.with_values(dict(zip(names, values, strict=True)))) ** 2))

    chosen = min(starts, key=start_cost)  # the template's values or the figures' reading, whichever fits better
    x0 = np.array([float(np.clip(float(v), p.lower, p.upper)) for v, p in zip(chosen, parameters, strict=True)])
    sample = min(r.sample_period() for r in used)
    # finite-difference steps no finer than the records' sample period: the responses are event-timed, so a
    # smaller step of a time parameter would often move no sample at all
    steps = np.array(
        [
            max(sample if p.is_time else 0.01 * max(abs(x), p.typical), 0.01 * abs(x))
            for p, x in zip(parameters, x0, strict=True)
        ]
    )
    diff_step = steps / np.maximum(1.0, np.abs(x0))
    progress(f"fit: {group.name} ({', '.join(names)}) on {', '.join(r.check for r in used)}")

    def residual(x: np.ndarray) -> np.ndarray:
        return misfit(used, model.with_values(dict(zip(names, map(float, x), strict=True))))

    result = least_squares(
        residual, x0, bounds=([p.lower for p in parameters], [p.upper for p in parameters]),
        diff_step=diff_step, x_scale=np.maximum(steps, 1e-3), max_nfev=60 * len(names),
    )  # fmt: skip
    x_best, f_best = _centred(residual, result.x, result.fun, parameters, sample)
    result.x, result.fun = x_best, f_best
    jac = _jacobian(residual, result.x, result.fun, steps, parameters)
    m, n = jac.shape
    dof = max(m - n, 1)
    s2 = float(np.sum(result.fun**2)) / dof
    cov = np.linalg.pinv(jac.T @ jac) * s2
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    correlation = cov / np.outer(sd, sd)
    values = {}
    for i, p in enumerate(parameters):
        delta = EXCITATION_STEP * max(abs(result.x[i]), p.typical)
        moved = float(np.linalg.norm(jac[:, i]) * delta / np.sqrt(m))
        if moved < EXCITATION_PU:
            estimates[p.name] = _not_excited(
                p.name, model, p.unit, f"moving it by {delta:.3g} {p.unit} moves {group.name}'s simulated "
                f"responses by {moved * 100:.3g} % of rated r.m.s.",
            )  # fmt: skip
            continue
        value = float(result.x[i])
        quantisation = sample / np.sqrt(12) if p.is_time else 0.0
        sigma = float(np.sqrt(max(cov[i, i], 0.0) + quantisation**2))
        values[p.name] = round(value, 4)
        tied = [parameters[j].name for j in range(n) if j != i and abs(correlation[i, j]) > 0.95]
        estimates[p.name] = Estimate(
            p.name, round(value, 4), p.unit, FITTED, sigma, [r.check for r in used],
            f"least squares over {m} samples, r.m.s. misfit {np.sqrt(np.mean(result.fun**2)) * 100:.3g} % of rated"
            + (f"; not separable from {', '.join(tied)} in this run (correlation > 0.95)" if tied else ""),
        )  # fmt: skip
    return model.with_values(values)
