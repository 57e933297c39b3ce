"""What every check gets: the bench's drivers, the DUT ratings, the run record (RecordWriter), its declared limits.

A check is a function ``run(ctx, params)`` registered with ``@check(type, measurements, params)``;
its measurement names and units, and its parameters with defaults, are data the plan loader
validates against before anything runs.  All timing comes from instrument time stamps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hilbench.bench.session import BenchSession
from hilbench.bench.strategy import BenchStrategy, CheckAborted, WaitTimedOut
from hilbench.core.measurement import ERROR, FAIL, Limits, Measurement, judge
from hilbench.core.roles import Analyser, AnalyserReading, Boards, Controller, GridSource, Load
from hilbench.core.roles import Recorder as WaveformRecorder
from hilbench.core.units import SI_PER_UNIT
from hilbench.report.record_writer import RecordWriter, safe_file_name

__all__ = [
    "REGISTRY", "CheckAborted", "CheckContext", "Dut", "WaitTimedOut", "check", "first_time", "series", "settle_time",
]  # fmt: skip

#: SI value per declared display unit: checks compute in SI, measurements are shown in these units.


@dataclass(frozen=True)
class CheckType:
    name: str
    run: Callable
    measurements: dict[str, str]  # name -> unit
    params: dict[str, object]  # name -> default
    doc: str
    #: The time resolution its figures claim unless the plan says otherwise (s): on an emulated bench that lags
    #: more than this, its figures are errors.  None: its figures do not depend on when an instrument answered
    #: (waveforms and stored updates are redrawn at their own time stamps), so the lag is recorded, not judged.
    resolution_s: float | None = None
    #: The bench roles it cannot run without (optional ones, such as a grid source before a boot, are asked for
    #: with ``session.has_role``): a plan is refused before anything is energised when its bench lacks one.
    roles: tuple[str, ...] = ()
    #: The role methods it calls that a driver may mark unverified for that method only ("grid.program_steps",
    #: "analyser.record"), and the optional roles' methods it calls when the bench has them ("recorder.acquire"):
    #: what the commissioning gate (hilbench.plans.reliance) holds it to on a real bench.
    uses: tuple[str, ...] = ()


REGISTRY: dict[str, CheckType] = {}


def check(
    name: str,
    *,
    measurements: dict[str, str],
    params: dict[str, object],
    resolution_s: float | None,
    roles: tuple[str, ...] = (),
    uses: tuple[str, ...] = (),
):
    def register(fn):
        summary = next(iter((fn.__doc__ or "").strip().splitlines()), "")  # a check without a docstring is allowed
        REGISTRY[name] = CheckType(name, fn, measurements, params, summary, resolution_s, tuple(roles), tuple(uses))
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


@dataclass
class CheckContext:
    check_id: str
    check_type: str
    session: BenchSession
    dut: Dut
    run_record: RecordWriter
    limits: dict[str, Limits]
    attachments: list[tuple[str, str | bytes, str]] = field(default_factory=list)  # (name, content, mime)
    pending_charts: list[tuple[str, Callable[[], bytes]]] = field(default_factory=list)
    measured: list[Measurement] = field(default_factory=list)
    progress: Callable[[str], None] = print

    strategy: BenchStrategy | None = None
    #: An emulated bench's timekeeping (hilbench.plans.timekeeping.CheckTimekeeping): (why a figure taken now cannot be
    #: judged, a note) for (value, unit, limits); None on a real bench.
    timekeeping: object | None = None
    #: Whether the analyser's stamps held during this check (hilbench.plans.stamp_watch.StampWatch), on any bench.
    stamp_watch: object | None = None

    def __post_init__(self) -> None:
        if self.strategy is None:
            self.strategy = BenchStrategy(self.session, progress=self.progress)

    # ----- roles (through the strategy, typed by their protocols) -------------------------------
    @property
    def analyser(self) -> Analyser:
        return self.strategy.analyser

    @property
    def controller(self) -> Controller:
        return self.strategy.controller

    @property
    def grid(self) -> GridSource:
        return self.strategy.grid

    @property
    def waveform_recorder(self) -> WaveformRecorder:
        """The bench's recorder role (``ctx.run_record`` is the run's measurement record)."""
        return self.strategy.recorder

    @property
    def load(self) -> Load:
        return self.strategy.load

    @property
    def boards(self) -> Boards:
        return self.strategy.boards

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
        not_applicable: str = "",
        **extra,
    ) -> Measurement:
        """Record a measurement; ``value`` is in SI units (W, J, W/s, s, ...) and is shown in the unit the
        check declares for it (kW, kWh, kW/s): the one place a check's figures change unit."""
        guard = getattr(self.session, "guard", None)
        if guard is not None and value is not None:  # a figure computed after an interlock trip is not a measurement
            guard.permit("analyser", "read")
        limits = self.limits.get(name)
        declared = REGISTRY[self.check_type].measurements.get(name, "")
        if unit is None:
            unit = limits.unit if limits and limits.unit else declared
        scale = SI_PER_UNIT.get(declared, 1.0)
        shown = None if value is None else float(value) / scale
        untrusted = ""
        if self.timekeeping is not None and shown is not None:
            untrusted, remark = self.timekeeping.assess(shown, unit, limits, instrument_time)
            note = "; ".join(n for n in (note, remark) if n)
        if self.stamp_watch is not None and shown is not None:
            stamps, remark = self.stamp_watch.assess(shown, unit, limits, instrument_time)
            untrusted = untrusted or stamps
            note = "; ".join(n for n in (note, remark) if n)
        m = judge(
            self.check_id,
            name,
            shown,
            unit,
            limits,
            instrument_time=instrument_time,
            raw=raw,
            note=note,
            not_applicable=not_applicable,
            untrusted=untrusted,
            extra=extra,
        )
        self.measured.append(m)
        self.run_record.record(m)
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

    def attach_chart(self, name: str, draw: Callable[[], bytes]) -> None:
        """A chart (a hilbench.report.charts call), drawn when the check is over: drawing holds the interpreter
        for ~0.1 s, which an emulated bench in this process would count as lag inside the check."""
        self.pending_charts.append((name, draw))

    def draw_charts(self) -> list[str]:
        """Draw the pending charts: saved beside the raw data, attached, named in the record; what failed, said."""
        failed = []
        for name, draw in self.pending_charts:
            try:
                png = draw()
            except Exception as exc:  # a chart that cannot be drawn must not cost the figures: said in the record
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            relative = f"raw/{safe_file_name(f'{self.check_id}-{name}')}.png"
            (self.run_record.run_dir / relative).write_bytes(png)
            self.attachments.append((name, png, "image/png"))
            self.run_record.event("chart", check=self.check_id, name=name, file=relative)
        self.pending_charts.clear()
        return failed

    # ----- bench helpers (the strategy's) -------------------------------------------------------
    def trend(self, seconds: float, label: str = "") -> list[AnalyserReading]:
        return self.strategy.trend(seconds, f"{self.check_id}: {label}")

    def wait_for(self, condition: Callable, timeout_s: float, what: str) -> list[AnalyserReading]:
        return self.strategy.wait_for(condition, timeout_s, what)

    def prepare_running(self, percent: float = 100.0, timeout_s: float = 400.0) -> None:
        self.strategy.prepare_running(self.rated_w, percent, timeout_s)

    def now(self) -> float:
        return self.strategy.now()

    def command(self, send: Callable[[], object]) -> float:
        return self.strategy.command(send)


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
