"""Fundamental tracking: sub-sample zero crossings of the fundamental of a reference channel.

The reference is box-car decimated to ~1-2 kHz and band-passed around the nominal
frequency with a zero-phase filter, so harmonics and noise do not create false
crossings and the crossing times are not delayed.  Crossing times are then interpolated
linearly between the decimated samples and mapped back to input-sample positions.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def upward_crossings(x: np.ndarray, fs: float, f_nominal: float) -> np.ndarray:
    """Positions (in input samples, fractional) of upward zero crossings of the fundamental."""
    m = max(1, int(fs // 1000))
    fs_d = fs / m
    usable = (len(x) // m) * m
    y = x[:usable].reshape(-1, m).mean(axis=1) if m > 1 else x.copy()
    y = y - y.mean()
    sos = signal.butter(2, [0.6 * f_nominal, 1.5 * f_nominal], "bandpass", fs=fs_d, output="sos")
    pad = min(len(y) - 1, int(3 * fs_d / f_nominal) * 4)
    y = signal.sosfiltfilt(sos, y, padlen=pad)
    idx = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    frac = y[idx] / (y[idx] - y[idx + 1])
    # decimated sample j covers input samples [j*m, (j+1)*m): its centre is j*m + (m-1)/2
    return (idx + frac) * m + (m - 1) / 2.0


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
