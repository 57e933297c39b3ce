"""The emulated board's state machine, on the plant clock.

off -> booting -> mining <-> curtailed -> shutting down (graceful or emergency) -> off.

The model is evaluated lazily: nothing runs between requests.  Every command and every
read first ``advance``s the board to the current plant time, applying any transition
that fell due (boot finished, curtail took effect, shutdown completed) at its own plant
time, and integrating hashes and energy analytically over the elapsed interval.  That
keeps an idle 1,300-board site at zero CPU and makes every figure independent of when
(in wall time) it was asked for.

A rejected command raises ``BoardCommandError`` before anything is changed.
"""

from __future__ import annotations

import enum
import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hilbench.emulation.board_profiles import BoardProfile
from hilbench.emulation.clock import Clock
from hilbench.emulation.power_model import PowerModel, PowerProfile, clip, power_model

TERA = 1e12
#: Segments kept for redrawing power over past plant time (each command or transition adds one).
HISTORY_SEGMENTS = 20_000
#: Intervals a board may owe before it integrates them unasked (bounds the memory of a board nobody reads).
OWED_INTERVALS = 256


class BoardState(enum.Enum):
    OFF = "off"
    BOOTING = "booting"
    MINING = "mining"
    CURTAILED = "curtailed"
    SHUTTING_DOWN = "shutting_down"


class Transition(enum.Enum):
    """A state change the board has scheduled for a later plant time."""

    BOOT_DONE = "boot_done"
    CURTAIL_DONE = "curtail_done"
    WAKE_DONE = "wake_done"
    STOP_DONE = "stop_done"


class ShutdownKind(enum.Enum):
    NONE = ""
    GRACEFUL = "graceful"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class Pending:
    due: float
    transition: Transition


class BoardCommandError(Exception):
    """A command the board refuses in its current state; the state is unchanged."""


@dataclass(frozen=True)
class StateChange:
    plant_time: float
    old: BoardState
    new: BoardState
    reason: str


@dataclass(frozen=True, slots=True)
class Segment:
    """The board's plan from ``t0`` until the next segment: enough to redraw its power at any time."""

    t0: float
    state: BoardState
    emergency: bool
    t_anchor: float
    f_anchor: float
    f_target: float
    voltage_v: float

    @property
    def hashing(self) -> bool:
        return self.state is BoardState.MINING or (self.state is BoardState.SHUTTING_DOWN and not self.emergency)


def pll_frequency(seg: Segment, t, ramp_mhz_per_s: float):
    """Hash frequency (MHz) at plant time(s) ``t`` on segment ``seg``: from f_anchor toward f_target at the
    PLL ramp rate.  Floats in, float out; arrays in, arrays out."""
    if seg.f_target >= seg.f_anchor:  # ramping up (or flat): f_anchor + step, at most f_target
        return clip(seg.f_anchor + ramp_mhz_per_s * (t - seg.t_anchor), seg.f_anchor, seg.f_target)
    return clip(seg.f_anchor - ramp_mhz_per_s * (t - seg.t_anchor), seg.f_target, seg.f_anchor)


def segment_power(power: PowerModel, seg: Segment, t):
    """(dc_w, wall_w, fan_duty_pct, frequency_mhz) of a board following ``seg`` at plant time(s) ``t``.

    The one definition of a board's power in every state: the numeric readings (scalar ``t``) and the
    redrawn waveforms (array ``t``) both come from here, so they cannot disagree."""
    zero = 0.0 * t
    if seg.hashing:
        frequency = pll_frequency(seg, t, power.profile.pll_ramp_mhz_per_s)
        dc, duty = power.mining_dc_w(frequency, seg.voltage_v)
        return dc, power.wall_w(dc), duty, frequency
    if seg.state is BoardState.BOOTING:
        dc = power.boot_dc_w()
        return dc + zero, power.wall_w(dc) + zero, 100.0 + zero, zero
    if seg.state is BoardState.CURTAILED:  # standby_w is the wall figure (control board alive, PSU output off)
        return power.standby_dc_w() + zero, power.profile.standby_w + zero, zero, zero
    return zero, zero, zero, zero


def segment_ramp_end(seg: Segment, ramp_mhz_per_s: float) -> float:
    """Plant time at which ``seg``'s PLL reaches its target (from then on its power is constant)."""
    return seg.t_anchor + abs(seg.f_target - seg.f_anchor) / ramp_mhz_per_s


_SIMPSON_PANELS = 8  # composite Simpson: the fan duty's clip puts a kink inside a PLL ramp
_SIMPSON_WEIGHTS = np.array([1.0] + [4.0, 2.0] * (_SIMPSON_PANELS - 1) + [4.0, 1.0]) / (3 * 2 * _SIMPSON_PANELS)


