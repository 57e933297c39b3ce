"""The bench strategy (labgrid's word): the one object that knows how to move this bench between
states — bring the container to running at a power, read the analyser until something holds,
and return every role to its safe state in the right order.  Checks and the run use it; it
speaks to the instruments through the role protocols only (hilbench.core.roles), in SI units.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hilbench.bench.session import BenchSession
from hilbench.core.errors import HilbenchError
from hilbench.core.roles import (
    ROLE_PROTOCOLS,
    Analyser,
    AnalyserReading,
    Boards,
    Controller,
    ControllerMode,
    ControllerState,
    GridSource,
    Load,
    Recorder,
)

log = logging.getLogger(__name__)

#: states from which the controller must pass through OFF before it runs again
_RESTART_FROM = (ControllerState.TRIPPED, ControllerState.OFF, ControllerState.STOPPING, ControllerState.CURTAILED)


class CheckAborted(HilbenchError):
    """The bench did not reach the state a check needs (its preconditions)."""


class WaitTimedOut(CheckAborted):
    """A wait ran out of time: what was trended while waiting comes with it (a check may still store it)."""

    def __init__(self, message: str, samples: list) -> None:
        super().__init__(message)
        self.samples = samples


class BenchStrategy:
    def __init__(self, session: BenchSession, *, progress: Callable[[str], None] = print) -> None:
        self.session = session
        self.progress = progress

    # ----- roles (typed by their protocols) ------------------------------------------------------
    @property
    def analyser(self) -> Analyser:
        return self.session.driver("analyser")

    @property
    def controller(self) -> Controller:
        return self.session.driver("controller")

    @property
    def recorder(self) -> Recorder:
        if not self.session.has_role("recorder"):
            raise CheckAborted(
                f"{self.session.bench.path}: this check needs raw waveforms and the bench has no 'recorder' role "
                "(a power analyser's waveform display data are not samples); add a digitiser or oscilloscope"
            )
        return self.session.driver("recorder")

    @property
    def grid(self) -> GridSource:
        return self.session.driver("grid")

    @property
    def load(self) -> Load:
        return self.session.driver("load")

    @property
    def boards(self) -> Boards:
        return self.session.driver("boards")

    # ----- reading the analyser ------------------------------------------------------------------
    def trend(self, seconds: float, label: str = "") -> list[AnalyserReading]:
        """Analyser samples for ``seconds`` of instrument time, with progress for long ones."""
        last = [time.monotonic()]

        guard = getattr(self.session, "guard", None)

        def tick(sample: AnalyserReading) -> None:
            if guard is not None:  # an interlock trip ends a long trend at once, not when it is over
                guard.permit("analyser", "read")
            if time.monotonic() - last[0] > 2.0:
                last[0] = time.monotonic()
                self.progress(f"  {label} t={sample.time:.1f} s  P={sample.p_total / 1000:.1f} kW")

        return self.analyser.trend(seconds, on_sample=tick)

    def wait_for(
        self, condition: Callable[[AnalyserReading], bool], timeout_s: float, what: str
    ) -> list[AnalyserReading]:
        """Trend until ``condition(sample)`` holds; WaitTimedOut (with the last value and the samples) after
        timeout_s."""
        analyser = self.analyser
        samples = [analyser.read()]
        deadline = samples[0].time + timeout_s
        while not condition(samples[-1]):
            if samples[-1].time > deadline:
                raise WaitTimedOut(
                    f"{what} not reached within {timeout_s:g} s of instrument time "
                    f"(last: P = {samples[-1].p_total / 1000:.1f} kW, f = {samples[-1].frequency:.3f} Hz)",
                    samples,
                )
            time.sleep(0.0005)
            reading = analyser.read()
            if reading.time > samples[-1].time:
                samples.append(reading)
        return samples

    def now(self) -> float:
        """Instrument time of the latest analyser update (the command-time reference)."""
        return self.analyser.read().time

    def command(self, send: Callable[[], object]) -> float:
        """Send a command and return its instrument time: the midpoint of the analyser stamps read just
        before and just after it (the bracket is the time-stamp uncertainty, one round trip or two)."""
        before = self.now()
        send()
        return (before + self.now()) / 2

    # ----- moving the bench between states ----------------------------------------------------------
    def supply_nominal(self) -> None:
        """Load input off and the grid at its nominal supply (where they exist)."""
        if self.session.has_role("load"):
            self.load.safe_state()
        if self.session.has_role("grid"):
            self.grid.safe_state()

    def stop_container(self, rated_w: float, timeout_s: float = 120.0) -> None:
        """Controller off, and wait until the analyser sees the container stopped (below 5 % of rated)."""
        self.controller.set_mode(ControllerMode.OFF)
        self.wait_for(lambda s: s.p_total < 0.05 * rated_w, timeout_s, "container off")

    def prepare_running(self, rated_w: float, percent: float = 100.0, timeout_s: float = 400.0) -> None:
        """The container running at ``percent`` of ``rated_w``, steady, grid nominal, load off."""
        self.supply_nominal()
        controller = self.controller
        controller.set_ramp(min(50_000.0, rated_w))
        controller.set_power(rated_w * percent / 100)
        if controller.read().state in _RESTART_FROM:
            controller.set_mode(ControllerMode.OFF)
            self.wait_for(lambda s: controller.read().state == ControllerState.OFF, 120, "container off")
        controller.set_mode(ControllerMode.RUN)
        target = rated_w * percent / 100
        self.wait_for(
            lambda s: abs(s.p_total - target) < 0.03 * rated_w + 1000, timeout_s, f"steady {percent:g} % power"
        )
        samples = self.trend(2.0, "settling")
        if np.ptp([s.p_total for s in samples]) > 0.03 * rated_w:
            self.wait_for(lambda s: abs(s.p_total - target) < 0.02 * rated_w + 1000, timeout_s, "steady power")

    def safe_state(self, timeout_s: float = 10.0) -> list[SafeStateRecord]:
        """Every opened role to its safe state, in ROLE_PROTOCOLS order: commanded, then read back, each role
        within ``timeout_s`` (one unresponsive instrument does not hold up the others).  One record per role."""
        records = []
        opened = self.session.opened()
        bench = getattr(self.session, "bench", None)
        roles = set(opened) | set(bench.roles if bench is not None else ())
        for role in sorted(roles, key=lambda r: list(ROLE_PROTOCOLS).index(r) if r in ROLE_PROTOCOLS else 99):
            if role in opened:
                records.append(_make_safe(role, opened[role], _time_box(bench, role, timeout_s)))
            else:  # never connected by this run, so never commanded by it either: listed, not judged
                records.append(SafeStateRecord(role, "not commanded", "not used by this run", None, 0.0))
        for record in records:
            (log.error if record.confirmed is False else log.info)(record.describe())
        return records


@dataclass(frozen=True)
class SafeStateRecord:
    """One role's way to its safe state: whether the command went through, what the instrument then reported."""

    role: str
    commanded: str  # "ok" or why not
    read_back: str  # the instrument's own report, or why it could not be read
    confirmed: bool | None  # read back as safe; None for a role this run never used
    seconds: float

    def describe(self) -> str:
        if self.confirmed is None:
            return f"{self.role}: not used by this run"
        verdict = "SAFE (read back)" if self.confirmed else "NOT CONFIRMED SAFE"
        return f"{self.role}: {verdict} in {self.seconds:.2f} s; command {self.commanded}; reads {self.read_back}"


