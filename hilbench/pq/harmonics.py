"""IEC 61000-4-7 harmonics and interharmonics, vectorised over windows and channels.

Windows are 10 cycles (50 Hz) or 12 cycles (60 Hz), rectangular and gapless, each
starting on an upward zero crossing of the fundamental of the reference channel and
holding round(N * fs / f1) samples, f1 being that window's measured fundamental (so the
window is synchronised to the signal even off nominal frequency; the residual
synchronisation error is below half a sample).  Windows of equal length go through one
batched real FFT; bin k is then the k-th multiple of f1/N.

Per window and order h (arrays indexed by order, shape (windows, max_order + 1), with a
leading channel axis for 2-D input), following pq_reference.md section 2:
  group        G_g,h^2  = 1/2 C_{k-N/2}^2 + sum_{|i|<N/2} C_{k+i}^2 + 1/2 C_{k+N/2}^2   (k = N h)
  subgroup     G_sg,h^2 = sum_{|i|<=1} C_{k+i}^2
  interharmonic group (between h and h+1)      sum_{i=1..N-1} C_{k+i}^2
  interharmonic centred subgroup               sum_{i=2..N-2} C_{k+i}^2
Index 0 holds the d.c. value for groups/subgroups and the 0..f1 band for interharmonics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft

from hilbench.pq._validate import as_record, check_f_nominal, check_fs
from hilbench.pq.sync import fundamental_amplitude_ratio, upward_crossings

CYCLES_PER_WINDOW = {50.0: 10, 60.0: 12}
SMOOTHING_TIME_CONSTANT_S = 1.5
WINDOW_S = 0.2
THD_MAX_ORDER = 40  # IEC 61000-4-7 / 61000-3-2 (IEEE 519 uses 50: see tdd())
PWHD_ORDERS = (14, 40)
TDD_MAX_ORDER = 50
MIN_FUNDAMENTAL_SHARE = 0.1
BLOCK_WINDOWS = 5  # synchronisation loop: one frequency estimate per second
CHUNK_WINDOWS = 400  # windows per FFT batch (x channels)


@dataclass
class HarmonicsResult:
    """Per-window IEC 61000-4-7 quantities; arrays indexed [..., window, order]."""

    f_nominal: float
    cycles_per_window: int
    window_start_s: np.ndarray  # (windows,)
    frequency_hz: np.ndarray  # (windows,) measured fundamental
    line_rms: np.ndarray  # single-line C_{N h}
    group_rms: np.ndarray
    subgroup_rms: np.ndarray
    interharmonic_group_rms: np.ndarray
    interharmonic_subgroup_rms: np.ndarray

    @property
    def max_order(self) -> int:
        return self.group_rms.shape[-1] - 1

    def _ratio(self, values: np.ndarray, first: int, last: int, weighted: bool = False) -> np.ndarray:
        last = min(last, self.max_order)
        orders = np.arange(first, last + 1)
        fundamental = values[..., 1]
        parts = values[..., first : last + 1] ** 2
        if weighted:
            parts = parts * orders
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(parts.sum(axis=-1)) / fundamental

    @property
    def thd(self) -> np.ndarray:
        """THD from single-line components C_{N h}, h = 2..40 (per window)."""
        return self._ratio(self.line_rms, 2, THD_MAX_ORDER)

    @property
    def thdg(self) -> np.ndarray:
        return self._ratio(self.group_rms, 2, THD_MAX_ORDER)

    @property
    def thds(self) -> np.ndarray:
        return self._ratio(self.subgroup_rms, 2, THD_MAX_ORDER)

    @property
    def pwhd(self) -> np.ndarray:
        """Partial weighted harmonic distortion, h = 14..40, from group values."""
        return self._ratio(self.group_rms, *PWHD_ORDERS, weighted=True)

    def tdd(self, demand_current: float) -> np.ndarray:
        """IEEE 519 TDD = sqrt(sum_{h=2..50} I_h^2) / I_L, with I_h the group values."""
        if not demand_current > 0:
            raise ValueError(f"TDD needs a positive maximum demand current, got {demand_current!r}")
        last = min(TDD_MAX_ORDER, self.max_order)
        return np.sqrt((self.group_rms[..., 2 : last + 1] ** 2).sum(axis=-1)) / demand_current

    def smoothed(self) -> HarmonicsResult:
        """1.5 s first-order smoothing of every r.m.s. series along the window axis (alpha = 8.011)."""
        alpha = 1.0 / (1.0 - np.exp(-WINDOW_S / SMOOTHING_TIME_CONSTANT_S))

        def smooth(values: np.ndarray) -> np.ndarray:
            out = np.empty_like(values)
            axis_first = np.moveaxis(values, -2, 0)
            target = np.moveaxis(out, -2, 0)
            target[0] = axis_first[0]
            for n in range(1, axis_first.shape[0]):  # per window (5 per second), vectorised over orders
                target[n] = target[n - 1] + (axis_first[n] - target[n - 1]) / alpha
            return out

        return HarmonicsResult(
            self.f_nominal, self.cycles_per_window, self.window_start_s, self.frequency_hz,
            smooth(self.line_rms), smooth(self.group_rms), smooth(self.subgroup_rms),
            smooth(self.interharmonic_group_rms), smooth(self.interharmonic_subgroup_rms),
        )

    def summary(self) -> dict:
        """Averages over the record, for reports and the CLI."""
        def avg(a: np.ndarray) -> list:
            return np.round(a.mean(axis=-2), 6).tolist()

        return {
            "f_nominal": self.f_nominal,
            "windows": int(self.group_rms.shape[-2]),
            "frequency_hz_mean": float(self.frequency_hz.mean()),
            "group_rms_mean": avg(self.group_rms),
            "subgroup_rms_mean": avg(self.subgroup_rms),
            "interharmonic_group_rms_mean": avg(self.interharmonic_group_rms),
            "thd_mean": np.round(self.thd.mean(axis=-1), 6).tolist(),
            "thdg_mean": np.round(self.thdg.mean(axis=-1), 6).tolist(),
            "thds_mean": np.round(self.thds.mean(axis=-1), 6).tolist(),
            "pwhd_mean": np.round(self.pwhd.mean(axis=-1), 6).tolist(),
        }


def _window_plan(crossings: np.ndarray, n_cycles: int, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window starts, lengths and measured frequencies.

    Synchronisation works like an instrument's PLL with a one-second loop: the fundamental is
    measured over blocks of BLOCK_WINDOWS windows (1 s), each block's windows get the length
    round(N fs / f_block) and follow each other without gaps from the block's first upward
    crossing.  Each window also reports its own frequency from its own N cycles.
    """
    usable = crossings[crossings >= 0]
    total_windows = (len(usable) - 1) // n_cycles
    if total_windows < 1:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    starts, lengths = [], []
    for first in range(0, total_windows, BLOCK_WINDOWS):
        count = min(BLOCK_WINDOWS, total_windows - first)
        c0, c1 = first * n_cycles, (first + count) * n_cycles
        span = usable[c1] - usable[c0]
        length = int(round(span / count))
        origin = int(round(usable[c0]))
        starts.extend(origin + length * i for i in range(count))
        lengths.extend([length] * count)
    edges = usable[: (total_windows + 1) * n_cycles : n_cycles]
    freq = n_cycles * fs / np.diff(edges)
    return np.asarray(starts, np.int64), np.asarray(lengths, np.int64), freq


