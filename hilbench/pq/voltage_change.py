"""Relative voltage change, IEC 61000-3-3 Ed.3 / 61000-3-11, from half-period r.m.s. values.

  1. U_hp(k): r.m.s. over each half period between zero crossings of the fundamental
     (one cumulative sum, no per-half-period loop).
  2. Steady state: U_hp stays within +-``steady_band`` of Un for at least 1 s; it is
     *established* once the whole preceding second was in band.  U_ss is the mean of U_hp
     over the steady interval.
  3. d(t) = (U_ss,prev - U_hp) / Un for every half period outside an established steady
     state (positive for a drop), with U_ss,prev the last steady level (the first one for
     half periods before it).  The qualification second after a change belongs to the
     change, so a lasting step has d(t) = its size until the new level is established.
  4. dc = max |U_ss,i+1 - U_ss,i| / Un; dmax = max |d|; tmax = longest time |d| > 3.3 %
     continuously within one change.
dc and dmax are in percent of Un, tmax in seconds.  The steady-state band (0.2 % of Un by
default) is not in any source we could read (pq_reference.md section 3 marks it [R]).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hilbench.pq._validate import as_record, check_f_nominal, check_fs
from hilbench.pq.sync import fundamental_amplitude_ratio, zero_crossings

STEADY_STATE_S = 1.0
D_THRESHOLD_PERCENT = 3.3
DEFAULT_STEADY_BAND = 0.002  # +- fraction of Un; [R]
MIN_FS = 400.0


@dataclass
class VoltageChangeResult:
    dc: float  # % of Un
    dmax: float  # % of Un
    tmax: float  # s
    u_nominal: float
    steady_levels: list[float]  # U_ss of each steady state, in order
    t_hp: np.ndarray  # start of each half period, s
    u_hp: np.ndarray  # half-period r.m.s.
    d: np.ndarray  # % of Un; 0 inside established steady states

    def as_dict(self) -> dict:
        return {
            "dc": self.dc,
            "dmax": self.dmax,
            "tmax": self.tmax,
            "u_nominal": self.u_nominal,
            "steady_levels": self.steady_levels,
            "half_periods": len(self.u_hp),
        }


def half_period_rms(u: np.ndarray, fs: float, f_nominal: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start time s, duration s, r.m.s.) of every complete half period of the fundamental.

    Edges are the fractional zero-crossing positions; the energy between them is the
    cumulative sum of u^2 interpolated inside the edge samples (u ~ 0 there, so this is exact
    to first order), and the duration is fractional too.
    """
    edges = zero_crossings(u, fs, f_nominal)
    edges = edges[(edges >= 0) & (edges < len(u) - 1)]
    if len(edges) < 2:
        return np.empty(0), np.empty(0), np.empty(0)
    square = np.square(u)
    energy = np.concatenate([[0.0], np.cumsum(square)])
    whole = np.floor(edges).astype(np.int64)
    at_edge = energy[whole] + (edges - whole) * square[whole]
    span = np.diff(edges)
    rms = np.sqrt(np.maximum(np.diff(at_edge), 0.0) / span)
    return edges[:-1] / fs, span / fs, rms


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of consecutive True values."""
    padded = np.concatenate([[False], mask, [False]])
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(change[::2].tolist(), change[1::2].tolist(), strict=True))


def voltage_change(
    u, fs: float, *, f_nominal: float = 50.0, u_nominal: float | None = None, steady_band: float = DEFAULT_STEADY_BAND
) -> VoltageChangeResult:
    """dc, dmax (% of Un) and tmax (s) of a voltage record.

    ``u_nominal`` (Un) defaults to the first steady-state level of the record.
    """
    f_nominal = check_f_nominal(f_nominal)
    fs = check_fs(fs, MIN_FS, "voltage_change")
    samples = as_record(u, "voltage_change", min_samples=int(np.ceil(2 * STEADY_STATE_S * fs)))
    if fundamental_amplitude_ratio(samples, fs, f_nominal) < 0.5:
        raise ValueError(f"voltage_change: no detectable {f_nominal:g} Hz fundamental in the record")
    t_hp, dur, u_hp = half_period_rms(samples, fs, f_nominal)
    per_second = int(round(2 * f_nominal * STEADY_STATE_S))
    if len(u_hp) < per_second:
        raise ValueError(f"voltage_change: record holds {len(u_hp)} half periods; a steady state needs {per_second}")
    scale = u_nominal if u_nominal is not None else float(np.median(u_hp[:per_second]))
    windows = sliding_window_view(u_hp, per_second)
    in_band = (windows.max(axis=1) - windows.min(axis=1)) <= 2 * steady_band * scale
    established = np.zeros(len(u_hp), bool)
    established[per_second - 1 :] = in_band  # the whole preceding second was in band
    steady_runs = _runs(established)
    if not steady_runs:
        raise ValueError(
            f"voltage_change: no steady state of at least {STEADY_STATE_S:g} s "
            f"(U_hp never stays within +-{steady_band:.2%} of Un)"
        )
    # Each steady state spans its established run plus the qualification second before it.
    levels = [float(u_hp[max(0, a - per_second + 1) : b].mean()) for a, b in steady_runs]
    if u_nominal is None:
        scale = levels[0]
    if not scale > 0:
        raise ValueError(f"voltage_change: nominal voltage must be positive, got {scale!r}")
    # Reference for a half period outside a steady state: the last steady state that ended before it.
    ends = np.array([b for _, b in steady_runs])
    previous = np.searchsorted(ends, np.arange(len(u_hp)), side="right") - 1
    reference = np.asarray(levels)[np.maximum(previous, 0)]
    d = np.where(established, 0.0, (reference - u_hp) / scale * 100.0)
    over = np.abs(d) > D_THRESHOLD_PERCENT
    tmax = max((float(dur[a:b].sum()) for a, b in _runs(over)), default=0.0)
    dc = max((abs(b - a) / scale * 100.0 for a, b in itertools.pairwise(levels)), default=0.0)
    return VoltageChangeResult(
        dc=float(dc),
        dmax=float(np.abs(d).max(initial=0.0)),
        tmax=tmax,
        u_nominal=float(scale),
        steady_levels=levels,
        t_hp=t_hp,
        u_hp=u_hp,
        d=d,
    )
