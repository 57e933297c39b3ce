"""Injected faults (hilbench.spec.fault_spec, hilbench.emulation.faults): each one ends the check it hits with an error
that names the instrument, its address and the fault; never a pass, never a hang; the bench ends safe (read back)
and the checks that follow still run and pass."""

import json
import re
import subprocess
import sys
import time

import pytest
import yaml

from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.spec.bench_file import read_bench
from hilbench.spec.fault_spec import FaultSpec, FaultSpecError, parse_fault, parse_faults
from hilbench.transports.errors import InstrumentConnectionError
from tests.conftest import ROOT

THREE_CHECKS = """\
plan: three-power-factor-checks
dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}
checks:
""" + "".join(
    f"  - {{id: {name}, type: power_factor, params: {{levels_percent: [{level}], settle_s: 2}}, "
    "limits: {power_factor_min: {min: 0.9}}}\n"
    for name, level in (("first", 50), ("second", 100), ("third", 100))
)


def test_the_command_line_form_and_the_bench_file_form_parse_and_refuse_clearly():
    assert parse_fault("grid:timeout@30") == FaultSpec("grid", "timeout", 30.0)
    assert parse_fault("controller:modbus-exception") == FaultSpec("controller", "modbus-exception", 0.0)
    for bad, words in [
        ("grid-timeout", "expected ROLE:KIND[@SECONDS]"),
        ("grid:modbus-exception@3", "grid cannot be given fault 'modbus-exception'"),
        ("pump:timeout", "no fault target 'pump'"),
        ("boards:timeout", "LuxOS link faults are not emulated yet"),
        ("grid:timeout@-3", "expected ROLE:KIND"),
    ]:
        with pytest.raises(FaultSpecError, match=re.escape(words)):
            parse_fault(bad)
    assert parse_faults([{"role": "controller", "kind": "ignores-setpoints", "requests": 1}], "b.yaml")[0].requests == 1
    with pytest.raises(FaultSpecError, match=r"b.yaml: faults\[0\]: unknown keys when"):
        parse_faults([{"role": "grid", "kind": "drop", "when": 3}], "b.yaml")


def _run_with_faults(tmp_path, faults: list[dict]):
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    bench["faults"] = faults
    bench_file, plan_file, report = tmp_path / "bench.yaml", tmp_path / "plan.yaml", tmp_path / "run"
    bench_file.write_text(yaml.safe_dump(bench))
    plan_file.write_text(THREE_CHECKS)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "run", str(plan_file), "--bench", str(bench_file),
         "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=240,
    )  # fmt: skip
    records = [json.loads(line) for line in (report / "measurements.jsonl").read_text().splitlines()]
    return proc, records, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault, words",
    [
        ({"role": "grid", "kind": "timeout"}, "no reply within 5000 ms"),
        ({"role": "grid", "kind": "delay"}, "no reply within 5000 ms"),
        ({"role": "grid", "kind": "drop"}, "grid at TCPIP::127.0.0.1::"),
        ({"role": "grid", "kind": "garbage"}, "reply is not text"),
        ({"role": "grid", "kind": "scpi-error"}, "instrument error -200, 'Execution error; injected fault"),
        # an exception answer is not retried (the device said no), so one request is the whole fault here
        ({"role": "controller", "kind": "modbus-exception", "requests": 1}, "Modbus exception 4 (device failure)"),
        ({"role": "controller", "kind": "garbage"}, "controller at tcp://127.0.0.1:"),
        ({"role": "controller", "kind": "ignores-setpoints", "requests": 1}, "steady 50 % power not reached"),
    ],
    ids=lambda v: v["kind"] if isinstance(v, dict) else "",
)
def test_a_fault_errors_the_check_it_hits_and_the_bench_ends_safe(tmp_path, fault, words):
    proc, records, elapsed = _run_with_faults(tmp_path, [{**fault, "at_s": 0}])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "PLAN FAILED" in out, out[-3000:]
    verdicts = {r["check"]: r for r in records if r["record"] == "measurement"}
    first = verdicts["first"]
    assert first["verdict"] == "error", first  # never a pass
    assert words in first["note"], first["note"]
    assert f"injected fault(s) hit during this check: {fault['role']}:{fault['kind']}@0" in first["note"]
    assert verdicts["second"]["verdict"] == "pass" and verdicts["third"]["verdict"] == "pass", verdicts
    safe = {r["role"]: r for r in records if r["record"] == "safe_state"}
    assert safe["grid"]["confirmed"] and safe["controller"]["confirmed"], safe
    assert all(r["confirmed"] is not False for r in safe.values()), safe
    hits = [r for r in records if r["record"] == "fault_hit"]
    assert hits and all(h["check"] == "first" for h in hits), hits
    assert elapsed < 90  # never a hang: three timeouts of 5 s at most, plus the run
    print(f"{fault['role']}:{fault['kind']}: first check error ({first['note'][:90]}...), "
          f"{len(hits)} hits, run {elapsed:.1f} s; safe: {safe['controller']['read_back']}")  # fmt: skip


