"""Role interfaces: what a check may ask of each instrument role, in SI units.

This module is a leaf (it imports nothing of hilbench): drivers implement these protocols,
checks and the bench strategy call only these methods, and the readings are frozen
dataclasses in W, V, A, Hz, s and J (no kW, no kWh anywhere here).  The protocols hold
methods only, so ``issubclass(driver_class, ROLE_PROTOCOLS[role])`` works;
``missing_methods`` names what a class lacks.

``ROLE_PROTOCOLS`` is the one place role names are spelled.  Its order is the safe-state
order: stop drawing extra power first, then the DUT, then the supply, then the meters.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


# ----- states and modes ------------------------------------------------------------------------
class ControllerMode(enum.StrEnum):
    """What the container controller is told to do."""

    OFF = "off"
    RUN = "run"
    CURTAIL = "curtail"
    GRACEFUL_STOP = "graceful_stop"
    EMERGENCY_STOP = "emergency_stop"


class ControllerState(enum.StrEnum):
    """What the container controller reports it is doing."""

    OFF = "off"
    BOOTING = "booting"
    RUNNING = "running"
    CURTAILED = "curtailed"
    STOPPING = "stopping"
    TRIPPED = "tripped"


class TripCause(enum.StrEnum):
    NONE = "none"
    EMERGENCY_STOP = "emergency_stop"
    UNDER_FREQUENCY = "under_frequency"
    WATCHDOG = "watchdog"
    UNDER_VOLTAGE = "under_voltage"


class UnderFrequencyAction(enum.StrEnum):
    TRIP = "trip"  # open the contactor
    CURTAIL = "curtail"  # curtail the boards through their API


# ----- readings (SI) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AnalyserReading:
    """One numeric update of a three-phase power analyser, stamped by the instrument."""

    time: float  # s, instrument time stamp
    urms: tuple[float, float, float]  # V per phase
    irms: tuple[float, float, float]  # A per phase
    p: tuple[float, float, float]  # W per phase
    p_total: float  # W
    power_factor: float
    frequency: float  # Hz
    energy_j: float  # J since the integration started
    #: How far every stamp up to this one may be short, summed since the analyser was set up (s): each time the
    #: host let more than one update pass unread it may have counted several updates as one.  A time between two
    #: samples is certain to within the difference of their slacks (0 when the host kept up).
    stamp_slack_s: float = 0.0


@dataclass(frozen=True)
class HarmonicReading:
    """An analyser's own harmonic measurement at one update: r.m.s. per order 0 (DC) .. N, per phase."""

    time: float  # s, instrument time stamp
    frequency: float  # Hz, the fundamental
    current_a: Any  # (3, N + 1)
    voltage_v: Any  # (3, N + 1)


@dataclass(frozen=True)
class WaveformCapture:
    """Sampled voltage and current of the three phases (numpy arrays of shape (3, n))."""

    t0: float  # s, instrument time of the first sample
    fs: float  # Hz
    voltage: Any  # V
    current: Any  # A


@dataclass(frozen=True)
class GridReading:
    voltage_v: float
    frequency_hz: float
    power_w: float


@dataclass(frozen=True)
class GridNominal:
    """The supply the bench gives the DUT when nothing is being tested (the safe state)."""

    voltage_v: float  # phase voltage the source is programmed to
    frequency_hz: float


@dataclass(frozen=True)
class LoadReading:
    power_w: float
    input_on: bool


@dataclass(frozen=True)
class ControllerStatus:
    state: ControllerState
    power_w: float
    boards_online: int
    last_setpoint_change_s: float  # controller clock
    last_state_change_s: float
    grid_frequency_hz: float
    time_s: float  # controller clock now
    trip_cause: TripCause
    rated_power_w: float
    boards_total: int
    boards_held: int = 0  # curtailed through their own API and left asleep by the controller (0: map has none)


@dataclass(frozen=True)
class MeterReading:
    voltage_v: tuple[float, float, float]
    current_a: tuple[float, float, float]
    power_w: tuple[float, float, float]
    power_total_w: float
    frequency_hz: float
    import_energy_j: float


@dataclass(frozen=True)
class BoardReading:
    address: str
    model: str
    firmware: str
    hashrate_hs: float  # hashes per second
    power_w: float
    power_limit_w: float | None
    uptime_s: float | None
    accepted_shares: int = 0  # summed over the board's pools


@dataclass(frozen=True)
class Nonce:
    """A nonce a hash board returned, with the 80-byte header it solves."""

    job_id: int
    nonce: int
    version: int
    header: bytes


