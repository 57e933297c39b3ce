"""The grid source (programmable AC source) as the plant sees it: voltage and frequency over plant time.

Setpoints are piecewise constant; a programmed list (the source's LIST/sequence function)
adds timed steps; a fluctuation adds a rectangular voltage modulation.  Everything is a
pure function of plant time so waveforms can be drawn for any past window.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fluctuation:
    """Rectangular voltage fluctuation: +-depth/2 around the setpoint, changes_per_min changes."""

    start: float
    stop: float
    depth_percent: float
    changes_per_min: float


class GridModel:
    """Piecewise-constant voltage (per-phase r.m.s.) and frequency, output on/off, timed steps."""

    def __init__(self, voltage_v: float, frequency_hz: float, *, output_on: bool = True) -> None:
        self._lock = threading.Lock()
        # change points: (time, voltage, frequency, on)
        self._points: list[tuple[float, float, float, bool]] = [(-1e12, voltage_v, frequency_hz, output_on)]
        self.fluctuations: list[Fluctuation] = []

    def _last(self) -> tuple[float, float, float, bool]:
        return self._points[-1]

    def _set(
        self, at: float, *, voltage: float | None = None, frequency: float | None = None, on: bool | None = None
    ) -> None:
        with self._lock:
            # a new command overrides everything programmed after it
            state = self.state_at(at)
            self._points = [p for p in self._points if p[0] < at]
            self._points.append(
                (
                    at,
                    state[0] if voltage is None else voltage,
                    state[1] if frequency is None else frequency,
                    state[2] if on is None else on,
                )
            )

    def set_voltage(self, voltage_v: float, at: float) -> None:
        self._set(at, voltage=voltage_v)

    def set_frequency(self, frequency_hz: float, at: float) -> None:
        self._set(at, frequency=frequency_hz)

    def set_output(self, on: bool, at: float) -> None:
        self._set(at, on=on)

    def program(self, steps: list[tuple[float, float, float]], start: float) -> None:
        """Timed steps: (dwell_s, voltage, frequency) applied back to back from ``start``."""
        with self._lock:
            on = self.state_at(start)[2]
            self._points = [p for p in self._points if p[0] < start]
            t = start
            for dwell, voltage, frequency in steps:
                self._points.append((t, voltage, frequency, on))
                t += dwell

    def fluctuate(self, depth_percent: float, changes_per_min: float, start: float, stop: float) -> None:
        with self._lock:
            self.fluctuations.append(Fluctuation(start, stop, depth_percent, changes_per_min))

    def state_at(self, t: float) -> tuple[float, float, bool]:
        """(voltage setpoint, frequency, output on) at plant time t (no fluctuation)."""
        times = [p[0] for p in self._points]
        i = int(np.searchsorted(times, t, side="right")) - 1
        _, v, f, on = self._points[max(i, 0)]
        return v, f, on

    def energised(self, times: np.ndarray) -> np.ndarray:
        """True where the output is on with a voltage above zero (fluctuations never reach zero)."""
        with self._lock:
            points = list(self._points)
        starts = np.array([p[0] for p in points])
        live = np.array([p[3] and p[1] > 0 for p in points])
        return live[np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(points) - 1)]

    def energised_seconds(self, t0: float, t1: float) -> float:
        """How long the output was energised within [t0, t1] (the exact integral of ``energised``)."""
        with self._lock:
            points = list(self._points)
        total = 0.0
        for (start, volts, _, on), nxt in zip(points, [*points[1:], (np.inf, 0, 0, False)], strict=True):
            if on and volts > 0:
                total += max(0.0, min(nxt[0], t1) - max(start, t0))
        return total

    def change_points(self, t0: float, t1: float) -> list[tuple[float, float, float, bool]]:
        """Change points in (t0, t1]."""
        with self._lock:
            return [p for p in self._points if t0 < p[0] <= t1]

    def arrays(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voltage r.m.s. (with fluctuations, 0 when off), frequency and fundamental phase (rad) at times."""
        with self._lock:
            points = list(self._points)
            flucts = list(self.fluctuations)
        starts = np.array([p[0] for p in points])
        volts = np.array([p[1] for p in points])
        freqs = np.array([p[2] for p in points])
        ons = np.array([p[3] for p in points])
        idx = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(points) - 1)
        voltage = volts[idx] * ons[idx]
        frequency = freqs[idx]
        # phase: integral of frequency; exact for piecewise-constant f, referenced to t = 0
        seg_start = np.maximum(starts, 0.0)
        cumulative = np.concatenate([[0.0], np.cumsum(freqs[:-1] * np.diff(seg_start))])
        phase = 2 * np.pi * (cumulative[idx] + freqs[idx] * (times - seg_start[idx]))
        for fl in flucts:
            inside = (times >= fl.start) & (times < fl.stop)
            if inside.any():
                period = 120.0 / fl.changes_per_min  # two changes per period
                high = ((times[inside] - fl.start) % period) < period / 2
                voltage[inside] *= 1 + np.where(high, 0.5, -0.5) * fl.depth_percent / 100
        return voltage, frequency, phase
