"""Judging a simulated response against a measured one by the IEC 61400-27-2 method, as RTE's DyCoV applies it.

The stages, in the order that matters (docs/references/model_validation.md):

1. three-phase waveforms to positive-sequence r.m.s.: per phase a one-cycle sliding DFT at the nominal
   fundamental (no frequency tracking), symmetrical components, magnitude / sqrt(2) (``positive_sequence_rms``);
2. each set resampled to its own fixed step by monotone PCHIP (no overshoot at steps) (``resample``);
3. the simulated set shifted so its event starts when the measured one does (``align``);
4. windows: pre (1 s before the event), during (event + exclusion to clearing), post (clearing + exclusion to
   the end), each trimmed by the filter's edge allowance (``windows``);
5. per window a second-order critically damped low-pass at 15 Hz, zero-phase (forward-backward), on both sets
   alike; a flat window (peak-to-peak < 1e-4) is not filtered (``critically_damped_lowpass``);
6. both on one common grid of 2 ms (which must be finer than 1 / (2 x cut-off));
7. per window MXE = max |sim - meas|, ME = |mean(sim - meas)|, MAE = mean |sim - meas| in per unit of the
   rating (``window_errors``), judged against tolerances kept as data with their source
   (``data/model_validation_tolerances.json``, ``tolerances``).

Step-response figures (reaction, rise, settling, overshoot) and their relative errors complete the method
(``step_figures``, ``step_figure_errors``).  This module is the method only; the ``validate_model`` check and
``hilbench validate-model`` apply it to a run's events (hilbench.plans.model_check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from scipy import signal
from scipy.interpolate import PchipInterpolator

CUTOFF_HZ = 15.0  # IEC 61400-27-2: second-order critically damped low-pass
COMMON_STEP_S = 0.002  # DyCoV: the common grid (must satisfy step < 1 / (2 x cut-off))
FLAT_PEAK_TO_PEAK = 1e-4  # DyCoV: a window flatter than this is not filtered
FILTER_EDGE_S = 0.020  # DyCoV: trimmed at each filtered window's ends
PRE_WINDOW_S = 1.0  # DyCoV: the pre-event window ends at the event, 1 s long


@dataclass(frozen=True)
class Window:
    name: str  # "pre", "during", "post"
    start_s: float
    end_s: float


@dataclass(frozen=True)
class WindowErrors:
    window: str
    mxe: float
    me: float
    mae: float


def positive_sequence_rms(samples: np.ndarray, fs: float, f_nominal: float) -> np.ndarray:
    """(3, n) phase samples -> the positive-sequence r.m.s. per sample (the first cycle repeats the first whole
    cycle's value): a one-cycle sliding DFT at ``f_nominal`` per phase, then V1 = (Va + a Vb + a^2 Vc) / 3."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[0] != 3:
        raise ValueError(f"expected three phases as a (3, n) array, got shape {samples.shape}")
    period = fs / f_nominal
    cycle = round(period)
    if abs(period - cycle) > 1e-6 or cycle < 4:
        raise ValueError(f"{fs:g} S/s holds {period:g} samples per {f_nominal:g} Hz cycle: a whole number >= 4 needed")
    if samples.shape[1] < cycle:
        raise ValueError(f"{samples.shape[1]} samples: at least one cycle ({cycle}) needed")
    n = np.arange(samples.shape[1])
    rotated = samples * np.exp(-2j * np.pi * n / cycle)  # each phase's fundamental brought to DC
    kernel = np.ones(cycle) / cycle
    phasors = np.array([np.convolve(row, kernel, mode="valid") for row in rotated]) * 2  # peak phasor per window
    phasors *= np.exp(2j * np.pi * (np.arange(phasors.shape[1]) + cycle - 1) / cycle)  # the window's end as time
    a = np.exp(2j * np.pi / 3)
    positive = np.abs(phasors[0] + a * phasors[1] + a * a * phasors[2]) / 3 / np.sqrt(2)
    return np.concatenate([np.full(cycle - 1, positive[0]), positive])


def resample(time_s: np.ndarray, values: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Monotone PCHIP onto a fixed grid from the first to the last time (no overshoot at a step)."""
    time_s, values = np.asarray(time_s, dtype=float), np.asarray(values, dtype=float)
    if time_s.ndim != 1 or time_s.shape != values.shape or len(time_s) < 2 or np.any(np.diff(time_s) <= 0):
        raise ValueError("times must be increasing, one per value, at least two")
    grid = np.arange(time_s[0], time_s[-1] + step_s / 2, step_s)
    return grid, PchipInterpolator(time_s, values)(grid)


def align(sim_time_s: np.ndarray, sim_event_s: float, measured_event_s: float) -> np.ndarray:
    """The simulated times shifted so its event starts when the measured one does."""
    return np.asarray(sim_time_s, dtype=float) + (measured_event_s - sim_event_s)


def windows(event_s: float, clearing_s: float, end_s: float, *, insertion_exclusion_s: float,
            clearing_exclusion_s: float, pre_s: float = PRE_WINDOW_S) -> list[Window]:  # fmt: skip
    """Pre, during and post windows, each shortened by the filter's edge allowance at both ends; ``pre_s`` shorter
    than the method's 1 s only where the record starts later (the caller says so)."""
    if not event_s < clearing_s <= end_s:
        raise ValueError(f"event {event_s:g} s, clearing {clearing_s:g} s, end {end_s:g} s: must be in that order")
    spans = [
        Window("pre", event_s - pre_s, event_s),
        Window("during", event_s + insertion_exclusion_s, clearing_s),
        Window("post", clearing_s + clearing_exclusion_s, end_s),
    ]
    return [Window(w.name, w.start_s + FILTER_EDGE_S, w.end_s - FILTER_EDGE_S) for w in spans]


def critically_damped_lowpass(
    values: np.ndarray, step_s: float, cutoff_hz: float = CUTOFF_HZ, *, normalized: bool = False
) -> np.ndarray:
    """Second-order critically damped low-pass, H(s) = 1 / (1 + s tau)^2, bilinear (at 2 ms, 15 Hz warps by 0.4 %), run
    forward and backward (zero phase); a flat signal comes back unfiltered.  The double pole sits at the cut-off
    (tau = 1 / (2 pi f_c)), as a public implementation of the IEC filter does; ``normalized`` puts the -3 dB point
    at the cut-off instead (Modelica's CriticalDamping default).  Which reading IEC 61400-27-2 intends was not read
    in the standard: UNVERIFIED."""
    values = np.asarray(values, dtype=float)
    if np.ptp(values) < FLAT_PEAK_TO_PEAK:
        return values.copy()
    if not step_s < 1 / (2 * cutoff_hz):
        raise ValueError(f"a {step_s:g} s step cannot carry a {cutoff_hz:g} Hz filter")
    corner = cutoff_hz / (np.sqrt(np.sqrt(2) - 1) if normalized else 1.0)  # |H| = 1/sqrt(2) at f_c when normalized
    tau = 1 / (2 * np.pi * corner)
    b, a = signal.bilinear([1.0], [tau * tau, 2 * tau, 1.0], fs=1 / step_s)
    return signal.filtfilt(b, a, values, padtype="constant", padlen=min(len(values) - 1, 3 * round(tau / step_s) + 3))


def window_errors(
    time_s: np.ndarray, measured: np.ndarray, simulated: np.ndarray, window: Window, base: float
) -> WindowErrors:
    """MXE, ME, MAE over one window of two signals already on one grid, in per unit of ``base``."""
    inside = (time_s >= window.start_s) & (time_s <= window.end_s)
    if inside.sum() < 2:
        raise ValueError(f"window {window.name} ({window.start_s:g}-{window.end_s:g} s) holds no samples")
    step = float(time_s[1] - time_s[0])
    meas = critically_damped_lowpass(measured[inside], step)
    sim = critically_damped_lowpass(simulated[inside], step)
    diff = (sim - meas) / base
    return WindowErrors(
        window.name, float(np.max(np.abs(diff))), float(abs(np.mean(diff))), float(np.mean(np.abs(diff)))
    )


@cache
def _tolerance_data() -> dict:
    text = resources.files("hilbench.pq").joinpath("data", "model_validation_tolerances.json").read_text("utf-8")
    return json.loads(text)


def tolerances(reference: str, window: str) -> dict[str, float]:
    """{'mxe', 'me', 'mae'} in per unit for a 'field_test' or 'simulation' reference and a window."""
    data = _tolerance_data()["references"]
    if reference not in data:
        raise ValueError(f"reference {reference!r}: one of {', '.join(data)}")
    kind = "during" if window == "during" else "before_after"
    return dict(data[reference][kind])


@dataclass(frozen=True)
class StepFigures:
    """A step response's figures (s, s, s, % of the step); None where the response never got there."""

    reaction_s: float | None
    rise_s: float | None
    settling_s: float | None
    overshoot_percent: float


def step_figures(
    time_s: np.ndarray, values: np.ndarray, step_at_s: float, *, band: float = 0.05, final_s: float = 1.0
) -> StepFigures:
    """Reaction (step to 10 % of the change), rise (10 % to 90 %), settling (step to entering, for good, a band of
    ``band`` x the change around the final value; ASSUMED 5 %: the method names the figure, not the band) and
    overshoot (beyond the final value, % of the change).  Initial value: the mean before the step; final value: the
    mean of the last ``final_s``."""
    time_s, values = np.asarray(time_s, dtype=float), np.asarray(values, dtype=float)
    before, last = time_s < step_at_s, time_s >= time_s[-1] - final_s
    if not before.any() or not (time_s >= step_at_s).any():
        raise ValueError(f"the step at {step_at_s:g} s must lie inside the record ({time_s[0]:g}-{time_s[-1]:g} s)")
    initial, final = float(np.mean(values[before])), float(np.mean(values[last]))
    change = final - initial
    if abs(change) < FLAT_PEAK_TO_PEAK:
        raise ValueError("the response does not change: no step to judge")
    after = time_s >= step_at_s
    t, progress = time_s[after], (values[after] - initial) / change  # 0 before, 1 at the final value

    def first(mask: np.ndarray) -> float | None:
        hits = np.flatnonzero(mask)
        return float(t[hits[0]]) if hits.size else None

    t10, t90 = first(progress >= 0.1), first(progress >= 0.9)
    outside = np.flatnonzero(np.abs(progress - 1.0) > band)
    settled = float(t[outside[-1] + 1]) if outside.size and outside[-1] + 1 < len(t) else None
    if not outside.size:
        settled = float(t[0])
    return StepFigures(
        None if t10 is None else t10 - step_at_s,
        None if t10 is None or t90 is None else t90 - t10,
        None if settled is None else settled - step_at_s,
        max(0.0, float(np.max(progress)) - 1.0) * 100.0,
    )


def step_figure_errors(measured: StepFigures, simulated: StepFigures) -> dict[str, float | None]:
    """Relative error of each of the model's figures against the measured one (overshoot: in points of the step
    where the measured overshoot is under 1 %, a relative error of a near-zero figure means nothing)."""
    errors: dict[str, float | None] = {}
    for name in ("reaction_s", "rise_s", "settling_s"):
        meas, sim = getattr(measured, name), getattr(simulated, name)
        errors[name] = None if meas is None or sim is None or meas == 0 else abs(sim - meas) / abs(meas)
    meas_o, sim_o = measured.overshoot_percent, simulated.overshoot_percent
    errors["overshoot_percent"] = abs(sim_o - meas_o) / 100 if meas_o < 1.0 else abs(sim_o - meas_o) / meas_o
    return errors


def step_tolerances() -> dict[str, float]:
    """Relative tolerances of the step figures (reaction, rise, settling 10 %, overshoot 15 %)."""
    return dict(_tolerance_data()["step_response_relative"])


#: a pre-event window shorter than this is not judged (a record that starts at the event has none)
MIN_PRE_WINDOW_S = 0.1


@dataclass(frozen=True)
class WindowVerdict:
    errors: WindowErrors
    limits: dict[str, float]  # {'mxe', 'me', 'mae'} in per unit
    passed: bool
    window: Window | None = None
    note: str = ""  # e.g. a pre window shorter than the method's 1 s


def validate(
    measured: tuple[np.ndarray, np.ndarray],
    simulated: tuple[np.ndarray, np.ndarray],
    *,
    event_s: float,
    clearing_s: float,
    simulated_event_s: float,
    base: float,
    reference: str = "field_test",
    insertion_exclusion_s: float = 0.020,
    clearing_exclusion_s: float = 0.060,
    tolerance_override: dict[str, dict[str, float]] | None = None,
) -> list[WindowVerdict]:
    """Stages 2-7 for one event of r.m.s. signals (time, value): each resampled by PCHIP at its own step, the model
    aligned to the measured event, both on the 2 ms common grid, each window's MXE/ME/MAE judged against
    ``reference``'s tolerances or ``tolerance_override`` ({window: {mxe, me, mae}}; the window passes when all three
    are within).  A window too short to judge (a record starting under 0.1 s before the event) is left out.
    Exclusions default to RTE's (20 ms after insertion, 60 ms after clearing; IEC allows up to 140 / 500 ms)."""
    (mt, my), (st, sy) = measured, simulated
    st = align(st, simulated_event_s, event_s)
    start, end = max(float(mt[0]), float(st[0])), min(float(mt[-1]), float(st[-1]))
    if not start < event_s or not clearing_s < end:
        raise ValueError(
            f"the signals overlap over {start:g}-{end:g} s: they must begin before the event ({event_s:g} s) "
            f"and reach beyond the clearing ({clearing_s:g} s)"
        )
    pre_s = min(PRE_WINDOW_S, event_s - start)
    note = "" if pre_s >= PRE_WINDOW_S - 1e-9 else f"pre window {pre_s:.3g} s: the record starts {pre_s:.3g} s before"
    grid = np.arange(start, end, COMMON_STEP_S)
    on_grid = [  # stage 2 (each at its own step: its smallest native one, at most 1 ms), then stage 6
        PchipInterpolator(*resample(t, y, min(float(np.min(np.diff(t))), 0.001)))(grid) for t, y in ((mt, my), (st, sy))
    ]
    verdicts = []
    for window in windows(event_s, clearing_s, end, insertion_exclusion_s=insertion_exclusion_s,
                          clearing_exclusion_s=clearing_exclusion_s, pre_s=pre_s):  # fmt: skip
        limits = (tolerance_override or {}).get(window.name) or tolerances(reference, window.name)
        if window.name == "pre" and pre_s < MIN_PRE_WINDOW_S:
            continue  # too short to judge: the caller reports the window as not judged
        if window.end_s - window.start_s < 2 * COMMON_STEP_S:
            continue
        errors = window_errors(grid, on_grid[0], on_grid[1], window, base)
        passed = errors.mxe <= limits["mxe"] and errors.me <= limits["me"] and errors.mae <= limits["mae"]
        verdicts.append(WindowVerdict(errors, limits, passed, window, note if window.name == "pre" else ""))
    return verdicts
