"""Input checks shared by the analysis functions: clear ValueErrors, never a silent NaN."""

from __future__ import annotations

import numpy as np


def as_record(x, name: str, *, min_samples: int, allow_channels: bool = False) -> np.ndarray:
    """A finite float64 array, 1-D (or 2-D channels x samples if allowed), long enough."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot read samples as numbers: {exc}") from None
    if arr.ndim == 2 and not allow_channels:
        if 1 in arr.shape:
            arr = arr.reshape(-1)
        else:
            raise ValueError(f"{name}: expected one channel (1-D samples), got shape {arr.shape}")
    if arr.ndim not in ((1, 2) if allow_channels else (1,)):
        raise ValueError(
            f"{name}: expected 1-D samples{' or 2-D (channels, samples)' if allow_channels else ''}, "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr.sum()):  # cheap test first: any NaN/inf makes the sum non-finite (or overflows)
        bad = ~np.isfinite(arr)
        if bad.any():
            first = np.argwhere(bad)[0]
            where = f"sample {first[-1]}" + (f" of channel {first[0]}" if arr.ndim == 2 else "")
            raise ValueError(f"{name}: {int(bad.sum())} non-finite sample(s), first at {where}")
        raise ValueError(f"{name}: samples too large to process (their sum overflows)")
    if arr.shape[-1] < min_samples:
        raise ValueError(f"{name}: record has {arr.shape[-1]} samples, needs at least {min_samples}")
    return arr


def check_fs(fs: float, minimum: float, what: str) -> float:
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: sample rate must be a number, got {fs!r}") from None
    if not np.isfinite(fs) or fs < minimum:
        raise ValueError(f"{what}: sample rate {fs} Hz is below the minimum of {minimum:g} Hz")
    return fs


def check_f_nominal(f_nominal: float) -> float:
    if f_nominal not in (50.0, 60.0, 50, 60):
        raise ValueError(f"nominal frequency must be 50 or 60 Hz, got {f_nominal!r}")
    return float(f_nominal)