def segment_energy_j(power: PowerModel, seg: Segment, a: float, b: float) -> float:
    """Wall energy (J) of a board following ``seg`` from plant time a to b (negative if b < a).

    Composite Simpson over the PLL ramp, exact on the flat part: the one energy integral of the board model
    and of the plant's grouped fleet, so the two agree however their intervals are cut (to ~1e-5)."""
    if b < a:
        return -segment_energy_j(power, seg, b, a)
    end = min(b, max(a, segment_ramp_end(seg, power.profile.pll_ramp_mhz_per_s)))
    at_end = segment_power(power, seg, end)[1]
    energy = 0.0
    if end > a:
        wall = segment_power(power, seg, np.linspace(a, end, 2 * _SIMPSON_PANELS + 1))[1]
        energy += float(_SIMPSON_WEIGHTS @ wall) * (end - a)
    if b > end:
        energy += at_end * (b - end)
    return energy


class BoardObserver(Protocol):
    """Who keeps a running view of many boards (the plant's fleet index): told of every change."""

    def segment_changed(self, board: BoardModel, segment: Segment) -> None: ...

    def pending_changed(self, board: BoardModel, due: float | None) -> None: ...

    def hold_changed(self, board: BoardModel) -> None: ...


@dataclass(frozen=True)
class BoardSnapshot:
    """Everything observable about a board at one plant time."""

    plant_time: float
    state: BoardState
    profile: str
    frequency_mhz: float
    voltage_v: float
    hashrate_ths: float
    dc_w: float
    wall_w: float
    fan_duty_pct: float
    fan_rpm: int
    chip_temp_c: float
    board_temp_c: float
    uptime_s: float
    total_hashes: float
    energy_j: float


