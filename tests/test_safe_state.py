"""Every way out of a run reaches the safe state, reads it back and records it; a role not confirmed safe fails
the run; one unresponsive instrument does not hold up the others."""

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from hilbench.bench.strategy import BenchStrategy
from hilbench.core.roles import SafeStateReport
from tests.conftest import ROOT


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


def start_run(tmp_path):
    report = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "-k", "boot",
         "--time-scale", "5", "--report", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    jsonl = report / "measurements.jsonl"
    while time.monotonic() < deadline:
        if jsonl.exists() and '"check_start"' in jsonl.read_text():
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the run never started its check")
    time.sleep(1.0)  # inside the boot check (about 20 s of wall time at x5)
    return proc, jsonl


@pytest.mark.slow
@pytest.mark.parametrize("signals", [("SIGTERM",), ("SIGHUP",), ("SIGINT", "SIGINT")])
def test_a_signalled_run_ends_safe_and_says_so(tmp_path, signals):
    proc, jsonl = start_run(tmp_path)
    sent = time.monotonic()
    for name in signals:
        proc.send_signal(getattr(signal, name))
        time.sleep(0.05)  # a second Ctrl-C lands while the bench is being made safe
    out, _ = proc.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert proc.returncode != 0, out[-2000:]
    assert "PLAN FAILED" in out
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    safe = {r["role"]: r for r in records if r["record"] == "safe_state"}
    assert {"controller", "analyser"} <= {role for role, r in safe.items() if r["confirmed"]}, out[-2000:]
    assert all(r["confirmed"] is not False for r in safe.values()), safe  # the rest were never used by the run
    assert safe["grid"]["read_back"] == "not used by this run"
    assert safe["controller"]["read_back"].startswith(("state curtailed", "state off", "state tripped"))
    assert elapsed < 30
    print(f"{'+'.join(signals)}: exit {proc.returncode} after {elapsed:.1f} s;",
          {role: (r["read_back"], round(r["seconds"], 2)) for role, r in safe.items()})  # fmt: skip


RUN_ONLY_BOOT = """\
plan: boot-only
dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}
checks:
  - {id: boot, type: boot, limits: {boot_time_s: {max: 200}}}
"""


@pytest.mark.slow
def test_a_killed_runner_leaves_the_container_to_its_watchdog(tmp_path):
    """Runner death: `hilbench emulate --export-bench` serves a bench that outlives the run; the run arms the
    controller's comm-loss watchdog and feeds it; after kill -9 of the run the container curtails itself."""
    from pymodbus.client import ModbusTcpClient

    exported = tmp_path / "exported.yaml"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "emulate", "--time-scale", "10", "--address-base", "127.0.51.2",
         "--export-bench", str(exported)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        for line in emulator.stdout:
            if '"ready"' in line:
                break
        plan = tmp_path / "boot.yaml"
        plan.write_text(RUN_ONLY_BOOT)
        report = tmp_path / "run"
        runner = subprocess.Popen(
            [sys.executable, "-m", "hilbench.cli", "run", str(plan), "--bench", str(exported), "--report", str(report)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        jsonl = report / "measurements.jsonl"
        deadline = time.monotonic() + 60
        while not (jsonl.exists() and '"check_start"' in jsonl.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        armed = [json.loads(line) for line in jsonl.read_text().splitlines() if '"watchdog_armed"' in line]
        assert armed and armed[0]["watchdog_s"] == 10.0
        time.sleep(1.5)  # the container is booting under the run's control
        runner.kill()  # SIGKILL: no teardown, no safe state from the runner
        killed = time.monotonic()
        runner.wait(timeout=10)
        bench = yaml.safe_load(exported.read_text())
        host, port = bench["roles"]["controller"]["address"][len("tcp://") :].rsplit(":", 1)
        client = ModbusTcpClient(host, port=int(port))
        assert client.connect()
        try:
            cause = 0
            while time.monotonic() - killed < 10 and cause != 3:  # trip cause 3: watchdog (register map)
                cause = client.read_input_registers(10, count=1, device_id=1).registers[0]
                time.sleep(0.05)
            mode = client.read_holding_registers(1, count=1, device_id=1).registers[0]
        finally:
            client.close()
        elapsed = time.monotonic() - killed
        assert cause == 3 and mode == 2, (cause, mode)  # curtailed by its own watchdog
        assert elapsed < 10.0 / 10 + 2.0  # the watchdog's 10 plant seconds at x10, plus polling
        print(f"kill -9 of the runner: the container curtailed itself {elapsed:.2f} s (wall) later")
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
