"""Injected faults as data (hilbench.spec.fault_spec) and on an emulated bench in this process (a board that dies);
the runs a fault errs are in tests/system/test_fault_injection_runs.py."""

import re
import time
from ipaddress import IPv4Address

import pytest

from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.spec.bench_file import read_bench
from hilbench.spec.fault_spec import FaultSpec, FaultSpecError, parse_fault, parse_faults
from hilbench.transports.errors import InstrumentConnectionError, InstrumentError
from tests.conftest import ROOT


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


@pytest.mark.slow
def test_a_dead_board_is_named_and_the_others_are_still_curtailed(loopback_base):
    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    dead_address = re.escape(str(IPv4Address(loopback_base) + 29))  # the 30th board dies
    emulated = EmulatedBench(
        bench, time_scale=50, faults=(parse_fault("boards:board-dies@0"),), address_base=loopback_base
    )
    resolved = emulated.start()
    try:
        boards = open_driver(resolved.role("boards"))
        deadline = time.monotonic() + 10
        while not emulated.fault_log and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulated.fault_log and emulated.fault_log[0]["fault"] == "boards:board-dies@0"
        with pytest.raises(
            InstrumentConnectionError, match=dead_address + r": detect: 1 board\(s\) not found by pyasic"
        ):
            boards.read()
        with pytest.raises(InstrumentConnectionError, match=dead_address + ": curtail"):
            boards.safe_state()
        report = boards.read_safe_state()
        assert (
            not report.safe
            and "29 boards curtailed" in report.detail
            and str(IPv4Address(loopback_base) + 29) in report.detail
        ), report
        dead = emulated.site.boards[29].model
        assert dead.dead and dead.current_wall_w() == pytest.approx(0.0, abs=1e-6)
    finally:
        emulated.stop()


def _read(driver):
    return driver.read()


def _command(driver):  # a setting: a SCPI instrument refuses a command, not a query
    return driver.set_voltage(230.0)


@pytest.mark.parametrize(
    "fault, role, words, send",
    [
        ("grid:scpi-error@0", "grid", "instrument error -200, 'Execution error; injected fault", _command),
        ("grid:garbage@0", "grid", "reply is not text", _read),
        ("controller:modbus-exception@0", "controller", "Modbus exception 4 (device failure)", _read),
    ],
    ids=["scpi-error", "garbage", "modbus-exception"],
)
def test_a_link_fault_meets_the_driver_through_the_fault_proxy_and_then_clears(loopback_base, fault, role, words, send):
    """The emulator's fault proxy in front of the real server (in this process): the driver's next request meets
    the fault with an error naming the instrument; after the fault's requests the instrument answers again."""
    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    spec = parse_fault(fault)
    with EmulatedBench(bench, time_scale=20, faults=(spec,), address_base=loopback_base) as resolved:
        driver = open_driver(resolved.role(role))
        try:
            with pytest.raises(InstrumentError, match=re.escape(words)) as caught:
                for _ in range(spec.requests + 1):  # a fault may let a first exchange through, never all of them
                    send(driver)
            assert role in str(caught.value)
            for _ in range(spec.requests + 1):  # the fault's requests spent: it answers again
                try:
                    send(driver)
                    break
                except InstrumentError:
                    continue
            else:
                pytest.fail(f"{role} never answered again after {fault}")
        finally:
            driver.close()
