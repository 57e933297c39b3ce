"""The container's PSU current spectrum and the supply impedance, from the harmonics check's stored captures.

Each capture (``raw/<check>-waveforms-<level>.npz``: the PCC's three voltages and currents) is transformed over
its whole cycles.  Per order h: the current's ratio to its fundamental, and its phase relative to h times the
voltage's fundamental phase (the convention of hilbench.emulation.psu_harmonics), averaged over the phases; the
fundamental's lag gives the displacement power factor.  The voltage harmonics are the currents' drop on the
source impedance, |V_h| = |I_h| |R + j h X|, a linear least-squares problem in R^2 and X^2 that fixes X well and R
poorly (h^2 X^2 dominates); R then comes from the fundamental's drop between captures at different loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_ORDER = 50
#: orders whose ratio stays below this at every load are left out of the twin (the emulator draws none)
NEGLIGIBLE_RATIO = 2e-4


@dataclass
class CaptureSpectrum:
    source: str
    load_fraction: float
    power_w: float
    ratios: np.ndarray  # (MAX_ORDER + 1,) mean over phases; [1] = 1
    ratio_spread: np.ndarray  # standard deviation over phases
    phases: np.ndarray  # rad, circular mean over phases
    displacement_pf: float
    v1: float  # r.m.s. fundamental voltage per phase (mean)
    i1: float
    z_h: np.ndarray  # |V_h| / |I_h| per order (nan where the current is negligible)


def capture_files(run_dir: Path, check: str) -> list[Path]:
    pattern = re.compile(rf"^{re.escape(check)}-waveforms-(\d+(?:\.\d+)?)\.npz$")
    return sorted(p for p in (run_dir / "raw").glob(f"{check}-waveforms-*.npz") if pattern.match(p.name))


def analyse_capture(path: Path, frequency_hz: float, rated_w: float) -> CaptureSpectrum:
    with np.load(path) as z:
        voltage, current, fs = np.asarray(z["voltage"], float), np.asarray(z["current"], float), float(z["fs"])
    cycles = int(voltage.shape[1] * frequency_hz / fs)
    n = int(round(cycles * fs / frequency_hz))
    if cycles < 10:
        raise ValueError(f"{path.name}: {cycles} cycles of {frequency_hz:g} Hz: too short for a spectrum")
    v_fft = np.fft.rfft(voltage[:, :n], axis=1) * np.sqrt(2) / n
    i_fft = np.fft.rfft(current[:, :n], axis=1) * np.sqrt(2) / n
    orders = np.arange(MAX_ORDER + 1)
    bins = orders * cycles
    v_h, i_h = v_fft[:, bins], i_fft[:, bins]
    ratios = np.abs(i_h) / np.abs(i_h[:, 1:2])
    v_phase1 = np.angle(v_h[:, 1]) + np.pi / 2
    relative = np.angle(i_h) + np.pi / 2 - orders[None, :] * v_phase1[:, None]
    phases = np.angle(np.mean(np.exp(1j * relative), axis=0)) % (2 * np.pi)
    lag = np.angle(v_h[:, 1]) - np.angle(i_h[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        z_h = np.where(np.abs(i_h) > 1e-6 * np.abs(i_h[:, 1:2]), np.abs(v_h) / np.abs(i_h), np.nan)
    drawn = np.isfinite(z_h).any(axis=0)
    z_mean = np.full(orders.size, np.nan)
    z_mean[drawn] = np.nanmean(z_h[:, drawn], axis=0)
    power = float(np.mean(voltage[:, :n] * current[:, :n], axis=1).sum())
    return CaptureSpectrum(
        source=f"raw/{path.name}",
        load_fraction=float(np.clip(power / rated_w, 0.0, 1.0)),
        power_w=power,
        ratios=ratios.mean(axis=0),
        ratio_spread=ratios.std(axis=0),
        phases=phases,
        displacement_pf=float(np.mean(np.cos(lag))),
        v1=float(np.mean(np.abs(v_h[:, 1]))),
        i1=float(np.mean(np.abs(i_h[:, 1]))),
        z_h=z_mean,
    )


@dataclass
class SpectrumFit:
    captures: list[CaptureSpectrum]
    psu_spectrum: dict  # the bench file's plant.psu_spectrum
    r_ohm: float
    x_ohm: float
    impedance_residual: float  # r.m.s. relative misfit of |Z_h| over the orders used
    source_voltage_v: float


def fit_spectrum(captures: list[CaptureSpectrum]) -> SpectrumFit:
    captures = sorted(captures, key=lambda c: c.load_fraction)
    keep = [h for h in range(2, MAX_ORDER + 1) if max(c.ratios[h] for c in captures) > NEGLIGIBLE_RATIO]
    phase_of = {}
    for h in keep:  # the phase at the highest load (the largest current, the cleanest angle)
        phase_of[h] = float(captures[-1].phases[h])
    spectrum = {
        "load_fractions": [round(c.load_fraction, 4) for c in captures],
        "displacement_pf": round(float(np.mean([c.displacement_pf for c in captures])), 5),
        "orders": {
            h: {"ratios": [round(float(c.ratios[h]), 6) for c in captures], "phase_rad": round(phase_of[h], 4)}
            for h in keep
        },
    }
    rows, rhs = [], []
    for c in captures:
        for h in keep:
            if np.isfinite(c.z_h[h]) and c.ratios[h] > 10 * NEGLIGIBLE_RATIO:
                rows.append([1.0, float(h * h)])
                rhs.append(float(c.z_h[h] ** 2))
    r_ohm = x_ohm = float("nan")
    residual = float("nan")
    if len(rows) >= 2:
        solution, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
        r2, x2 = (max(float(s), 0.0) for s in solution)
        r_ohm, x_ohm = float(np.sqrt(r2)), float(np.sqrt(x2))
        model = np.sqrt(np.array(rows) @ np.array([r2, x2]))
        residual = float(np.sqrt(np.mean((model / np.sqrt(rhs) - 1) ** 2)))
    pf = spectrum["displacement_pf"]
    sin_phi = float(np.sqrt(max(1.0 - pf * pf, 0.0)))
    source = float(captures[-1].v1)
    currents = np.array([c.i1 for c in captures])
    if np.isfinite(x_ohm) and np.ptp(currents) > 0.1 * np.max(currents):
        # the fundamental's drop between loads (the same source voltage at every capture) is R pf + X sin(phi):
        # what flicker depends on, far better conditioned for R than the harmonics' R^2 + h^2 X^2
        slope, source = np.polyfit(currents, [c.v1 for c in captures], 1)
        drop = -float(slope)
        r_ohm = max((drop - x_ohm * sin_phi) / pf, 0.0)
        source = float(source)
    elif np.isfinite(r_ohm):
        source = float(captures[-1].v1 + captures[-1].i1 * (r_ohm * pf + x_ohm * sin_phi))
    return SpectrumFit(captures, spectrum, r_ohm, x_ohm, residual, source)
