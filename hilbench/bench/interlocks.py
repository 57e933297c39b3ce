"""Interlocks: the bench file's permissives, read before any energising command and all the time the run
lives.  A permissive lost (or unreadable: fail-safe) trips the monitor, which puts the bench in its safe
state at once from its own thread; from then on every driver call of the run except the safe state is
refused with an InterlockTripped that names the permissive, what it read and where, so the check in
progress ends with an error and the run stops.

The run's drivers are wrapped (``InterlockMonitor.wrap``) by the bench session; the permissives are read
on connections of their own (a contact's Modbus device, a second connection to the meter or grid source),
so watching never disturbs a measurement's exchanges.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hilbench.core.errors import HilbenchError
from hilbench.drivers import open_driver
from hilbench.spec.bench_file import Bench
from hilbench.spec.interlock_spec import Interlocks, ModbusContact, Permissive, ReadingRange
from hilbench.transports.modbus import ModbusTransport

log = logging.getLogger(__name__)

#: driver methods that can energise the bench or raise what it delivers: refused unless every permissive holds
ENERGISING = {
    "grid": ("output", "set_voltage", "set_frequency", "program_steps", "trigger", "fluctuate"),
    "load": ("output", "set_power"),
    "controller": ("set_mode", "set_power", "set_ramp", "configure_under_frequency"),
    "boards": ("resume", "set_power_limit"),
    "hashboard": ("setup", "send_job"),
}
#: what a tripped run may still do: reach and confirm the safe state
_SAFE_METHODS = frozenset({"safe_state", "read_safe_state", "close", "identify"})


class InterlockTripped(HilbenchError):
    """A permissive does not hold: nothing may be energised and the run stops (the bench is made safe)."""


@dataclass(frozen=True)
class PermissiveStatus:
    name: str
    holds: bool
    detail: str  # what was read, e.g. "read 0, permits 1 (discrete input 0 of unit 1 at tcp://...)"
    at: float  # time.monotonic() of the reading


Reader = Callable[[], PermissiveStatus]


def _contact_reader(permissive: Permissive, transport: ModbusTransport) -> Reader:
    src: ModbusContact = permissive.source  # type: ignore[assignment]
    read = {
        "discrete_input": lambda: int(transport.read_discrete_inputs(src.register)[0]),
        "coil": lambda: int(transport.read_coils(src.register)[0]),
        "holding_register": lambda: transport.read_holding(src.register)[0],
    }[src.table]

    def status() -> PermissiveStatus:
        value = read()
        return PermissiveStatus(
            permissive.name, value == src.permits, f"read {value}, permits {src.permits} ({permissive.describe()})",
            time.monotonic(),
        )  # fmt: skip

    return status


def _range_reader(permissive: Permissive, driver) -> Reader:
    src: ReadingRange = permissive.source  # type: ignore[assignment]

    def status() -> PermissiveStatus:
        value = getattr(driver.read(), src.quantity)
        values = tuple(value) if isinstance(value, tuple | list) else (value,)
        holds = all(
            (src.low is None or v >= src.low) and (src.high is None or v <= src.high) for v in values
        )  # NaN is outside every range: the comparisons are False
        shown = ", ".join(f"{v:.4g}" for v in values)
        return PermissiveStatus(permissive.name, holds, f"read {shown} ({permissive.describe()})", time.monotonic())

    return status


class InterlockMonitor:
    def __init__(
        self, interlocks: Interlocks, readers: dict[str, Reader], *, on_trip: Callable[[PermissiveStatus], None],
        closers: list[Callable[[], None]] | None = None,
    ) -> None:  # fmt: skip
        self.interlocks, self.readers, self.on_trip = interlocks, readers, on_trip
        self._closers = closers or []
        self.latest: dict[str, PermissiveStatus] = {}
        self.tripped: PermissiveStatus | None = None
        self._lost_since: dict[str, float] = {}  # a time-delayed permissive: when it was first read lost
        self._holds = {p.name: p.hold_s for p in interlocks.permissives}
        self.polls = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="interlock-monitor", daemon=True)

    @classmethod
    def for_bench(
        cls, bench: Bench, *, on_trip: Callable[[PermissiveStatus], None], run_driver: Callable[[str], object]
    ) -> InterlockMonitor:
        """Readers on connections of their own: one Modbus transport per contact device, one driver per role read.
        A role on a serial line (``rtu://``, one master per bus) is read through the run's own driver instead
        (``run_driver(role)``; its transport takes one request at a time)."""
        assert bench.interlocks is not None
        readers: dict[str, Reader] = {}
        transports: dict[tuple[str, int], ModbusTransport] = {}
        drivers: dict[str, object] = {}
        for permissive in bench.interlocks.permissives:
            src = permissive.source
            if isinstance(src, ModbusContact):
                key = (src.address, src.unit)
                if key not in transports:
                    transports[key] = ModbusTransport(f"interlock {permissive.name!r}", src.address, unit=src.unit)
                readers[permissive.name] = _contact_reader(permissive, transports[key])
            else:
                if bench.role(src.role).address.startswith("rtu://"):
                    readers[permissive.name] = _range_reader(permissive, _Lazy(run_driver, src.role))
                    continue
                if src.role not in drivers:
                    drivers[src.role] = open_driver(bench.role(src.role))
                readers[permissive.name] = _range_reader(permissive, drivers[src.role])
        closers = [t.close for t in transports.values()] + [d.close for d in drivers.values()]
        return cls(bench.interlocks, readers, on_trip=on_trip, closers=closers)

    # ----- reading -------------------------------------------------------------------------------
    def check_now(self, *, starting: bool = False) -> list[PermissiveStatus]:
        """Read every permissive once; one that cannot be read does not hold (fail-safe).  A permissive with a
        ``hold_s`` trips once it has been lost that long (a time-delayed relay riding through a voltage sag);
        ``starting`` (before anything is energised) trips on any loss."""
        statuses = []
        for name, reader in self.readers.items():
            try:
                status = reader()
            except Exception as exc:  # an unreadable permissive is a lost permissive
                status = PermissiveStatus(
                    name, False, f"could not be read: {type(exc).__name__}: {exc}", time.monotonic()
                )
            statuses.append(status)
        with self._lock:
            self.latest.update({s.name: s for s in statuses})
            self.polls += 1
        for status in statuses:
            if status.holds:
                self._lost_since.pop(status.name, None)
            else:
                self._lost_since.setdefault(status.name, status.at)
        broken = next(
            (
                s
                for s in statuses
                if not s.holds and (starting or s.at - self._lost_since[s.name] >= self._holds.get(s.name, 0.0))
            ),
            None,
        )
        if broken is not None:
            self._trip(broken)
        return statuses

    def start(self) -> InterlockMonitor:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interlocks.period_s):
            if self.tripped is None:
                self.check_now()

    def _trip(self, status: PermissiveStatus) -> None:
        with self._lock:
            if self.tripped is not None:
                return
            self.tripped = status
        log.error("interlock %r tripped: %s", status.name, status.detail)
        try:
            self.on_trip(status)
        except Exception:  # the trip stands whatever the callback did; the run's own safe state follows
            log.exception("interlock trip action failed")

    # ----- guarding the run's drivers -------------------------------------------------------------
    def trip_message(self) -> str:
        s = self.tripped
        assert s is not None
        return f"interlock {s.name!r} does not hold: {s.detail}; the bench was put in its safe state and the run stops"

    def permit(self, role: str, method: str) -> None:
        """Raise InterlockTripped when the run may not call ``role.method`` now."""
        if method in _SAFE_METHODS:
            return
        if self.tripped is not None:
            raise InterlockTripped(f"{self.trip_message()} ({role}.{method} refused)")
        if method not in ENERGISING.get(role, ()):
            return
        with self._lock:
            latest = list(self.latest.values())
        stale = len(latest) < len(self.readers) or any(
            time.monotonic() - s.at > max(1.0, 5 * self.interlocks.period_s) for s in latest
        )
        if stale:  # the monitor is behind (a slow read): read now rather than energise on old news
            self.check_now()
        if self.tripped is not None:
            raise InterlockTripped(f"{self.trip_message()} ({role}.{method} refused)")

    def wrap(self, role: str, driver):
        return _Guarded(role, driver, self)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        closers, self._closers = self._closers, []
        for close in closers:
            try:
                close()
            except Exception as exc:
                log.warning("closing an interlock connection failed: %s", exc)


class _Lazy:
    """The run's own driver of a role, fetched when first read (the session opens it once)."""

    def __init__(self, run_driver: Callable[[str], object], role: str) -> None:
        self._run_driver, self._role = run_driver, role

    def read(self):
        return self._run_driver(self._role).read()


class _Guarded:
    """A run's driver behind the interlocks: every call asks the monitor first; attributes pass through."""

    def __init__(self, role: str, driver, monitor: InterlockMonitor) -> None:
        self._role, self._driver, self._monitor = role, driver, monitor

    def __getattr__(self, name: str):
        attr = getattr(self._driver, name)
        if not callable(attr):
            return attr

        def guarded(*args, **kwargs):
            self._monitor.permit(self._role, name)
            return attr(*args, **kwargs)

        return guarded

    def __repr__(self) -> str:
        return f"<{self._driver!r} behind the interlocks>"
