"""Input-current spectrum of the miners' power supplies, as a function of their loading.

Source and status: no APW12 / Whatsminer P-series harmonic data sheet exists in any source
we could read (docs/references/grid_response.md section 4: "Power factor and THD figures
... UNVERIFIED").  The two built-in spectra here are textbook shapes, marked ASSUMED:
  * ``active_pfc``: a boost-PFC server supply: current THD about 4 % at full load, rising
    towards light load (PFC control loses accuracy), 3rd harmonic dominant - the usual shape
    of 80 PLUS Platinum class supplies.
  * ``capacitor_input``: no PFC, single-phase diode bridge with a smoothing capacitor: the
    classic spectrum (3rd ~ 80 %, 5th ~ 55 %, 7th ~ 30 % ...) that IEC 61000-3-2 Class D exists for.
A third kind, ``fitted``, is a measured container's spectrum (``hilbench fit``): ratios per order at the load
fractions it was captured at (interpolated between them, held beyond), one phase per order, and the
displacement power factor, given in the bench file as ``plant.psu_spectrum``.
Ratios are of the fundamental current; phases are angles (rad) relative to h times the voltage's phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVE_PFC_FULL_LOAD = {3: 0.030, 5: 0.018, 7: 0.012, 9: 0.008, 11: 0.006, 13: 0.005, 15: 0.004}
CAPACITOR_INPUT = {3: 0.80, 5: 0.55, 7: 0.30, 9: 0.12, 11: 0.07, 13: 0.06, 15: 0.04, 17: 0.03, 19: 0.02}
PHASES = {h: (0.9 * h) % (2 * np.pi) for h in range(2, 51)}
DISPLACEMENT_POWER_FACTOR = {"active_pfc": 0.995, "capacitor_input": 0.98}
KINDS = ("active_pfc", "capacitor_input", "fitted")


class SpectrumError(ValueError):
    """A PSU kind or a fitted spectrum the plant cannot use."""


def spectrum(kind: str, load_fraction: float) -> dict[int, float]:
    """Harmonic current ratios (of the fundamental) at this average PSU loading (0..1)."""
    if kind == "active_pfc":
        x = float(np.clip(load_fraction, 0.05, 1.0))
        scale = 1.0 + 3.0 * (1.0 - x) ** 2  # light load: PFC less effective
        return {h: r * scale for h, r in ACTIVE_PFC_FULL_LOAD.items()}
    if kind == "capacitor_input":
        return dict(CAPACITOR_INPUT)
    raise SpectrumError(f"unknown PSU kind {kind!r}; known: {', '.join(KINDS)}")


def current_thd(kind: str, load_fraction):
    """THD of the PSU input current (ratio of the fundamental) at this loading; a float or an array of them.
    The same figures as ``spectrum``: the r.s.s. of its ratios."""
    if kind == "active_pfc":
        base = float(np.sqrt(sum(r**2 for r in ACTIVE_PFC_FULL_LOAD.values())))
        x = np.clip(load_fraction, 0.05, 1.0)
        return base * (1.0 + 3.0 * (1.0 - x) ** 2)
    if kind == "capacitor_input":
        return float(np.sqrt(sum(r**2 for r in CAPACITOR_INPUT.values()))) + 0.0 * np.asarray(load_fraction)
    raise SpectrumError(f"unknown PSU kind {kind!r}; known: {', '.join(KINDS)}")


@dataclass(frozen=True)
class PsuSpectrum:
    """What the plant needs of its PSUs: ratios and THD at a loading, a phase per order, the displacement PF."""

    kind: str
    phases: dict[int, float]
    displacement_pf: float
    load_fractions: tuple[float, ...] = ()  # fitted only: where the ratios were captured
    table: dict[int, tuple[float, ...]] | None = None  # fitted only: order -> ratio at each load fraction

    def ratios(self, load_fraction: float) -> dict[int, float]:
        if self.table is None:
            return spectrum(self.kind, load_fraction)
        x = float(load_fraction)
        return {h: float(np.interp(x, self.load_fractions, values)) for h, values in self.table.items()}

    def thd(self, load_fraction):
        if self.table is None:
            return current_thd(self.kind, load_fraction)
        x = np.asarray(load_fraction, dtype=float)
        total = sum(np.interp(x, self.load_fractions, values) ** 2 for values in self.table.values())
        result = np.sqrt(total)
        return float(result) if result.ndim == 0 else result


def psu_spectrum(kind: str, fitted: dict | None = None) -> PsuSpectrum:
    """The spectrum of a PSU kind; ``fitted`` is the bench file's ``plant.psu_spectrum`` for kind ``fitted``:
    ``{load_fractions: [...], displacement_pf: x, orders: {h: {ratios: [...], phase_rad: p}}}``."""
    if kind in DISPLACEMENT_POWER_FACTOR:
        if fitted:
            raise SpectrumError(f"plant.psu_spectrum is only for psu_kind: fitted, not {kind!r}")
        return PsuSpectrum(kind, PHASES, DISPLACEMENT_POWER_FACTOR[kind])
    if kind != "fitted":
        raise SpectrumError(f"unknown PSU kind {kind!r}; known: {', '.join(KINDS)}")
    if not isinstance(fitted, dict):
        raise SpectrumError("psu_kind fitted needs plant.psu_spectrum (load_fractions, displacement_pf, orders)")
    try:
        loads = tuple(float(x) for x in fitted["load_fractions"])
        pf = float(fitted["displacement_pf"])
        orders = {int(h): v for h, v in fitted["orders"].items()}
        table = {h: tuple(float(r) for r in v["ratios"]) for h, v in orders.items()}
        phases = {h: float(v["phase_rad"]) for h, v in orders.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpectrumError(f"plant.psu_spectrum: {exc!r} (needs load_fractions, displacement_pf, orders)") from None
    if not loads or list(loads) != sorted(loads) or any(len(v) != len(loads) for v in table.values()):
        raise SpectrumError("plant.psu_spectrum: load_fractions ascending, one ratio per load fraction and order")
    if not 0 < pf <= 1 or any(h < 2 for h in table) or any(r < 0 for v in table.values() for r in v):
        raise SpectrumError("plant.psu_spectrum: displacement_pf in (0, 1], orders from 2, ratios >= 0")
    return PsuSpectrum("fitted", phases, pf, loads, table)