@dataclass(frozen=True)
class SafeStateReport:
    """What an instrument reports after it was told to go to its safe state."""

    safe: bool
    detail: str  # the instrument's own answer, e.g. "output OFF" or "VOLT 230.00 V, FREQ 50.000 Hz, FIX"


# ----- role protocols --------------------------------------------------------------------------
@runtime_checkable
class Instrument(Protocol):
    """What every role offers: its identity, its safe state (commanded, then read back) and a clean close."""

    def identify(self) -> str: ...
    def safe_state(self) -> None: ...
    def read_safe_state(self) -> SafeStateReport: ...
    def close(self) -> None: ...


@runtime_checkable
class Analyser(Instrument, Protocol):
    def setup(self) -> None: ...
    def read(self) -> AnalyserReading: ...
    def trend(
        self, duration_s: float, *, on_sample: Callable[[AnalyserReading], None] | None = None
    ) -> list[AnalyserReading]: ...
    def wait_until(self, instrument_time: float) -> AnalyserReading: ...
    def record(self, duration_s: float, *, during: Callable[[], object] | None = None) -> list[AnalyserReading]: ...


@runtime_checkable
class Recorder(Instrument, Protocol):
    """A digitiser or oscilloscope with long memory: raw, uniformly sampled records of the PCC's phase voltages
    and currents (what harmonics, flicker and voltage-change analysis need; a power analyser's waveform
    display data are not that)."""

    def acquire(self, duration_s: float, *, during: Callable[[], object] | None = None) -> WaveformCapture: ...


@runtime_checkable
class GridSource(Instrument, Protocol):
    def nominal(self) -> GridNominal: ...
    def set_voltage(self, volts: float) -> None: ...
    def set_frequency(self, hertz: float) -> None: ...
    def output(self, on: bool) -> None: ...
    def read(self) -> GridReading: ...
    def program_steps(self, steps: Sequence[tuple[float, float, float]], *, repeat: int = 1) -> None: ...
    def trigger(self) -> None: ...
    def fluctuate(self, depth_percent: float, changes_per_min: float, duration_s: float) -> None: ...


@runtime_checkable
class Load(Instrument, Protocol):
    def set_power(self, watts: float) -> None: ...
    def output(self, on: bool) -> None: ...
    def read(self) -> LoadReading: ...


@runtime_checkable
class Controller(Instrument, Protocol):
    def set_mode(self, mode: ControllerMode) -> None: ...
    def set_power(self, watts: float) -> None: ...
    def set_ramp(self, watts_per_s: float) -> None: ...
    def heartbeat(self) -> None: ...
    def configure_under_frequency(self, threshold_hz: float, delay_s: float, action: UnderFrequencyAction) -> None: ...
    def set_watchdog(self, seconds: float) -> None: ...
    def read(self) -> ControllerStatus: ...


@runtime_checkable
class Meter(Instrument, Protocol):
    def read(self) -> MeterReading: ...


@runtime_checkable
class Boards(Instrument, Protocol):
    def read(self) -> list[BoardReading]: ...
    def curtail(self) -> list[bool]: ...
    def resume(self) -> list[bool]: ...
    def set_power_limit(self, watts: float) -> list[bool]: ...


@runtime_checkable
class Hashboard(Instrument, Protocol):
    def enumerate_chips(self) -> list[int]: ...
    def setup(self) -> None: ...
    def send_job(self, header: bytes) -> int: ...
    def read_nonces(self, wait_s: float, *, target: int) -> list[Nonce]: ...


#: role name -> protocol; the one place role names are spelled (in safe-state order).
ROLE_PROTOCOLS: dict[str, type] = {
    "load": Load,
    "controller": Controller,
    "boards": Boards,
    "hashboard": Hashboard,
    "grid": GridSource,
    "analyser": Analyser,
    "recorder": Recorder,
    "meter": Meter,
}


def protocol_methods(protocol: type) -> list[str]:
    """The public methods a protocol asks for (its own and inherited), sorted."""
    names: set[str] = set()
    for klass in protocol.__mro__:
        if klass in (Protocol, object) or not getattr(klass, "_is_protocol", False):
            continue
        names.update(n for n, v in vars(klass).items() if callable(v) and not n.startswith("_"))
    return sorted(names)


def missing_methods(cls: type, role: str) -> list[str]:
    """Methods of ``role``'s protocol that ``cls`` does not define (empty when it satisfies it)."""
    return [name for name in protocol_methods(ROLE_PROTOCOLS[role]) if not callable(getattr(cls, name, None))]