class BoardModel:
    """One board: commands change its plan, ``snapshot(t)`` tells what it is doing."""

    def __init__(
        self,
        profile: BoardProfile,
        clock: Clock,
        *,
        name: str = "board",
        powered: bool = True,
        start_mining: bool = True,
    ) -> None:
        self.profile = profile
        self.power = power_model(profile)  # one per profile: a ladder is solved once, not per board
        self.clock = clock
        self.name = name
        self.lock = threading.RLock()
        self.events: deque[StateChange] = deque(maxlen=1000)
        self.active_profile: PowerProfile = self.power.ladder_entry("default")
        self.state = BoardState.OFF
        self.dead = False  # an injected fault: failed for good (die())
        # Put to sleep through its own API (LuxOS 'curtail sleep' from an operator or pyasic): the controller
        # leaves it asleep until it is woken through its API, the controller is given a mode, or it is power cycled.
        self.held_by_operator = False
        self.shutdown_kind = ShutdownKind.NONE
        self._t = clock.now()
        self._powered_on_at: float | None = None
        # PLL: frequency moves from _f_anchor (at _t_anchor) toward _f_target at the ramp rate.
        self._t_anchor = self._t
        self._f_anchor = 0.0
        self._f_target = 0.0
        self._voltage = 0.0
        self._scheduled: Pending | None = None
        self._total_hashes = 0.0
        self._energy_j = 0.0
        self._owed: list[tuple[Segment, float, float]] = []  # (segment, from, to) not yet integrated
        self._chip_temp = profile.ambient_c
        self.history: deque[Segment] = deque(maxlen=HISTORY_SEGMENTS)
        self._handlers = {
            Transition.BOOT_DONE: self._on_boot_done,
            Transition.CURTAIL_DONE: self._on_curtail_done,
            Transition.WAKE_DONE: self._on_wake_done,
            Transition.STOP_DONE: self._on_stop_done,
        }
        self._record(self._t)
        if powered:
            self.power_on(reason="initial power")
            if start_mining:
                self._skip_boot()

    #: Told of every change of plan and of every scheduled transition (the plant's fleet index); None: nobody.
    observer: BoardObserver | None = None

    @property
    def _pending(self) -> Pending | None:
        return self._scheduled

    @_pending.setter
    def _pending(self, value: Pending | None) -> None:
        self._scheduled = value
        if self.observer is not None:
            self.observer.pending_changed(self, None if value is None else value.due)

    # ----- time evolution -------------------------------------------------------------
    def _segment(self, t0: float | None = None) -> Segment:
        """The board's current plan as a Segment (what the history records at each change)."""
        return Segment(
            self._t if t0 is None else t0,
            self.state,
            self.shutdown_kind is ShutdownKind.EMERGENCY,
            self._t_anchor,
            self._f_anchor,
            self._f_target,
            self._voltage,
        )

    def _frequency(self, t: float) -> float:
        return pll_frequency(self._segment(), t, self.profile.pll_ramp_mhz_per_s)

    def _frequency_integral(self, seg: Segment, a: float, b: float) -> float:
        """Integral of f(t) over [a, b] on ``seg`` (MHz*s); f is linear until the ramp ends, then flat."""
        if b <= a:
            return 0.0
        rate = self.profile.pll_ramp_mhz_per_s
        end = segment_ramp_end(seg, rate)
        total = 0.0
        if a < end:
            m = min(b, end)
            total += (pll_frequency(seg, a, rate) + pll_frequency(seg, m, rate)) / 2 * (m - a)
            a = m
        if b > a:
            total += pll_frequency(seg, a, rate) * (b - a)
        return total

    def _is_hashing(self) -> bool:
        return self.state is BoardState.MINING or (
            self.state is BoardState.SHUTTING_DOWN and self.shutdown_kind is ShutdownKind.GRACEFUL
        )

    def _power(self, t: float) -> tuple[float, float, float, float]:
        """(dc_w, wall_w, fan_duty_pct, frequency_mhz) now: segment_power on the current segment."""
        return segment_power(self.power, self._segment(), t)

    def _dc_and_fan(self, t: float) -> tuple[float, float]:
        dc, _, duty, _ = self._power(t)
        return dc, duty

    def _wall(self, t: float) -> float:
        return self._power(t)[1]

    def _integrate(self, t: float) -> None:
        """Move the board's time to t; the interval's hashes, energy and heat are owed until someone reads them
        (a site's dispatch touches hundreds of boards per control tick, a read touches one)."""
        a = self._t
        if t <= a:
            return
        segment = self._segment()
        if self._owed and self._owed[-1][0] == segment and self._owed[-1][2] == a:
            self._owed[-1] = (segment, self._owed[-1][1], t)
        else:
            self._owed.append((segment, a, t))
            if len(self._owed) > OWED_INTERVALS:
                self._settle()
        self._t = t

    def _settle(self) -> None:
        """Integrate the owed intervals: hashes, energy, chip temperature."""
        profile = self.profile
        for segment, a, t in self._owed:
            if segment.hashing:
                mhz_s = self._frequency_integral(segment, a, t)
                self._total_hashes += profile.nominal_hashrate_ths * TERA * mhz_s / profile.nominal_freq_mhz
            self._energy_j += segment_energy_j(self.power, segment, a, t)
            at_end = segment_power(
                self.power, segment, min(t, max(a, segment_ramp_end(segment, profile.pll_ramp_mhz_per_s)))
            )
            dc, duty = at_end[0], at_end[2]
            steady = self.power.chip_temperature_c(dc, duty) if dc else profile.ambient_c
            self._chip_temp += (steady - self._chip_temp) * (1 - math.exp(-(t - a) / profile.thermal_time_constant_s))
        self._owed.clear()

    @property
    def total_hashes(self) -> float:
        """Hashes done since power-up (to the board's plant time)."""
        with self.lock:
            self._settle()
            return self._total_hashes

    @property
    def energy_j(self) -> float:
        """Wall energy drawn since the model started (to the board's plant time)."""
        with self.lock:
            self._settle()
            return self._energy_j

    def advance(self, t: float | None = None) -> float:
        """Bring the model to plant time ``t`` (default: now), applying due transitions in order."""
        with self.lock:
            t = self.clock.now() if t is None else max(t, self._t)
            while self._pending is not None and self._pending.due <= t:
                due, transition = self._pending.due, self._pending.transition
                self._integrate(due)
                self._pending = None
                self._handlers[transition](due)
                self._record(due)
            self._integrate(t)
            return t

    def _record(self, t: float) -> None:
        segment = self._segment(t)
        if self.history and self.history[-1].t0 == t:
            self.history[-1] = segment
        else:
            self.history.append(segment)
        if self.observer is not None:
            self.observer.segment_changed(self, segment)

    # ----- transitions -----------------------------------------------------------------
    def _set_state(self, t: float, new: BoardState, reason: str) -> None:
        if new is not self.state:
            self.events.append(StateChange(t, self.state, new, reason))
            self.state = new

    def _start_ramp(self, t: float, target_mhz: float) -> None:
        self._f_anchor = self._frequency(t)
        self._t_anchor = t
        self._f_target = target_mhz

    def _stop_pll(self, t: float) -> None:
        self._f_anchor = self._f_target = 0.0
        self._t_anchor = t

    def _begin_mining(self, t: float, reason: str) -> None:
        self._voltage = self.active_profile.voltage_v
        self._stop_pll(t)
        self._start_ramp(t, self.active_profile.frequency_mhz)
        self._set_state(t, BoardState.MINING, reason)

    def _on_boot_done(self, t: float) -> None:
        self._begin_mining(t, "boot complete")

    def _on_curtail_done(self, t: float) -> None:
        self._stop_pll(t)
        self._set_state(t, BoardState.CURTAILED, "curtail sleep")

    def _on_wake_done(self, t: float) -> None:
        self._begin_mining(t, "curtail wakeup")

    def _on_stop_done(self, t: float) -> None:
        self._stop_pll(t)
        self._voltage = 0.0
        self._powered_on_at = None
        self._set_state(t, BoardState.OFF, f"{self.shutdown_kind.value} shutdown complete")

    def _skip_boot(self) -> None:
        """Start as if booted long ago: used for boards that are mining when the bench starts."""
        t = self._t
        self._pending = None
        self._voltage = self.active_profile.voltage_v
        self._f_anchor = self._f_target = self.active_profile.frequency_mhz
        self._t_anchor = t
        # Pretend the boot happened before the bench started, so uptime looks like a running miner's.
        ramp_s = self.active_profile.frequency_mhz / self.profile.pll_ramp_mhz_per_s
        self._powered_on_at = t - self.profile.boot_s - ramp_s
        self._set_state(t, BoardState.MINING, "mining at start")
        dc, duty = self._dc_and_fan(t)
        self._chip_temp = self.power.chip_temperature_c(dc, duty)
        self._record(t)

    # ----- commands ----------------------------------------------------------------------
    @property
    def pending(self) -> Transition | None:
        """The transition the board has scheduled, if any."""
        return self._pending.transition if self._pending else None

    @property
    def pending_due(self) -> float | None:
        """The plant time of the transition the board has scheduled, if any."""
        return self._pending.due if self._pending else None

    def die(self, *, at: float | None = None) -> None:
        """An injected fault: the board fails for good (supply gone now, never powers up again)."""
        with self.lock:
            if self.state is not BoardState.OFF:
                self.shutdown(emergency=True, at=at)
            self.dead = True

    def power_on(self, reason: str = "power on", *, at: float | None = None) -> None:
        with self.lock:
            t = self.advance(at)
            if self.dead:
                raise BoardCommandError(f"{self.name}: power on refused, the board has failed")
            if self.state is not BoardState.OFF:
                raise BoardCommandError(f"{self.name}: power on refused, board is {self.state.value}")
            self._powered_on_at = t
            self._set_hold(False)  # a power cycle boots the firmware afresh: no curtailment survives it
            self._set_state(t, BoardState.BOOTING, reason)
            self._pending = Pending(t + self.profile.boot_s, Transition.BOOT_DONE)
            self._record(t)

    def sleep(self, *, at: float | None = None) -> None:
        """LuxOS 'curtail sleep': hash boards and PSU off after the curtail latency."""
        with self.lock:
            t = self.advance(at)
            if self.state in (BoardState.OFF, BoardState.SHUTTING_DOWN):
                raise BoardCommandError(f"{self.name}: cannot curtail, board is {self.state.value}")
            if self.state is BoardState.CURTAILED:
                self._pending = None  # a pending wake is cancelled: stay asleep
                return
            if self._pending and self._pending.transition is Transition.CURTAIL_DONE:
                return  # already on its way down
            self._pending = Pending(t + self.profile.curtail_latency_s, Transition.CURTAIL_DONE)

    def wakeup(self, *, at: float | None = None) -> None:
        """LuxOS 'curtail wakeup': PSU back on, then a PLL ramp like after a boot."""
        with self.lock:
            t = self.advance(at)
            if self.dead:
                raise BoardCommandError(f"{self.name}: wake refused, the board has failed")
            if self.state in (BoardState.OFF, BoardState.SHUTTING_DOWN):
                raise BoardCommandError(f"{self.name}: cannot wake, board is {self.state.value}")
            if self._pending and self._pending.transition is Transition.CURTAIL_DONE:
                self._pending = None  # sleep still in flight: cancel it, keep mining
                return
            if self.state is BoardState.CURTAILED and not (
                self._pending and self._pending.transition is Transition.WAKE_DONE
            ):
                self._pending = Pending(t + self.profile.wake_delay_s, Transition.WAKE_DONE)

    def operator_sleep(self, *, at: float | None = None) -> None:
        """'curtail sleep' through the board's own API: asleep, and held there against the controller's dispatch."""
        with self.lock:
            self.sleep(at=at)
            self._set_hold(True)

    def operator_wakeup(self, *, at: float | None = None) -> None:
        """'curtail wakeup' through the board's own API: the operator's hold ends and the board wakes."""
        with self.lock:
            self.wakeup(at=at)
            self._set_hold(False)

    def release_hold(self) -> None:
        """The controller was given a mode: an explicit command for the whole container overrides the hold."""
        with self.lock:
            self._set_hold(False)

    def _set_hold(self, held: bool) -> None:
        if held is not self.held_by_operator:
            self.held_by_operator = held
            if self.observer is not None:
                self.observer.hold_changed(self)

    def set_profile(self, name: str, *, at: float | None = None) -> PowerProfile:
        """Select a profile; a mining board ramps its PLL to the new frequency."""
        with self.lock:
            t = self.advance(at)
            try:
                entry = self.power.ladder_entry(name)
            except KeyError:
                raise BoardCommandError(f"{self.name}: unknown profile {name!r}") from None
            if self.state in (BoardState.OFF, BoardState.SHUTTING_DOWN):
                raise BoardCommandError(f"{self.name}: cannot change profile, board is {self.state.value}")
            self.active_profile = entry
            if self.state is BoardState.MINING:
                self._voltage = entry.voltage_v
                self._start_ramp(t, entry.frequency_mhz)
                self._record(t)
            return entry

    def set_pll(self, frequency_mhz: float, *, at: float | None = None) -> None:
        """A host writing the PLL register directly (serial boards): the new frequency applies at once."""
        with self.lock:
            t = self.advance(at)
            if not 0 <= frequency_mhz <= 2 * self.profile.nominal_freq_mhz:
                raise BoardCommandError(f"{self.name}: PLL frequency {frequency_mhz} MHz out of range")
            if self.state is BoardState.MINING:
                self._f_anchor = self._f_target = frequency_mhz
                self._t_anchor = t
                self._record(t)

    def shutdown(self, *, emergency: bool = False, at: float | None = None) -> None:
        """Graceful: ramp down and finish work over graceful_stop_s.  Emergency: supply removed now."""
        with self.lock:
            t = self.advance(at)
            if self.state is BoardState.OFF:
                raise BoardCommandError(f"{self.name}: already off")
            if self.state is BoardState.SHUTTING_DOWN and not emergency:
                return
            was_hashing = self.state is BoardState.MINING
            self.shutdown_kind = ShutdownKind.EMERGENCY if emergency else ShutdownKind.GRACEFUL
            self._set_state(t, BoardState.SHUTTING_DOWN, f"{self.shutdown_kind.value} shutdown")
            if emergency:
                self._stop_pll(t)
                self._pending = Pending(t + self.profile.emergency_stop_s, Transition.STOP_DONE)
            else:
                if was_hashing:
                    self._start_ramp(t, 0.0)
                else:
                    self._stop_pll(t)
                self._pending = Pending(t + self.profile.graceful_stop_s, Transition.STOP_DONE)
            self._record(t)

    # ----- observation -------------------------------------------------------------------
    def current_wall_w(self) -> float:
        """Wall power at the board's current plant time (after ``advance``)."""
        with self.lock:
            return self._wall(self._t)

    def wall_power_at(self, times: np.ndarray) -> np.ndarray:
        """Wall power (W) at each plant time, redrawn from the segment history (advance first)."""
        with self.lock:
            segments = list(self.history)
        times = np.asarray(times, dtype=np.float64)
        starts = np.array([s.t0 for s in segments])
        index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(segments) - 1)
        out = np.zeros(times.shape)
        for k in np.unique(index):
            mask = index == k
            out[mask] = segment_power(self.power, segments[k], times[mask])[1]
        return out

    def snapshot(self, t: float | None = None) -> BoardSnapshot:
        with self.lock:
            t = self.advance(t)
            self._settle()
            dc, wall, duty, freq = self._power(t)
            return BoardSnapshot(
                plant_time=t,
                state=self.state,
                profile=self.active_profile.name,
                frequency_mhz=freq,
                voltage_v=self._voltage if self._is_hashing() else 0.0,
                hashrate_ths=self.power.hashrate_ths(freq),
                dc_w=dc,
                wall_w=wall,
                fan_duty_pct=duty,
                fan_rpm=round(self.profile.fan_max_rpm * duty / 100.0),
                chip_temp_c=self._chip_temp,
                board_temp_c=self.profile.ambient_c + (self._chip_temp - self.profile.ambient_c) * 0.8,
                uptime_s=0.0 if self._powered_on_at is None else t - self._powered_on_at,
                total_hashes=self._total_hashes,
                energy_j=self._energy_j,
            )
