"""IEC 61000-4-15 Ed.2 flickermeter, blocks 1-5, vectorised.

Signal chain (docs/references/pq_reference.md section 1):
  B1 normalise -> B2 square -> B3 LP 35/42 Hz (6th-order Butterworth) + HP 0.05 Hz (1st order)
  + lamp weighting -> B4 square, 300 ms first-order smoothing, x S -> Pinst -> B5 Pst, Plt.

How it is made fast: u^2 is formed at the input rate, then box-car averaged by an integer
factor to ~1-2 kHz (the box-car's nulls sit on multiples of the decimated rate; its droop
at flicker frequencies is part of the calibrated chain), and every filter runs at that
rate as one SOS cascade.  No Python loop touches samples.

How the record's first sample is already right (no start-up transient):
  * Block 1 is a first-order r.m.s. tracker (1 min time constant) started at the mean
    square of the record's first second, i.e. in steady state.
  * Before the record, the filters run over a 30 s pre-roll made of the record's own first
    whole cycles repeated (a periodic continuation), so at sample 0 every filter holds the
    state it would have after a long steady stretch of that same voltage.  The pre-roll's
    output is discarded.  Pst of a record that starts steady is then exact from sample 0.

Calibration: S is computed from the discretised chain's own frequency response so that an
8.8 Hz sinusoidal fluctuation of 0.250 % (230 V lamp) or 0.321 % (120 V lamp) gives
Pinst,max = 1.00 exactly (IEC 61000-4-15 Ed.2 Tables 1a/1b anchor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import signal

from hilbench.pq._validate import as_record, check_f_nominal, check_fs

MIN_FS = 1600.0
PST_INTERVAL_S = 600.0
PLT_COUNT = 12
PREROLL_S = 30.0
AGC_TIME_CONSTANT_S = 60.0  # Block 1 half-period r.m.s. tracker, ~1 min (pq_reference.md, [R])
SMOOTHING_TIME_CONSTANT_S = 0.3  # Block 4 sliding mean (2 sources)
HP_CUTOFF_HZ = 0.05  # Block 3 high-pass, first order, -3 dB
LP_CUTOFF_HZ = {50.0: 35.0, 60.0: 42.0}  # Block 3 low-pass, 6th-order Butterworth

#: Lamp weighting constants (K, f_lambda, f1, f2, f3, f4), IEC 61000-4-15 Ed.2 via pq_reference.md
#: (digits identical in Solcept 2009, qwtb 2018, pqopen-lib and a Python port).
LAMPS: dict[str, tuple[float, float, float, float, float, float]] = {
    "230V": (1.74802, 4.05981, 9.15494, 2.27979, 1.22535, 21.9),
    "120V": (1.6357, 4.167375, 9.077169, 2.939902, 1.394468, 17.31512),
}
#: Calibration anchor: 8.8 Hz sinusoidal fluctuation giving Pinst,max = 1 (Ed.2 Table 1, 8.8 Hz rows).
CALIBRATION_DV_PERCENT = {"230V": 0.250, "120V": 0.321}
CALIBRATION_F_HZ = 8.8

#: Block 5 percentiles: (weight, levels averaged) -> Pst = sqrt(sum weight * mean(P_levels)).
PST_TERMS = (
    (0.0314, (0.1,)),
    (0.0525, (0.7, 1.0, 1.5)),
    (0.0657, (2.2, 3.0, 4.0)),
    (0.28, (6.0, 8.0, 10.0, 13.0, 17.0)),
    (0.08, (30.0, 50.0, 80.0)),
)


@dataclass
class FlickerResult:
    """Pinst series and the Block 5 statistics of one record."""

    pinst: np.ndarray
    pinst_fs: float
    pst: list[float]
    plt: float | None
    plt_series: list[float] = field(default_factory=list)
    lamp: str = "230V"
    f_nominal: float = 50.0

    @property
    def pinst_max(self) -> float:
        return float(self.pinst.max()) if self.pinst.size else 0.0

    def as_dict(self) -> dict:
        return {
            "lamp": self.lamp,
            "f_nominal": self.f_nominal,
            "pinst_fs": self.pinst_fs,
            "pinst_max": self.pinst_max,
            "pst": self.pst,
            "plt": self.plt,
            "plt_series": self.plt_series,
        }


def _decimation(fs: float) -> int:
    return max(1, int(fs // 1000))


@lru_cache(maxsize=32)
def _chain(fs_d: float, lamp: str, f_nominal: float) -> tuple[np.ndarray, np.ndarray]:
    """SOS of Block 3 (LP, HP, weighting) and Block 4 smoothing at the decimated rate."""
    lp = signal.butter(6, LP_CUTOFF_HZ[f_nominal], "low", fs=fs_d, output="sos")
    hp = signal.butter(1, HP_CUTOFF_HZ, "high", fs=fs_d, output="sos")
    k, f_lambda, f1, f2, f3, f4 = LAMPS[lamp]
    w1, w2, w3, w4, lam = (2 * np.pi * f for f in (f1, f2, f3, f4, f_lambda))
    num = np.polymul([k * w1, 0.0], [1.0 / w2, 1.0])
    den = np.polymul([1.0, 2 * lam, w1**2], np.polymul([1.0 / w3, 1.0], [1.0 / w4, 1.0]))
    bz, az = signal.bilinear(num, den, fs=fs_d)
    weighting = signal.tf2sos(bz, az)
    smooth = signal.butter(1, 1 / (2 * np.pi * SMOOTHING_TIME_CONSTANT_S), "low", fs=fs_d, output="sos")
    return np.vstack([lp, hp, weighting]), smooth


def _boxcar_response(f: float, m: int, fs: float) -> float:
    if m == 1:
        return 1.0
    x = np.pi * f / fs
    return abs(np.sin(m * x) / (m * np.sin(x)))


@lru_cache(maxsize=32)
def _scale(fs: float, lamp: str, f_nominal: float) -> float:
    """S such that the calibration fluctuation gives Pinst,max = 1 on this exact discretised chain."""
    m = _decimation(fs)
    fs_d = fs / m
    band, smooth = _chain(fs_d, lamp, f_nominal)
    omega = 2 * np.pi * CALIBRATION_F_HZ / fs_d
    _, h_band = signal.sosfreqz(band, worN=[omega])
    _, h_smooth = signal.sosfreqz(smooth, worN=[2 * omega])
    # u = sqrt2 U sin(wt)(1 + d/2 sin Wt): after squaring and LP the flicker term is d/2 * sin Wt * 2 / 2 = (d/2).
    amplitude = CALIBRATION_DV_PERCENT[lamp] / 100 / 2 * abs(h_band[0]) * _boxcar_response(CALIBRATION_F_HZ, m, fs)
    return 2.0 / (amplitude**2 * (1.0 + abs(h_smooth[0])))


def _fundamental_period_samples(u: np.ndarray, fs: float, f_nominal: float) -> int:
    """Length of a whole number of fundamental cycles near 1 s, from the first second's zero crossings."""
    head = u[: int(min(len(u), 2 * fs))]
    head = head - head.mean()
    ups = np.flatnonzero((head[:-1] < 0) & (head[1:] >= 0))
    if len(ups) >= 3:
        t = ups + head[ups] / (head[ups] - head[ups + 1])  # sub-sample crossing
        period = (t[-1] - t[0]) / (len(t) - 1)
    else:
        period = fs / f_nominal
    cycles = max(1, round(fs / period))  # about one second of whole cycles
    return max(1, round(cycles * period))


