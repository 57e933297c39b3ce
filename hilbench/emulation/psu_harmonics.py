"""Input-current spectrum of the miners' power supplies, as a function of their loading.

Source and status: no APW12 / Whatsminer P-series harmonic data sheet exists in any source
we could read (docs/references/grid_response.md section 4: "Power factor and THD figures
... UNVERIFIED").  The two spectra here are textbook shapes, marked ASSUMED:
  * ``active_pfc``: a boost-PFC server supply: current THD about 4 % at full load, rising
    towards light load (PFC control loses accuracy), 3rd harmonic dominant - the usual shape
    of 80 PLUS Platinum class supplies.
  * ``capacitor_input``: no PFC, single-phase diode bridge with a smoothing capacitor: the
    classic spectrum (3rd ~ 80 %, 5th ~ 55 %, 7th ~ 30 % ...) that IEC 61000-3-2 Class D exists for.
Ratios are of the fundamental current; phases are fixed angles (rad) relative to the voltage.
"""

from __future__ import annotations

import numpy as np

ACTIVE_PFC_FULL_LOAD = {3: 0.030, 5: 0.018, 7: 0.012, 9: 0.008, 11: 0.006, 13: 0.005, 15: 0.004}
CAPACITOR_INPUT = {3: 0.80, 5: 0.55, 7: 0.30, 9: 0.12, 11: 0.07, 13: 0.06, 15: 0.04, 17: 0.03, 19: 0.02}
PHASES = {h: (0.9 * h) % (2 * np.pi) for h in range(2, 51)}
DISPLACEMENT_POWER_FACTOR = {"active_pfc": 0.995, "capacitor_input": 0.98}


def spectrum(kind: str, load_fraction: float) -> dict[int, float]:
    """Harmonic current ratios (of the fundamental) at this average PSU loading (0..1)."""
    if kind == "active_pfc":
        x = float(np.clip(load_fraction, 0.05, 1.0))
        scale = 1.0 + 3.0 * (1.0 - x) ** 2  # light load: PFC less effective
        return {h: r * scale for h, r in ACTIVE_PFC_FULL_LOAD.items()}
    if kind == "capacitor_input":
        return dict(CAPACITOR_INPUT)
    raise ValueError(f"unknown PSU kind {kind!r}; known: active_pfc, capacitor_input")


def current_thd(kind: str, load_fraction):
    """THD of the PSU input current (ratio of the fundamental) at this loading; a float or an array of them.
    The same figures as ``spectrum``: the r.s.s. of its ratios."""
    if kind == "active_pfc":
        base = float(np.sqrt(sum(r**2 for r in ACTIVE_PFC_FULL_LOAD.values())))
        x = np.clip(load_fraction, 0.05, 1.0)
        return base * (1.0 + 3.0 * (1.0 - x) ** 2)
    if kind == "capacitor_input":
        return float(np.sqrt(sum(r**2 for r in CAPACITOR_INPUT.values()))) + 0.0 * np.asarray(load_fraction)
    raise ValueError(f"unknown PSU kind {kind!r}; known: active_pfc, capacitor_input")