def _band_sums(power: np.ndarray, n: int, max_order: int) -> tuple[np.ndarray, ...]:
    """Line, group, subgroup, interharmonic group and centred subgroup sums of C^2 per order.

    ``power`` (..., bins) is reshaped to (..., order, N) rows holding bins N h .. N h + N - 1, so
    every band is a small reduction over a row and its predecessor; no cumulative sums.
    """
    half = n // 2
    rows = max_order + 2
    bins = power.shape[-1]
    if bins < rows * n:
        power = np.concatenate([power, np.zeros((*power.shape[:-1], rows * n - bins))], axis=-1)
    grid = power[..., : rows * n].reshape((*power.shape[:-1], rows, n))
    below = grid[..., :-1, :]  # row h - 1, aligned with order h from 1 on
    line = grid[..., :-1, 0]
    upper = grid[..., :-1, 1:half].sum(axis=-1) + 0.5 * grid[..., :-1, half]  # bins k+1 .. k+N/2 of order h
    lower = below[..., half + 1 :].sum(axis=-1) + 0.5 * below[..., half]  # bins k-N/2 .. k-1 of order h >= 1
    group = line + upper
    group[..., 1:] += lower[..., : max_order]
    sub = line + grid[..., :-1, 1]
    sub[..., 1:] += below[..., -1][..., : max_order]
    group[..., 0] = line[..., 0]
    sub[..., 0] = line[..., 0]
    inter_group = grid[..., :-1, 1:].sum(axis=-1)
    inter_sub = grid[..., :-1, 2 : n - 1].sum(axis=-1)
    return line, group, sub, inter_group, inter_sub