def _preroll(u: np.ndarray, fs: float, f_nominal: float) -> np.ndarray:
    seg = _fundamental_period_samples(u, fs, f_nominal)
    seg = min(seg, len(u))
    reps = int(np.ceil(PREROLL_S * fs / seg))
    return np.tile(u[:seg], reps)


class FlickerMeter:
    """Streaming form: feed blocks of samples as they arrive; Pinst and Pst come out as they complete.

    The first block must hold at least one second (it seeds the pre-roll and Block 1).
    ``flicker()`` is this meter fed in one-minute blocks.
    """

    def __init__(self, fs: float, *, lamp: str = "230V", f_nominal: float = 50.0) -> None:
        if lamp not in LAMPS:
            raise ValueError(f"flicker: lamp must be one of {', '.join(LAMPS)}, got {lamp!r}")
        self.f_nominal = check_f_nominal(f_nominal)
        self.fs = check_fs(fs, MIN_FS, "flicker")
        self.lamp = lamp
        self.m = _decimation(self.fs)
        self.pinst_fs = self.fs / self.m
        self._band, self._smooth = _chain(self.pinst_fs, lamp, self.f_nominal)
        self._scale = _scale(self.fs, lamp, self.f_nominal)
        self._alpha = 1.0 - np.exp(-1.0 / (AGC_TIME_CONSTANT_S * self.pinst_fs))
        self._per_interval = int(PST_INTERVAL_S * self.pinst_fs)  # floor: a 600 s record holds exactly one
        self._started = False
        self._carry = np.empty(0)
        self._pinst: list[np.ndarray] = []
        self._interval: list[np.ndarray] = []
        self._interval_len = 0
        self.pst: list[float] = []
        self.samples_seen = 0

    def _start(self, first: np.ndarray) -> None:
        pre = _preroll(first, self.fs, self.f_nominal)
        pre_len = len(pre) // self.m
        y = np.square(pre[: pre_len * self.m]).reshape(pre_len, self.m).mean(axis=1)
        ms0 = float(y.mean())
        if not ms0 > 0:
            raise ValueError("flicker: the record starts with no voltage (zero r.m.s.)")
        self._agc = np.array([ms0 * (1 - self._alpha)])
        self._zi_band = np.zeros((self._band.shape[0], 2))
        self._zi_smooth = np.zeros((self._smooth.shape[0], 2))
        self._started = True
        self._process(y)  # run the filters through the pre-roll; its output is discarded

    def _process(self, y: np.ndarray) -> np.ndarray:
        mean_square, self._agc = signal.lfilter([self._alpha], [1.0, self._alpha - 1.0], y, zi=self._agc)
        if not np.all(mean_square > 0):
            raise ValueError("flicker: the voltage collapsed to zero r.m.s.; no flicker can be evaluated")
        y = y / (2.0 * mean_square)  # Block 2: squared unit-peak voltage
        y -= 0.5
        y, self._zi_band = signal.sosfilt(self._band, y, zi=self._zi_band)
        np.square(y, out=y)
        y, self._zi_smooth = signal.sosfilt(self._smooth, y, zi=self._zi_smooth)
        y *= self._scale
        return y

    def feed(self, block) -> np.ndarray:
        """Process more samples; returns the Pinst samples they completed."""
        samples = as_record(block, "flicker", min_samples=0 if self._started else int(np.ceil(self.fs)))
        self.samples_seen += len(samples)
        if not self._started:
            if np.ptp(samples) == 0:
                raise ValueError("flicker: the record is constant; it carries no fundamental voltage")
            self._start(samples)
        data = np.concatenate([self._carry, samples]) if len(self._carry) else samples
        usable = (len(data) // self.m) * self.m
        self._carry = data[usable:].copy()
        if usable == 0:
            return np.empty(0)
        pinst = self._process(np.square(data[:usable]).reshape(-1, self.m).mean(axis=1))
        self._pinst.append(pinst)
        self._collect(pinst)
        return pinst

    def _collect(self, pinst: np.ndarray) -> None:
        while len(pinst):
            take = min(len(pinst), self._per_interval - self._interval_len)
            self._interval.append(pinst[:take])
            self._interval_len += take
            pinst = pinst[take:]
            if self._interval_len == self._per_interval:
                self.pst.append(pst_from_pinst(np.concatenate(self._interval)))
                self._interval, self._interval_len = [], 0

    def result(self) -> FlickerResult:
        pinst = np.concatenate(self._pinst) if self._pinst else np.empty(0)
        blocks = [self.pst[i : i + PLT_COUNT] for i in range(0, len(self.pst) - PLT_COUNT + 1, PLT_COUNT)]
        return FlickerResult(
            pinst=pinst,
            pinst_fs=self.pinst_fs,
            pst=list(self.pst),
            plt=plt_from_pst(self.pst[:PLT_COUNT]) if len(self.pst) >= PLT_COUNT else None,
            plt_series=[plt_from_pst(b) for b in blocks],
            lamp=self.lamp,
            f_nominal=self.f_nominal,
        )


def pst_from_pinst(pinst: np.ndarray) -> float:
    """Block 5 for one observation interval: exact percentiles of the Pinst samples."""
    levels = sorted({level for _, group in PST_TERMS for level in group})
    values = dict(zip(levels, np.percentile(pinst, [100.0 - p for p in levels]), strict=True))
    total = sum(weight * np.mean([values[p] for p in group]) for weight, group in PST_TERMS)
    return float(np.sqrt(max(total, 0.0)))


def plt_from_pst(pst: list[float]) -> float:
    """Plt = cube-mean-root of the Pst values (normally 12)."""
    arr = np.asarray(pst, dtype=np.float64)
    return float(np.cbrt(np.mean(arr**3)))


def flicker(
    u, fs: float, *, lamp: str = "230V", f_nominal: float = 50.0, progress: Callable[[float], None] | None = None
) -> FlickerResult:
    """IEC 61000-4-15 flickermeter over a voltage record.

    ``u``: instantaneous voltage samples (any unit); ``fs`` >= 1600 Hz.  ``lamp`` ("230V" or
    "120V") and ``f_nominal`` (50 or 60 Hz) are independent.  Returns Pinst (at ``pinst_fs``),
    one Pst per complete 10-minute interval from the first sample, Plt from the first 12 Pst
    (None with fewer) and ``plt_series``: one Plt per complete 2-hour block.  ``progress`` is
    called with the fraction done after each minute of record.
    """
    meter = FlickerMeter(fs, lamp=lamp, f_nominal=f_nominal)
    samples = as_record(u, "flicker", min_samples=int(np.ceil(meter.fs)))
    block = int(60 * meter.fs)
    for start in range(0, len(samples), block):
        meter.feed(samples[start : start + block])
        if progress is not None:
            progress(min(1.0, (start + block) / len(samples)))
    return meter.result()
