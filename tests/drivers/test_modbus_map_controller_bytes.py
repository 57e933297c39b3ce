"""Map-driven container controller, byte for byte (unit id + Modbus PDU).  The register map is hilbench's
reference controller map (docs/controller_register_map.md, hilbench/data/maps/reference_controller.yaml);
function codes per the Modbus Application Protocol Specification V1.1b3 (6.4 FC04, 6.6 FC06, 7 exceptions)."""

import pytest

from hilbench.core.errors import LimitError
from hilbench.core.roles import ControllerMode, ControllerState, TripCause, UnderFrequencyAction
from hilbench.drivers.controller.modbus_map import ModbusMapController
from hilbench.protocols.register_map import RegisterMap
from hilbench.testing import expected_protocol, modbus_read_reply
from hilbench.transports.errors import ModbusExceptionError


def controller(transport):
    return ModbusMapController(
        transport, RegisterMap.load("reference"), limits={"max_power_kw": 97.5, "max_ramp_kw_s": 50.0}
    )


def write(register: int, value: int) -> tuple[str, str]:
    """FC06 write single register; the device echoes the request."""
    frame = f"01 06 {register:04X} {value:04X}"
    return frame, frame


def test_setpoints_in_watts_become_tenths_of_kw():
    exchanges = [
        write(0, 600),  # map: setpoint_kw at 0, x0.1 kW -> 60 kW
        write(2, 500),  # map: ramp_kw_s at 2, x0.1 kW/s -> 50 kW/s
        write(1, 1),  # map: mode at 1, run = 1
        write(1, 4),  # emergency_stop = 4
        write(3, 1),  # map: heartbeat at 3
        write(6, 10),  # map: watchdog_s at 6
    ]
    with expected_protocol(controller, exchanges, kind="modbus") as c:
        c.set_power(60_000.0)
        c.set_ramp(50_000.0)
        c.set_mode(ControllerMode.RUN)
        c.set_mode("emergency_stop")
        c.heartbeat()
        c.set_watchdog(10)


def test_under_frequency_settings():
    exchanges = [write(4, 4950), write(5, 100), write(7, 1)]  # 0.01 Hz, ms, curtail = 1
    with expected_protocol(controller, exchanges, kind="modbus") as c:
        c.configure_under_frequency(49.5, 0.1, UnderFrequencyAction.CURTAIL)


def test_status_is_one_input_register_read():
    registers = [2, 612, 29, 0, 12_345, 0, 23_456, 4998, 0, 30_000, 0, 975, 30, 1]
    exchanges = [("01 04 0000 000E", modbus_read_reply(1, 0x04, registers))]  # FC04 from 0, 14 registers
    with expected_protocol(controller, exchanges, kind="modbus") as c:
        status = c.read()
    assert status.state is ControllerState.RUNNING and status.trip_cause is TripCause.NONE
    assert status.power_w == pytest.approx(61_200.0) and status.rated_power_w == pytest.approx(97_500.0)
    assert status.last_setpoint_change_s == 12.345 and status.time_s == 30.0
    assert status.grid_frequency_hz == pytest.approx(49.98) and status.boards_total == 30
    assert status.boards_held == 1  # register 13: curtailed through its own API, not dispatched


def test_safe_state_curtails():
    with expected_protocol(controller, [write(1, 2)], kind="modbus") as c:  # curtail = 2
        c.safe_state()


def test_refusals_send_nothing():
    with (
        expected_protocol(controller, [], kind="modbus") as c,
        pytest.raises(LimitError, match=r"above the bench limit 97.5"),
    ):
        c.set_power(98_000.0)
        with pytest.raises(LimitError, match=r"above the bench limit 50"):
            c.set_ramp(60_000.0)
        with pytest.raises(ValueError, match=r"unknown mode"):
            c.set_mode("warp")


def test_an_exception_response_names_the_device_and_request():
    exchanges = [("01 06 0001 0001", "01 86 03")]  # exception 3: illegal data value
    with (
        expected_protocol(controller, exchanges, kind="modbus", name="controller") as c,
        pytest.raises(ModbusExceptionError, match=r"controller at .*write holding 1=1.*illegal data value"),
    ):
        c.set_mode(ControllerMode.RUN)


def test_identify_reads_the_status_block():
    registers = [0, 0, 0, 0, 0, 0, 0, 5000, 0, 0, 0, 975, 30, 0]
    exchanges = [("01 04 0000 000E", modbus_read_reply(1, 0x04, registers))]
    with expected_protocol(controller, exchanges, kind="modbus") as c:
        assert c.identify() == "hilbench reference controller (unit 1): rated 97.5 kW, 30 boards, state off"
