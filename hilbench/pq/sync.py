"""Fundamental tracking: sub-sample zero crossings of the fundamental of a reference channel.

The reference is box-car decimated to ~1-2 kHz and band-passed around the nominal
frequency with a zero-phase filter, so harmonics and noise do not create false
crossings and the crossing times are not delayed.  Crossing times are then interpolated
linearly between the decimated samples and mapped back to input-sample positions.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

#: Crossings dropped at each end of the record: the zero-phase filter's edges still bend them slightly.
EDGE_CROSSINGS = 2


def upward_crossings(x: np.ndarray, fs: float, f_nominal: float) -> np.ndarray:
    """Positions (in input samples, fractional) of upward zero crossings of the fundamental."""
    return zero_crossings(x, fs, f_nominal, upward_only=True)


def zero_crossings(x: np.ndarray, fs: float, f_nominal: float, *, upward_only: bool = False) -> np.ndarray:
    """Positions (in input samples, fractional) of the fundamental's zero crossings, ascending."""
    m = max(1, int(fs // 1000))
    fs_d = fs / m
    usable = (len(x) // m) * m
    y = x[:usable].reshape(-1, m).mean(axis=1) if m > 1 else x.copy()
    y = y - y.mean()
    sos = signal.butter(2, [0.6 * f_nominal, 1.5 * f_nominal], "bandpass", fs=fs_d, output="sos")
    y = signal.sosfiltfilt(sos, y)  # zero phase; coarse positions only, refined on the raw samples below
    if upward_only:
        idx = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    else:
        idx = np.flatnonzero(((y[:-1] < 0) & (y[1:] >= 0)) | ((y[:-1] >= 0) & (y[1:] < 0)))
    frac = y[idx] / (y[idx] - y[idx + 1])
    # decimated sample j covers input samples [j*m, (j+1)*m): its centre is j*m + (m-1)/2
    positions = (idx + frac) * m + (m - 1) / 2.0
    positions = positions[EDGE_CROSSINGS : len(positions) - EDGE_CROSSINGS]
    return _refine(x - x.mean(), positions, max(2, m))


def _refine(x: np.ndarray, coarse: np.ndarray, reach: int) -> np.ndarray:
    """Move each coarse crossing to the raw signal's own sign change nearest to it (linear interpolation).

    Where the raw signal has no single clean sign change within +-reach samples (noise, harmonics
    near the crossing), the coarse (filtered) position is kept.
    """
    centre = np.round(coarse).astype(np.int64)
    offsets = np.arange(-reach, reach)
    index = np.clip(centre[:, None] + offsets, 0, len(x) - 2)
    a, b = x[index], x[index + 1]
    change = (a < 0) != (b < 0)
    clean = change.sum(axis=1) == 1
    first = np.argmax(change, axis=1)
    rows = np.arange(len(coarse))
    ia = index[rows, first]
    va, vb = x[ia], x[ia + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = ia + va / (va - vb)
    return np.where(clean & np.isfinite(exact), exact, coarse)


def fundamental_amplitude_ratio(x: np.ndarray, fs: float, f_nominal: float) -> float:
    """Share of the signal's AC r.m.s. that sits near the nominal frequency (0..1)."""
    seg = x[: int(min(len(x), 2 * fs))]
    seg = seg - seg.mean()
    total = float(np.sqrt(np.mean(seg**2)))
    if total == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(len(seg), 1 / fs)
    band = (freqs > 0.8 * f_nominal) & (freqs < 1.2 * f_nominal)
    return float(np.sqrt(spectrum[band].sum() / spectrum[1:].sum()))
