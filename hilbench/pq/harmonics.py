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
from functools import lru_cache

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
            self.f_nominal,
            self.cycles_per_window,
            self.window_start_s,
            self.frequency_hz,
            smooth(self.line_rms),
            smooth(self.group_rms),
            smooth(self.subgroup_rms),
            smooth(self.interharmonic_group_rms),
            smooth(self.interharmonic_subgroup_rms),
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


@dataclass(frozen=True)
class _Block:
    """Back-to-back windows sharing one length and one measured fundamental frequency."""

    first_window: int
    origin: int  # sample index of the first window
    length: int  # samples per window
    count: int  # windows
    frequency: float  # Hz, measured over the whole block


def _window_plan(crossings: np.ndarray, n_cycles: int, fs: float) -> tuple[list[_Block], np.ndarray]:
    """Blocks of windows and each window's own measured frequency.

    Synchronisation works like an instrument's PLL with a one-second loop: the fundamental is
    measured over blocks of BLOCK_WINDOWS windows (1 s), each block's windows get the length
    round(N fs / f_block) and follow each other without gaps from the block's first upward
    crossing.  Each window also reports its own frequency from its own N cycles.
    """
    total_windows = (len(crossings) - 1) // n_cycles
    blocks = []
    for first in range(0, max(total_windows, 0), BLOCK_WINDOWS):
        count = min(BLOCK_WINDOWS, total_windows - first)
        c0, c1 = first * n_cycles, (first + count) * n_cycles
        span = crossings[c1] - crossings[c0]
        blocks.append(_Block(first, round(crossings[c0]), round(span / count), count, n_cycles * count * fs / span))
    edges = crossings[: (total_windows + 1) * n_cycles : n_cycles]
    return blocks, n_cycles * fs / np.diff(edges) if total_windows > 0 else np.empty(0)


def _remove_fundamental(frames: np.ndarray, blocks: list[_Block], fs: float) -> np.ndarray:
    """Least-squares fit and subtract each window's fundamental (block frequency); returns its r.m.s.^2.

    A window of whole samples is up to half a sample off the true 10/12 cycles; a rectangular window
    then leaks the fundamental, by far the largest line, into every group (1/distance sidelobes).
    Fitting the fundamental at the measured frequency and removing it before the FFT leaves only the
    small harmonics to leak; its exact power is added back to the fundamental's bin afterwards.
    """
    length = frames.shape[-1]
    n = np.arange(length)
    fundamental_power = np.empty(frames.shape[:2])
    at = 0
    for block in blocks:
        phase = 2 * np.pi * block.frequency / fs * n
        basis = np.stack([np.cos(phase), np.sin(phase)]).astype(frames.dtype)  # (2, L)
        gram_inverse = np.linalg.inv(basis.astype(np.float64) @ basis.T.astype(np.float64)).astype(frames.dtype)
        segment = frames[:, at : at + block.count, :]
        coefficients = (segment @ basis.T) @ gram_inverse  # (channels, windows, 2)
        segment -= coefficients @ basis
        fundamental_power[:, at : at + block.count] = 0.5 * (coefficients.astype(np.float64) ** 2).sum(axis=-1)
        at += block.count
    return fundamental_power


@lru_cache(maxsize=8)
def _band_weights(n: int) -> np.ndarray:
    """Columns: line, upper half of group, lower half of the next order's group, interharmonic group,
    centred interharmonic subgroup, subgroup bin above, subgroup bin below the next order."""
    half = n // 2
    w = np.zeros((n, 7), dtype=np.float32)
    w[0, 0] = 1
    w[1:half, 1] = 1
    w[half, 1] = 0.5
    w[half + 1 :, 2] = 1
    w[half, 2] = 0.5
    w[1:, 3] = 1
    w[2 : n - 1, 4] = 1
    w[1, 5] = 1
    w[n - 1, 6] = 1
    return w