@pytest.mark.slow
def test_a_dead_board_is_named_and_the_others_are_still_curtailed():
    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    emulated = EmulatedBench(bench, time_scale=50, faults=(parse_fault("boards:board-dies@0"),))
    resolved = emulated.start()
    try:
        boards = open_driver(resolved.role("boards"))
        deadline = time.monotonic() + 10
        while not emulated.fault_log and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulated.fault_log and emulated.fault_log[0]["fault"] == "boards:board-dies@0"
        with pytest.raises(InstrumentConnectionError, match=r"127\.0\.0\.31: detect: 1 board\(s\) not found by pyasic"):
            boards.read()
        with pytest.raises(InstrumentConnectionError, match=r"127\.0\.0\.31: curtail"):
            boards.safe_state()
        report = boards.read_safe_state()
        assert not report.safe and "29 boards curtailed" in report.detail and "127.0.0.31" in report.detail, report
        dead = emulated.site.boards[29].model
        assert dead.dead and dead.current_wall_w() == pytest.approx(0.0, abs=1e-6)
    finally:
        emulated.stop()


@pytest.mark.slow
def test_hilbench_emulate_injects_a_fault_that_any_visa_client_meets():
    import pyvisa

    proc = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "emulate", "--boards", "2", "--address-base", "127.0.46.2",
         "--inject-fault", "grid:scpi-error@0", "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        endpoints = {}
        for line in proc.stdout:
            entry = json.loads(line)
            if entry.get("ready"):
                break
            endpoints[entry["role"]] = entry["address"]
        grid = pyvisa.ResourceManager("@py").open_resource(endpoints["grid"], read_termination="\n", timeout=5000)
        grid.write("VOLT 231")  # refused: the fault's first command
        assert grid.query("SYST:ERR?").startswith('-200,"Execution error; injected fault; VOLT 231')
        assert grid.query("SYST:ERR?").startswith(("0,", "+0,"))
        grid.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with pytest.raises(SystemExit):  # a fault the role cannot take is refused by the command line
        from hilbench.cli import main

        main(["emulate", "--inject-fault", "meter:scpi-error"])


@pytest.mark.slow
def test_a_fault_after_every_figure_was_taken_still_fails_the_check(tmp_path):
    """The ramp check's last command (power back to rated) meets the fault after its figures passed: the check
    must not pass (it used to: the error was dropped because no figure was left unmeasured)."""
    report = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "-k", "ramp",
         "--inject-fault", "controller:timeout@100", "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    records = [json.loads(line) for line in (report / "measurements.jsonl").read_text().splitlines()]
    end = next(r for r in records if r["record"] == "check_end" and r["check"] == "ramp-range")
    errored = [r for r in records if r["record"] == "measurement" and r["verdict"] == "error"]
    assert end["error"] or errored, end  # wherever the fault landed, the check did not end cleanly
    assert proc.returncode == 1 and "PLAN FAILED" in proc.stdout
    if end["error"]:
        assert "CHECK ERROR: ramp-range: InstrumentTimeout: controller at tcp://127.0.0.1:" in proc.stdout
        assert "injected fault(s) hit during this check: controller:timeout@100" in end["error"]
