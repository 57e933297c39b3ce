"""What every check gets: the bench's drivers, the DUT ratings, the recorder, its declared limits.

A check is a function ``run(ctx, params)`` registered with ``@check(type, measurements, params)``;
its measurement names and units, and its parameters with defaults, are data the plan loader
validates against before anything runs.  All timing comes from instrument time stamps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hilbench.measurement import ERROR, FAIL, Limits, Measurement, judge
from hilbench.report.recorder import Recorder
from hilbench.session import BenchSession


@dataclass(frozen=True)
class CheckType:
    name: str
    run: Callable
    measurements: dict[str, str]  # name -> unit
    params: dict[str, object]  # name -> default
    doc: str


REGISTRY: dict[str, CheckType] = {}


def check(name: str, *, measurements: dict[str, str], params: dict[str, object]):
    def register(fn):
        REGISTRY[name] = CheckType(name, fn, measurements, params, (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return register


@dataclass(frozen=True)
class Dut:
    name: str
    rated_kw: float
    boards: int
    voltage_v: float  # line-to-line
    frequency_hz: float
    isc_ka: float
    contract_kw: float
    serials: tuple[str, ...] = ()


class CheckAborted(Exception):
    """A check could not establish its preconditions (the bench did not reach the state it needs)."""


@dataclass
class CheckContext:
    check_id: str
    check_type: str
    session: BenchSession
    dut: Dut
    recorder: Recorder
    limits: dict[str, Limits]
    attachments: list[tuple[str, str, str]] = field(default_factory=list)  # (name, content, mime)
    measured: list[Measurement] = field(default_factory=list)
    progress: Callable[[str], None] = print

    # ----- drivers ------------------------------------------------------------------------
    @property
    def analyser(self):
        return self.session.driver("analyser")

    @property
    def controller(self):
        return self.session.driver("controller")

    @property
    def grid(self):
        return self.session.driver("grid")

    @property
    def load(self):
        return self.session.driver("load")

    @property
    def boards(self):
        return self.session.driver("boards")

    @property
    def rated_w(self) -> float:
        return self.dut.rated_kw * 1000

    # ----- measurements -----------------------------------------------------------------
    def measure(
        self,
        name: str,
        value,
        *,
        unit: str | None = None,
        instrument_time: float | None = None,
        raw: str = "",
        note: str = "",
        **extra,
    ) -> Measurement:
        limits = self.limits.get(name)
        if unit is None:
            unit = limits.unit if limits and limits.unit else REGISTRY[self.check_type].measurements.get(name, "")
        m = judge(
            self.check_id,
            name,
            None if value is None else float(value),
            unit,
            limits,
            instrument_time=instrument_time,
            raw=raw,
            note=note,
            extra=extra,
        )
        self.measured.append(m)
        self.recorder.record(m)
        return m

    def unmeasured(self, reason: str) -> None:
        """Declared limits that never got a value (the check errored first): recorded as errors."""
        done = {m.name for m in self.measured}
        for name, limits in self.limits.items():
            if name not in done:
                self.measure(name, None, unit=limits.unit, note=f"not measured: {reason}")

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measured if m.verdict in (FAIL, ERROR)]

    def attach_svg(self, name: str, svg: str) -> None:
        self.attachments.append((name, svg, "image/svg+xml"))
        path = self.recorder.run_dir / "raw" / f"{self.check_id}-{name}.svg"
        path.write_text(svg, encoding="utf-8")

    # ----- bench helpers ----------------------------------------------------------------
    def trend(self, seconds: float, label: str = "") -> list:
        """Analyser samples for ``seconds`` of instrument time, with progress for long ones."""
        last = [time.monotonic()]

        def tick(sample) -> None:
            if time.monotonic() - last[0] > 2.0:
                last[0] = time.monotonic()
                self.progress(f"  {self.check_id}: {label} t={sample.time:.1f} s  P={sample.p_total / 1000:.1f} kW")

        return self.analyser.trend(seconds, on_sample=tick)

    def wait_for(self, condition: Callable, timeout_s: float, what: str) -> list:
        """Trend until ``condition(sample)`` holds; CheckAborted (with the last value) after timeout_s."""
        samples = [self.analyser.read()]
        deadline = samples[0].time + timeout_s
        while not condition(samples[-1]):
            if samples[-1].time > deadline:
                raise CheckAborted(
                    f"{what} not reached within {timeout_s:g} s of instrument time "
                    f"(last: P = {samples[-1].p_total / 1000:.1f} kW, f = {samples[-1].frequency:.3f} Hz)"
                )
            time.sleep(0.0005)
            reading = self.analyser.read()
            if reading.time > samples[-1].time:
                samples.append(reading)
        return samples

    def prepare_running(self, percent: float = 100.0, timeout_s: float = 400.0) -> None:
        """The container running at ``percent`` of rated power, steady, grid nominal, load off."""
        if self.session.has_role("load"):
            self.load.safe_state()
        if self.session.has_role("grid"):
            self.grid.safe_state()
        controller = self.controller
        controller.set_ramp_kw_s(min(50.0, self.dut.rated_kw))
        controller.set_setpoint_kw(self.dut.rated_kw * percent / 100)
        if controller.read_status().state in ("tripped", "off", "stopping", "curtailed"):
            controller.set_mode("off")
            self.wait_for(lambda s: controller.read_status().state == "off", 120, "container off")
        controller.set_mode("run")
        target = self.rated_w * percent / 100
        self.wait_for(
            lambda s: abs(s.p_total - target) < 0.03 * self.rated_w + 1000, timeout_s, f"steady {percent:g} % power"
        )
        samples = self.trend(2.0, "settling")
        if np.ptp([s.p_total for s in samples]) > 0.03 * self.rated_w:
            self.wait_for(lambda s: abs(s.p_total - target) < 0.02 * self.rated_w + 1000, timeout_s, "steady power")

    def now(self) -> float:
        """Instrument time of the latest analyser update (the command-time reference)."""
        return self.analyser.read().time

    def command(self, send: Callable[[], object]) -> float:
        """Send a command and return its instrument time: the midpoint of the analyser stamps read just
        before and just after it (the bracket is the time-stamp uncertainty, one round trip or two)."""
        before = self.now()
        send()
        return (before + self.now()) / 2


def series(samples: list, attr: str = "p_total") -> tuple[np.ndarray, np.ndarray]:
    return np.array([s.time for s in samples]), np.array([getattr(s, attr) for s in samples], dtype=float)


def first_time(times: np.ndarray, mask: np.ndarray) -> float | None:
    idx = np.flatnonzero(mask)
    return float(times[idx[0]]) if idx.size else None


def settle_time(times: np.ndarray, values: np.ndarray, target: float, band: float, start: float) -> float | None:
    """Time from ``start`` after which the values stay within target +- band to the end."""
    inside = np.abs(values - target) <= band
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    if outside.size == 0:
        return 0.0
    return float(times[min(outside[-1] + 1, len(times) - 1)] - start)