def _band_sums(power: np.ndarray, n: int, max_order: int) -> tuple[np.ndarray, ...]:
    """Line, group, subgroup, interharmonic group and centred subgroup sums of C^2 per order.

    ``power`` (..., bins) is reshaped to (..., order, N) rows holding bins N h .. N h + N - 1; one
    small matrix product gives every band's part within a row; the parts that belong to the next
    order (the lower half of its group, the bin below its subgroup) are shifted up by one order.
    """
    rows = max_order + 1
    bins = power.shape[-1]
    if bins < (rows + 1) * n:
        power = np.concatenate([power, np.zeros((*power.shape[:-1], (rows + 1) * n - bins), power.dtype)], axis=-1)
    grid = power[..., : rows * n].reshape((*power.shape[:-1], rows, n))
    parts = (grid @ _band_weights(n)).astype(np.float64)
    line, upper, lower, inter_group, inter_sub, sub_up, sub_down = np.moveaxis(parts, -1, 0)
    group = line + upper
    group[..., 1:] += lower[..., :-1]
    sub = line + sub_up
    sub[..., 1:] += sub_down[..., :-1]
    group[..., 0] = line[..., 0]
    sub[..., 0] = line[..., 0]
    return line, group, sub, inter_group, inter_sub


def harmonics(
    x,
    fs: float,
    *,
    f_nominal: float = 50.0,
    max_order: int = 50,
    reference=None,
    progress: Callable[[float], None] | None = None,
) -> HarmonicsResult:
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
        raise ValueError(
            f"harmonics: no detectable {f_nominal:g} Hz fundamental in the reference channel "
            f"({share:.1%} of its a.c. r.m.s. lies within +-20 % of nominal)"
        )
    crossings = upward_crossings(ref, fs, f_nominal)
    blocks, freq = _window_plan(crossings, n, fs)
    blocks = [b for b in blocks if b.origin >= 0 and b.origin + b.count * b.length <= channels.shape[-1]]
    if not blocks:
        raise ValueError(
            f"harmonics: the record holds no complete {n}-cycle window ({channels.shape[-1] / fs:.3f} s at {fs:g} Hz)"
        )
    window_count = blocks[-1].first_window + blocks[-1].count
    outputs = [np.full((channels.shape[0], window_count, max_order + 1), np.nan) for _ in range(5)]
    need = n * (max_order + 2)  # bins up to the interharmonic band above max_order
    done = 0
    for length in sorted({b.length for b in blocks}):
        same = [b for b in blocks if b.length == length]
        per_batch = max(1, CHUNK_WINDOWS // BLOCK_WINDOWS)
        for first in range(0, len(same), per_batch):  # cache-sized batches keep memory and time low
            batch = same[first : first + per_batch]
            frames = np.concatenate(  # each block is a zero-copy reshape of the record
                [
                    channels[:, b.origin : b.origin + b.count * length].reshape(len(channels), b.count, length)
                    for b in batch
                ],
                axis=1,
                dtype=np.float32,
            )
            fundamental_power = _remove_fundamental(frames, batch, fs)
            spectrum = scipy.fft.rfft(frames, axis=-1, workers=-1)[..., :need]
            power = spectrum.real**2
            power += spectrum.imag**2
            power *= 2.0 / float(length) ** 2
            power[..., 0] /= 2.0  # d.c. bin: r.m.s. = |X0| / L
            if length % 2 == 0 and power.shape[-1] == length // 2 + 1:
                power[..., -1] /= 2.0  # Nyquist bin
            power[..., n] += fundamental_power
            where = np.concatenate([np.arange(b.first_window, b.first_window + b.count) for b in batch])
            for out, values in zip(outputs, _band_sums(power, n, max_order), strict=True):
                out[:, where, :] = np.sqrt(values)
            done += len(where)
            if progress is not None:
                progress(done / window_count)
    kept = np.concatenate([np.arange(b.first_window, b.first_window + b.count) for b in blocks])
    outputs = [o[:, kept, :] for o in outputs]
    starts = np.concatenate([b.origin + b.length * np.arange(b.count) for b in blocks])
    freq = freq[kept]
    if data.ndim == 1:
        outputs = [o[0] for o in outputs]
    return HarmonicsResult(f_nominal, n, starts / fs, freq, *outputs)
