"""Every way out of a run reaches the safe state, reads it back and records it: a run stopped by a signal (as CI
cancellation, a dropped SSH session or Ctrl-C would) and a runner killed outright (the container's own watchdog)."""

import json
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import ROOT, loopback_block
from tests.system.conftest import external_bench


def start_run(tmp_path):
    report = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "-k", "boot",
         "--time-scale", "5", "--report", str(report), "--address-base", loopback_block()],
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


#: an exported bench is an external bench: never probed, its boot check runs only with what it relies on accepted
ACCEPTED_UNPROBED = [
    f"--accept-unverified={name}" for name in ("analyser:update_wait", "analyser:integration", "load:error_query")
]


def test_a_killed_runner_leaves_the_container_to_its_watchdog(tmp_path):
    """Runner death: `hilbench emulate --export-bench` serves a bench that outlives the run; the run arms the
    controller's comm-loss watchdog and feeds it; after kill -9 of the run the container curtails itself."""
    from pymodbus.client import ModbusTcpClient

    with external_bench(tmp_path / "exported.yaml", time_scale=10) as exported:
        plan = tmp_path / "boot.yaml"
        plan.write_text(RUN_ONLY_BOOT)
        report = tmp_path / "run"
        runner = subprocess.Popen(
            [sys.executable, "-m", "hilbench.cli", "run", str(plan), "--bench", str(exported), "--report", str(report),
             *ACCEPTED_UNPROBED],
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