def harmonics(x, fs: float, *, f_nominal: float = 50.0, max_order: int = 50, reference=None,
              progress: Callable[[float], None] | None = None) -> HarmonicsResult:
    """IEC 61000-4-7 analysis of ``x`` (1-D samples, or 2-D (channels, samples)).

    Windows are synchronised to the fundamental of ``reference`` (default: ``x``'s first
    channel; pass the voltage when analysing currents).  Values are r.m.s., in ``x``'s unit.
    ``progress`` is called with the fraction of windows done after each batch.
    """
    f_nominal = check_f_nominal(f_nominal)
    n = CYCLES_PER_WINDOW[f_nominal]
    if not isinstance(max_order, (int, np.integer)) or not max_order >= 1:
        raise ValueError(f"harmonics: max_order must be a positive integer, got {max_order!r}")
    fs = check_fs(fs, 2.2 * f_nominal * (max_order + 1), f"harmonics up to order {max_order}")
    window = int(np.ceil(n * fs / f_nominal))
    data = as_record(x, "harmonics", min_samples=window + int(fs / f_nominal) + 2, allow_channels=True)
    channels = data if data.ndim == 2 else data[None, :]
    ref = channels[0] if reference is None else as_record(reference, "harmonics reference", min_samples=1)
    if ref.shape[-1] != channels.shape[-1]:
        raise ValueError(f"harmonics: reference has {ref.shape[-1]} samples, signal has {channels.shape[-1]}")
    share = fundamental_amplitude_ratio(ref, fs, f_nominal)
    if share < MIN_FUNDAMENTAL_SHARE:
        raise ValueError(f"harmonics: no detectable {f_nominal:g} Hz fundamental in the reference channel "
                         f"({share:.1%} of its a.c. r.m.s. lies within +-20 % of nominal)")
    crossings = upward_crossings(ref, fs, f_nominal)
    starts, lengths, freq = _window_plan(crossings, n, fs)
    keep = starts + lengths <= channels.shape[-1]
    starts, lengths, freq = starts[keep], lengths[keep], freq[keep]
    if len(starts) == 0:
        raise ValueError(f"harmonics: the record holds no complete {n}-cycle window "
                         f"({channels.shape[-1] / fs:.3f} s at {fs:g} Hz)")
    outputs = [np.empty((channels.shape[0], len(starts), max_order + 1)) for _ in range(5)]
    need = n * (max_order + 2)  # bins up to the interharmonic band above max_order
    done = 0
    for length in np.unique(lengths):
        sel = np.flatnonzero(lengths == length)
        # windows of one block are back to back: each block is a zero-copy reshape of the record
        runs = np.split(sel, np.flatnonzero(np.diff(starts[sel]) != length) + 1)
        pieces = [r[i : i + CHUNK_WINDOWS] for r in runs for i in range(0, len(r), CHUNK_WINDOWS)]
        batch: list[np.ndarray] = []
        for index, piece in enumerate(pieces):  # cache-sized batches keep memory and time low
            batch.append(piece)
            if sum(len(p) for p in batch) < CHUNK_WINDOWS and index + 1 < len(pieces):
                continue
            frames = np.concatenate(
                [channels[:, starts[p[0]] : starts[p[0]] + len(p) * length].reshape(len(channels), len(p), length)
                 for p in batch], axis=1, dtype=np.float32)
            spectrum = scipy.fft.rfft(frames, axis=-1, workers=-1)[..., :need]
            power = spectrum.real.astype(np.float64) ** 2
            power += spectrum.imag.astype(np.float64) ** 2
            power *= 2.0 / float(length) ** 2
            power[..., 0] /= 2.0  # d.c. bin: r.m.s. = |X0| / L
            if length % 2 == 0 and power.shape[-1] == length // 2 + 1:
                power[..., -1] /= 2.0  # Nyquist bin
            where = np.concatenate(batch)
            for out, values in zip(outputs, _band_sums(power, n, max_order), strict=True):
                out[:, where, :] = np.sqrt(values)
            batch = []
            done += len(where)
            if progress is not None:
                progress(done / len(starts))
    if data.ndim == 1:
        outputs = [o[0] for o in outputs]
    return HarmonicsResult(f_nominal, n, starts / fs, freq, *outputs)