def _time_box(bench, role: str, default_s: float) -> float:
    """A role's time box for its safe state: the bench file's ``safe_state_timeout_s`` (a site of 1,300 boards
    curtailed and read back one API at a time needs more than one instrument's 10 s), else the default."""
    spec = bench.roles.get(role) if bench is not None else None
    return float(spec.settings.get("safe_state_timeout_s", default_s)) if spec is not None else default_s


#: how often a read-back that is not yet safe is asked again (a container leaving boot, a source ramping down)
READ_BACK_POLL_S = 0.2


def _make_safe(role: str, driver, timeout_s: float) -> SafeStateRecord:
    """safe_state() then read_safe_state() in a worker thread, time-boxed.  The read-back is repeated until the
    role reports a safe state or the time box is nearly spent: a container told to curtail while it boots reports
    "booting" until its boards are asleep, and that is not yet safe, nor yet a failure."""
    result: dict = {"commanded": "not finished", "read_back": "not read", "confirmed": False}
    started = time.monotonic()
    # leave the last read-back time to answer inside the box, so its own words reach the record
    read_until = started + max(0.0, timeout_s - max(READ_BACK_POLL_S, 0.1 * timeout_s))

    def work() -> None:
        try:
            driver.safe_state()
            result["commanded"] = "ok"
        except Exception as exc:  # reported in the record; the read back still says where the instrument is
            result["commanded"] = f"failed: {type(exc).__name__}: {exc}"
        while True:
            try:
                report = driver.read_safe_state()
                result["read_back"], result["confirmed"] = report.detail, bool(report.safe)
            except Exception as exc:
                result["read_back"], result["confirmed"] = f"could not be read: {type(exc).__name__}: {exc}", False
                return
            if report.safe or time.monotonic() + READ_BACK_POLL_S > read_until:
                return
            time.sleep(READ_BACK_POLL_S)

    thread = threading.Thread(target=work, name=f"safe-state-{role}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    seconds = time.monotonic() - started
    if thread.is_alive():
        return SafeStateRecord(role, result["commanded"], f"no answer within {timeout_s:g} s", False, seconds)
    read_back = result["read_back"]
    if result["confirmed"] is False and not read_back.startswith("could not be read"):
        read_back += f" (still not safe after {seconds:.1f} s)"
    return SafeStateRecord(role, result["commanded"], read_back, result["confirmed"], seconds)


class Heartbeat:
    """Keeps the controller's comm-loss watchdog fed from its own connection while the run lives: if the runner
    dies (SIGKILL, power loss of the test PC) the heartbeats stop and the container goes to its safe state by
    itself within the watchdog time."""

    def __init__(self, controller: Controller, *, watchdog_s: float, period_s: float) -> None:
        if not 0 < period_s < watchdog_s:
            raise ValueError(f"heartbeat period {period_s} s must be shorter than the watchdog {watchdog_s} s")
        self.controller, self.watchdog_s, self.period_s = controller, watchdog_s, period_s
        self.beats = 0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controller-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self.controller.set_watchdog(self.watchdog_s)
        self.controller.heartbeat()  # the first write arms the watchdog
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.controller.heartbeat()
                self.beats += 1
            except Exception as exc:  # the watchdog will act; the run's own checks meet the fault
                self.error = exc
                log.error("controller heartbeat failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.controller.close()
        except Exception as exc:
            log.warning("closing the heartbeat connection failed: %s", exc)
