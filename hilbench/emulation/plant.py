"""The coupled plant: grid source behind an impedance, the container (controller + boards), an
electronic load, all on one plant clock; the point of common coupling (PCC) seen by the analyser
and the meter.

Every instrument emulator calls ``advance()`` before it reads or writes, so the controller
commands its boards at exact plant times whatever order the instruments are polled in.
Waveforms for any plant-time window at any sample rate come from ``pcc_waveforms``.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

from hilbench.emulation.board import BoardModel
from hilbench.emulation.clock import Clock
from hilbench.emulation.controller import ContainerController, ControllerParams
from hilbench.emulation.grid import GridModel
from hilbench.emulation.lag import LagMeter
from hilbench.emulation.psu_harmonics import psu_spectrum

PHASE_SHIFT = (0.0, -2 * np.pi / 3, 2 * np.pi / 3)


def fundamental_current(p_w, v_source, pf: float, drop_ohm: float):
    """Phase current drawing ``p_w`` at the PCC behind a source impedance: P = (V_src - k I) I pf.

    The smaller root of k I^2 - V_src I + P/pf = 0 (k = R pf + X sin phi); zero where the source is off.
    """
    p_w = np.asarray(p_w, dtype=np.float64)
    v = np.asarray(v_source, dtype=np.float64)
    if drop_ohm <= 0:
        return np.where(v > 0, p_w / (np.maximum(v, 1e-9) * pf), 0.0)
    disc = np.maximum(v**2 - 4 * drop_ohm * p_w / pf, 0.0)
    return np.where(v > 0, (v - np.sqrt(disc)) / (2 * drop_ohm), 0.0)


def plant_request(method):
    """A request an instrument makes of the plant about the present: the plant time it took is the emulator's
    lag.  Redrawing the past (waveforms, stored updates) is not: its figures are exact however long it takes,
    and only its advance to the present is timed."""

    @functools.wraps(method)
    def timed(self, *args, **kwargs):
        with self.lag.measuring():
            return method(self, *args, **kwargs)

    return timed


@dataclass(frozen=True)
class PlantParams:
    voltage_v: float = 230.0  # phase-to-neutral r.m.s.
    frequency_hz: float = 50.0
    r_ohm: float = 0.04  # source impedance per phase
    x_ohm: float = 0.03
    psu_kind: str = "active_pfc"
    psu_spectrum: dict | None = None  # psu_kind "fitted": a measured spectrum (emulation.psu_harmonics)


class ElectronicLoad:
    """A resistive three-phase load with a power setpoint; energy integrated over plant time."""

    def __init__(self, start: float) -> None:
        self.on = False
        self.power_w = 0.0
        self._points: list[tuple[float, float]] = [(start, 0.0)]

    def set(self, *, at: float, on: bool | None = None, power_w: float | None = None) -> None:
        if on is not None:
            self.on = on
        if power_w is not None:
            self.power_w = power_w
        self._points = [p for p in self._points if p[0] < at] + [(at, self.power_w if self.on else 0.0)]

    def power_at(self, times: np.ndarray) -> np.ndarray:
        starts = np.array([p[0] for p in self._points])
        values = np.array([p[1] for p in self._points])
        return values[np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(values) - 1)]

    def energy_j(self, t: float) -> float:
        total = 0.0
        for (t0, p), nxt in zip(self._points, [*self._points[1:], (t, 0.0)], strict=True):
            total += p * max(0.0, min(nxt[0], t) - t0)
        return total


class Plant:
    def __init__(
        self, clock: Clock, boards: list[BoardModel], params: PlantParams, controller_params: ControllerParams
    ) -> None:
        self.clock = clock
        self.params = params
        self.psu = psu_spectrum(params.psu_kind, params.psu_spectrum)
        self.lock = threading.RLock()
        self.lag = LagMeter(clock)
        start = clock.now()
        self.grid = GridModel(params.voltage_v, params.frequency_hz)
        self.boards = boards
        self.controller = ContainerController(
            boards,
            self.grid,
            controller_params,
            start=start,
            nominal_hz=params.frequency_hz,
            nominal_v=params.voltage_v,
        )
        self.fleet = self.controller.fleet
        self.load = ElectronicLoad(start)
        self.phase_of_board = self.fleet.phase_of_board
        self.start = start

    # ----- time -------------------------------------------------------------------------
    @plant_request
    def advance(self, t: float | None = None, *, every_board: bool = True) -> float:
        with self.lock:
            t = self.clock.now() if t is None else t
            self.controller.advance(t, every_board=every_board)
            return t

    def advance_for_one_board(self) -> float:
        """What a board's endpoint calls before it answers: the controller's events up to now, not every board."""
        return self.advance(every_board=False)

    # ----- PCC quantities -----------------------------------------------------------------
    def phase_power_w(self, times: np.ndarray) -> np.ndarray:
        """(3, n) active power per phase at the PCC: boards on their phase, auxiliaries and load shared."""
        times = np.asarray(times, dtype=np.float64)
        power = np.zeros((3, times.size))
        for board, phase in zip(self.boards, self.phase_of_board, strict=True):
            power[phase] += board.wall_power_at(times)
        power += (self.controller.params.aux_w / 3) * self.grid.energised(times)  # auxiliaries run on a live grid
        power += self.load.power_at(times) / 3
        return power

    def _phase_power_now(self, t: float) -> np.ndarray:
        """Per-phase power at plant time t (the controller already advanced to t): one term per group of boards
        following the same plan, whatever the site's size."""
        power = self.fleet.phase_power_w(t)
        if self.grid.energised(np.array([t]))[0]:  # the same rule as phase_power_w
            power += self.controller.params.aux_w / 3
        return power + self.load.power_at(np.array([t]))[0] / 3

    def _load_fraction(self, per_phase_w: np.ndarray) -> float:
        rated = max(self.controller.rated_w / 3, 1.0)
        return float(np.clip(np.mean(per_phase_w) / rated, 0.0, 1.0))

    def pcc_waveforms(self, t0: float, t1: float, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """(voltage, current), each (3, n) instantaneous values at the PCC over [t0, t1)."""
        self.advance()  # to now (the window must lie in the past); the plant lock is held only while advancing
        times = t0 + np.arange(int(round((t1 - t0) * fs))) / fs
        v_src, _, theta = self.grid.arrays(times)
        # envelopes on a coarser grid (power changes slowly compared with the line frequency)
        coarse = np.arange(t0, t1 + 0.01, 0.005)
        p_coarse = self.phase_power_w(coarse)
        p = np.vstack([np.interp(times, coarse, row) for row in p_coarse])
        pf = self.psu.displacement_pf
        phi = np.arccos(pf)
        ratios = self.psu.ratios(self._load_fraction(p_coarse))
        r, x = self.params.r_ohm, self.params.x_ohm
        voltage = np.empty((3, times.size))
        current = np.empty((3, times.size))
        for k in range(3):
            angle = theta + PHASE_SHIFT[k]
            drop = r * pf + x * np.sin(phi)
            i1 = fundamental_current(p[k], v_src, pf, drop)
            v1 = v_src - i1 * drop
            i_wave = np.sqrt(2) * i1 * np.sin(angle - phi)
            v_wave = np.sqrt(2) * v1 * np.sin(angle)
            for h, ratio in ratios.items():
                ih = i1 * ratio
                i_wave += np.sqrt(2) * ih * np.sin(h * angle + self.psu.phases[h])
                zh = np.hypot(r, h * x)
                v_wave -= np.sqrt(2) * ih * zh * np.sin(h * angle + self.psu.phases[h] + np.arctan2(h * x, r))
            voltage[k], current[k] = v_wave, i_wave
        return voltage, current

    def _pcc_quantities(self, p: np.ndarray, v_source) -> dict:
        """What an analyser element shows for per-phase power ``p`` ((3,) or (3, n)) behind the source at
        ``v_source`` (scalar or (n,)): the one definition behind ``numeric`` and ``numeric_series``."""
        pf = self.psu.displacement_pf
        rated = max(self.controller.rated_w / 3, 1.0)
        thd = self.psu.thd(np.clip(np.mean(p, axis=0) / rated, 0.0, 1.0))
        drop = self.params.r_ohm * pf + self.params.x_ohm * np.sin(np.arccos(pf))
        v = np.broadcast_to(v_source, p.shape)
        i1 = fundamental_current(p, v, pf, drop)
        v_pcc = v - i1 * drop
        irms = i1 * np.sqrt(1 + thd**2)
        s = v_pcc * irms
        return {
            "urms": v_pcc,
            "irms": irms,
            "p": p,
            "s": s,
            "q": np.sqrt(np.maximum(s**2 - p**2, 0.0)),
            "lambda": np.divide(p, s, out=np.zeros(p.shape), where=s > 0),
        }

    @plant_request
    def harmonic_components(self, t: float, max_order: int) -> tuple[np.ndarray, np.ndarray]:
        """Current and voltage r.m.s. per order 0..max_order per phase at plant time t: the components the PCC
        waveforms are drawn from (fundamental behind the source drop, PSU current ratios, their drop on R + jhX)."""
        with self.lock:
            self.advance(t)
            p = self._phase_power_now(t)
            v_src = float(self.grid.arrays(np.array([t]))[0][0])
        pf = self.psu.displacement_pf
        r, x = self.params.r_ohm, self.params.x_ohm
        drop = r * pf + x * np.sin(np.arccos(pf))
        i1 = fundamental_current(p, np.full(3, v_src), pf, drop)
        current = np.zeros((3, max_order + 1))
        voltage = np.zeros((3, max_order + 1))
        current[:, 1], voltage[:, 1] = i1, v_src - i1 * drop
        for h, ratio in self.psu.ratios(self._load_fraction(p)).items():
            if h <= max_order:
                current[:, h] = i1 * ratio
                voltage[:, h] = i1 * ratio * np.hypot(r, h * x)
        return current, voltage

    @plant_request
    def numeric(self, t: float) -> dict:
        """Per-phase and total electrical quantities at plant time t (what an analyser element shows)."""
        with self.lock:
            self.advance(t)
            v_src, freq, _ = self.grid.arrays(np.array([t]))
            p = self._phase_power_now(t)
            return {
                "time": t,
                **self._pcc_quantities(p, float(v_src[0])),
                "frequency": float(freq[0]),
                "p_total": float(p.sum()),
            }

    def numeric_series(self, times: np.ndarray) -> dict:
        """``numeric`` at many past plant times at once ((3, n) per phase): what an instrument that stored its
        updates (the analyser's store function) holds; the plant must already have reached ``times[-1]``."""
        times = np.asarray(times, dtype=np.float64)
        self.advance()
        p = self.phase_power_w(times)
        v_src, freq, _ = self.grid.arrays(times)
        return {"time": times, **self._pcc_quantities(p, v_src), "frequency": freq, "p_total": p.sum(axis=0)}

    @plant_request
    def energy_j(self, t: float) -> float:
        """Energy drawn at the PCC since the plant started (boards exactly, auxiliaries, load)."""
        with self.lock:
            self.advance(t)
            boards = self.fleet.energy_j(t)
            aux = self.controller.params.aux_w * self.grid.energised_seconds(self.start, t)
            return boards + aux + self.load.energy_j(t)
