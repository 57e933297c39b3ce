"""``hilbench fit RUN_DIR``: the emulated container that reproduces a stored run.

Three kinds of estimate (hilbench.twin.estimates):
- measured: read off steady stretches of the records (auxiliary power, power per board, board count from the
  graceful stop's boards-online count, the PSU spectrum and the supply impedance from the harmonic captures);
- fitted: the time constants, by simulating each stored response on the emulator's own plant with the same
  commands and minimising the difference sample by sample (scipy.optimize.least_squares), one group of
  parameters per kind of response, each group starting from the values the earlier groups found;
- selected: a discrete option (does the controller honour the ramp limit?) chosen by which simulation matches.
A parameter the run did not excite (its group has no response, or moving it changes no simulated sample) keeps
the template's value and says so; droop and ride-through parameters are not fitted by this version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from hilbench.report.records import Run, read_run
from hilbench.twin.estimates import DECLARED, FITTED, MEASURED, NOT_EXCITED, NOT_FITTED, SELECTED, Estimate
from hilbench.twin.model import ContainerModel
from hilbench.twin.procedures import ProcedureError, StoredResponse, simulate, stored_responses
from hilbench.twin.spectrum_fit import SpectrumFit, analyse_capture, capture_files, fit_spectrum

#: a parameter is excited when moving it by this fraction moves the simulated responses by more than
#: EXCITATION_PU of the rated power, r.m.s. over the group's samples
EXCITATION_STEP = 0.2
EXCITATION_PU = 1e-3


@dataclass(frozen=True)
class Parameter:
    name: str
    unit: str
    lower: float
    upper: float
    typical: float  # a plausible size (sets the excitation test's step for a parameter near zero)
    is_time: bool = True


@dataclass(frozen=True)
class Group:
    name: str
    kinds: tuple[str, ...]
    parameters: tuple[Parameter, ...]


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
        ("step", "ramp"),
        (
            Parameter("curtail_latency_s", "s", 0.0, 60.0, 1.0),
            Parameter("wake_delay_s", "s", 0.0, 120.0, 2.0),
            Parameter("setpoint_poll_s", "s", 0.0, 60.0, 1.0),
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
NOT_FITTED_BY_CHECK = {
    "frequency_response": ("droop_volume_kw", "droop_deadband_hz", "droop_knee_hz", "droop_delay_s"),
    "ride_through": ("psu_holdup_s", "psu_uvlo_pu", "restart_stagger_s"),
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
    model = _ramp_limit_honoured(responses, model, estimates, progress)
    for group in GROUPS:
        model = _fit_group(group, responses, model, estimates, progress)
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
    if graceful:
        values["boards"] = max(int(r.extra["boards_online_before"]) for r in graceful)
        estimates["boards"] = Estimate("boards", values["boards"], "", MEASURED, 0.0, [r.check for r in graceful],
                                       "the controller's boards-online count before the graceful stop")  # fmt: skip
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


def _residual(responses: list[StoredResponse], model: ContainerModel) -> np.ndarray:
    return np.concatenate([(simulate(r, model) - r.p_total) / r.rated_w for r in responses])


def _ramp_limit_honoured(responses, model: ContainerModel, estimates, progress) -> ContainerModel:
    """Selected by simulation: the option whose ramp and step responses match the records better."""
    used = [r for r in responses if r.kind in ("ramp", "step")]
    if not used:
        estimates["honours_ramp_limit"] = _not_excited("honours_ramp_limit", model, "", "no ramp or step in the run")
        return model
    costs = {}
    for option in (True, False):
        costs[option] = float(np.sum(_residual(used, model.with_values({"honours_ramp_limit": option})) ** 2))
    best = min(costs, key=costs.get)
    if abs(costs[True] - costs[False]) <= 0.01 * max(costs.values()):
        estimates["honours_ramp_limit"] = _not_excited(
            "honours_ramp_limit", model, "", "both options simulate the responses alike"
        )
        return model
    progress(f"fit: honours_ramp_limit = {best} (misfit {costs[best]:.3g} against {costs[not best]:.3g})")
    estimates["honours_ramp_limit"] = Estimate(
        "honours_ramp_limit", best, "", SELECTED, None, [r.check for r in used],
        f"sum of squared misfit (pu^2) {costs[best]:.3g} against {costs[not best]:.3g} for the other option",
    )  # fmt: skip
    return model.with_values({"honours_ramp_limit": best})


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
    x0 = np.array([float(np.clip(float(model.value(p.name)), p.lower, p.upper)) for p in parameters])
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
        return _residual(used, model.with_values(dict(zip(names, map(float, x), strict=True))))

    result = least_squares(
        residual, x0, bounds=([p.lower for p in parameters], [p.upper for p in parameters]),
        diff_step=diff_step, x_scale=np.maximum(steps, 1e-3), max_nfev=60 * len(names),
    )  # fmt: skip
    jac = _jacobian(residual, result.x, result.fun, steps, parameters)
    m, n = jac.shape
    dof = max(m - n, 1)
    s2 = float(np.sum(result.fun**2)) / dof
    cov = np.linalg.pinv(jac.T @ jac) * s2
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
        estimates[p.name] = Estimate(
            p.name, round(value, 4), p.unit, FITTED, sigma, [r.check for r in used],
            f"least squares over {m} samples, r.m.s. misfit {np.sqrt(np.mean(result.fun**2)) * 100:.3g} % of rated",
        )  # fmt: skip
    return model.with_values(values)
