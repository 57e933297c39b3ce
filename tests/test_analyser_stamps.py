"""Time stamps that cannot drift silently: the analyser driver against its emulator (pyvisa), with the host slowed
between reads, as a busy test PC or a check doing work between updates would; and a time figure taken across
such stamps judged an error, never a verdict."""

from __future__ import annotations

import math
import time

import pytest

from hilbench.bench.session import BenchSession
from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.spec.bench_file import read_bench
from tests.conftest import ROOT, loopback_block

SCALE = 10.0  # an update of 50 ms is 5 ms of host time


@pytest.fixture(scope="module")
def bench():
    emulated = EmulatedBench(
        read_bench(ROOT / "instruments" / "emulated.yaml"), time_scale=SCALE, address_base=loopback_block()
    )
    with emulated as resolved:
        yield emulated, resolved


def reads(bench, count: int, pause_s: float):
    """A fresh analyser driver read ``count`` times ``pause_s`` apart: (the driver, [(stamp, the plant's own update
    time when the reply arrived, slack)])."""
    emulated, resolved = bench
    analyser = open_driver(resolved.roles["analyser"])
    out = []
    try:
        analyser.setup()
        for _ in range(count):
            reading = analyser.read()
            now = math.floor(emulated.clock.now() / 0.05 + 1e-9) * 0.05
            out.append((reading.time, now, reading.stamp_slack_s))
            time.sleep(pause_s)
    finally:
        analyser.close()
    return analyser, out


def test_a_host_that_keeps_up_stamps_every_update_exactly(bench):
    analyser, samples = reads(bench, 60, 0.0)
    origin = samples[0][1] - samples[0][0]
    assert all(slack == 0.0 for _, _, slack in samples)
    assert all(-1e-9 <= truth - origin - stamp <= 0.05 + 1e-9 for stamp, truth, _ in samples)  # within the update
    assert analyser.uncertain_updates == 0


def test_a_slowed_host_is_noticed_its_stamps_corrected_and_their_slack_bounds_the_error(bench):
    """12 ms of host time between reads is 120 ms of instrument time: two updates pass unread each time.  The
    one-bit update event would count them as one (stamps 70 ms short per read, 4 s after 60 reads); the driver
    counts the updates the gap certainly held and carries one update of slack per read."""
    analyser, samples = reads(bench, 60, 0.012)
    origin = samples[0][1] - samples[0][0]
    errors = [truth - origin - stamp for stamp, truth, _ in samples]
    assert analyser.uncertain_updates >= 50 and analyser.longest_gap_s >= 0.1
    assert all(-1e-9 <= error <= slack + 0.05 + 1e-9 for error, (_, _, slack) in zip(errors, samples, strict=True))
    assert max(errors) < 1.0  # corrected: counting one update per read would be ~4 s behind by now
    assert samples[-1][2] >= 50 * 0.05  # and every stamp says how far it may be short


class SlowHost:
    """A guard (BenchSession's hook for every driver of a run) that keeps the host busy before each analyser read."""

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s

    def wrap(self, role: str, driver):
        return _Slowed(driver, self.pause_s) if role == "analyser" else driver

    def permit(self, role: str, method: str) -> None:
        """Nothing is interlocked here."""


class _Slowed:
    def __init__(self, driver, pause_s: float) -> None:
        self._driver, self._pause_s = driver, pause_s

    def __getattr__(self, name: str):
        return getattr(self._driver, name)

    def read(self):
        time.sleep(self._pause_s)
        return self._driver.read()

    def trend(self, duration_s: float, *, on_sample=None):
        def slow(sample) -> None:
            time.sleep(self._pause_s)
            if on_sample:
                on_sample(sample)

        return self._driver.trend(duration_s, on_sample=slow)


def test_a_stop_time_timed_across_slack_beyond_the_checks_resolution_is_an_error_not_a_verdict(tmp_path):
    """The emergency stop timed from trend updates on a host 50 ms (1 s of plant time at x20) late for every
    update: no sample for over a second, enough to carry the figure across its 2 s limit, so it is recorded as an
    error that says why and what to do (tests/test_checks_in_process: a host that keeps up gets a pass)."""
    from hilbench.core.measurement import Limits
    from hilbench.plans.checks import REGISTRY, CheckContext
    from hilbench.plans.stamp_watch import StampWatch
    from hilbench.report.record_writer import RecordWriter
    from tests.test_checks_in_process import DUT

    emulated = EmulatedBench(
        read_bench(ROOT / "instruments" / "emulated.yaml"), time_scale=20.0, address_base=loopback_block()
    )
    with emulated as resolved:
        session = BenchSession(resolved, guard=SlowHost(0.05))
        try:
            ctx = CheckContext(
                "stop", "shutdown", session, DUT, RecordWriter(tmp_path / "run"),
                {"emergency_time_s": Limits(high=2.0)}, progress=lambda _: None,
                stamp_watch=StampWatch.open(session, REGISTRY["shutdown"].resolution_s),
            )  # fmt: skip
            REGISTRY["shutdown"].run(ctx, {**REGISTRY["shutdown"].params, "mode": "emergency"})
        finally:
            session.close()
    stop = {m.name: m for m in ctx.measured}["emergency_time_s"]
    assert stop.verdict == "error", stop
    assert "stamps may be short by up to" in stop.note + str(stop.extra) + stop.raw + _reason(stop)


def _reason(measurement) -> str:
    return " ".join(str(v) for v in vars(measurement).values())
