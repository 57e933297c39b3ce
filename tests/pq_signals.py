"""Test signals of IEC 61000-4-15 (fixtures/flicker_230V_50Hz.json signal_definition) and multi-tones."""

from __future__ import annotations

import numpy as np


def modulated(
    fs: float,
    seconds: float,
    f_mod: float,
    dv_percent: float,
    shape: str,
    *,
    u_rms: float = 230.0,
    f_line: float = 50.0,
    first_change_s: float = 2.0,
) -> np.ndarray:
    """u = sqrt2 U sin(2 pi f t) (1 + dV/2 m(t)); rectangular m starts low and first changes at first_change_s."""
    t = np.arange(int(round(seconds * fs))) / fs
    if shape == "sine":
        m = np.sin(2 * np.pi * f_mod * t)
    else:
        m = np.where(t < first_change_s, -1.0, np.sign(np.sin(2 * np.pi * f_mod * (t - first_change_s) + 1e-9)))
        m[m == 0] = 1.0
    return np.sqrt(2) * u_rms * np.sin(2 * np.pi * f_line * t) * (1 + dv_percent / 100 / 2 * m)


def tones(fs: float, seconds: float, components: list[tuple[float, float, float]]) -> np.ndarray:
    """Sum of sines given as (frequency Hz, r.m.s., phase rad)."""
    t = np.arange(int(round(seconds * fs))) / fs
    return sum(np.sqrt(2) * rms * np.sin(2 * np.pi * f * t + ph) for f, rms, ph in components)
