"""Every way out of a run reaches the safe state, reads it back and records it; a role not confirmed safe fails
the run; one unresponsive instrument does not hold up the others."""

import threading
import time

from hilbench.bench.strategy import BenchStrategy
from hilbench.core.roles import SafeStateReport


class _Session:
    """The part of a BenchSession the strategy's safe state uses (pure logic under test)."""

    def __init__(self, drivers: dict) -> None:
        self._drivers = drivers

    def opened(self) -> dict:
        return dict(self._drivers)


class _Driver:
    def __init__(self, *, hang: bool = False, safe: bool = True, fail: bool = False) -> None:
        self.hang, self.safe, self.fail = hang, safe, fail
        self.commanded = threading.Event()

    def safe_state(self) -> None:
        if self.fail:
            raise OSError("connection reset")
        if self.hang:
            time.sleep(5)
        self.commanded.set()

    def read_safe_state(self) -> SafeStateReport:
        return SafeStateReport(self.safe, "output OFF" if self.safe else "output ON")


def test_each_role_is_commanded_read_back_and_time_boxed_in_role_order():
    drivers = {
        "grid": _Driver(safe=False),
        "load": _Driver(hang=True),
        "controller": _Driver(fail=True),
        "meter": _Driver(),
    }
    started = time.monotonic()
    records = BenchStrategy(_Session(drivers)).safe_state(timeout_s=0.3)
    assert time.monotonic() - started < 2.0  # the hanging load did not hold up the others
    assert [r.role for r in records] == ["load", "controller", "grid", "meter"]  # ROLE_PROTOCOLS order
    by = {r.role: r for r in records}
    assert not by["load"].confirmed and "no answer within 0.3 s" in by["load"].read_back
    assert by["controller"].commanded.startswith("failed: OSError") and by["controller"].confirmed  # reads safe
    assert not by["grid"].confirmed and by["grid"].read_back.startswith("output ON (still not safe after")
    assert by["meter"].confirmed and by["meter"].commanded == "ok"
    assert all(r.seconds >= 0 for r in records)


class _Booting(_Driver):
    """A container told to curtail while it boots: it reports 'booting' until its boards are asleep."""

    def __init__(self, unsafe_reads: int) -> None:
        super().__init__()
        self.unsafe_reads, self.reads = unsafe_reads, 0

    def read_safe_state(self) -> SafeStateReport:
        self.reads += 1
        if self.reads <= self.unsafe_reads:
            return SafeStateReport(False, "state booting, 8.0 kW, 0 online")
        return SafeStateReport(True, "state curtailed, 0.8 kW, 0 online")


def test_the_read_back_waits_within_the_time_box_for_a_safe_state():
    records = BenchStrategy(_Session({"controller": _Booting(unsafe_reads=3)})).safe_state(timeout_s=5.0)
    (record,) = records
    assert record.confirmed and record.read_back.startswith("state curtailed")
    assert 0.5 <= record.seconds < 2.0  # three reads 0.2 s apart, then the safe one: how long it took is recorded
    slow = BenchStrategy(_Session({"controller": _Booting(unsafe_reads=1000)})).safe_state(timeout_s=1.0)
    assert slow[0].confirmed is False and slow[0].read_back.startswith("state booting, 8.0 kW, 0 online (still not")
    assert slow[0].seconds <= 1.0


def test_a_role_the_bench_file_gives_a_longer_time_box_gets_it():
    """A site's boards (1,300 APIs curtailed and read back) declare their own ``safe_state_timeout_s``."""
    from types import SimpleNamespace

    session = _Session({"boards": _Driver(hang=True), "load": _Driver(hang=True)})
    session.bench = SimpleNamespace(
        roles={"boards": SimpleNamespace(settings={"safe_state_timeout_s": 0.6}), "load": SimpleNamespace(settings={})}
    )
    records = {r.role: r for r in BenchStrategy(session).safe_state(timeout_s=0.2)}
    assert "no answer within 0.6 s" in records["boards"].read_back and records["boards"].seconds >= 0.6
    assert "no answer within 0.2 s" in records["load"].read_back
