import struct

import pytest
from pymodbus.client import ModbusTcpClient

from hilbench.errors import LimitError
from hilbench.transports.errors import ModbusExceptionError


def test_load_power_adds_at_the_pcc(hil_driver):
    load, meter = hil_driver("load"), hil_driver("meter")
    assert "63804" in load.identify()
    before = meter.read().power_total
    load.set_power(3000.0)
    load.on()
    assert load.measure_power() == pytest.approx(3000.0)
    after = meter.read().power_total
    assert after - before == pytest.approx(3000.0, rel=0.05)
    load.safe_state()
    assert load.transport.query("LOAD?") == "OFF"
    with pytest.raises(LimitError):
        load.set_power(5000.0)


def test_meter_agrees_with_the_analyser(hil_driver):
    meter, analyser = hil_driver("meter"), hil_driver("analyser")
    analyser.setup()
    m = meter.read()
    a = analyser.read()
    assert m.power_total == pytest.approx(a.p_total, rel=0.05)
    assert m.frequency == pytest.approx(a.frequency, abs=0.05)
    assert m.voltage[0] == pytest.approx(a.urms[0], rel=0.01)
    assert m.import_kwh > 0


def test_controller_status_and_setpoint_step_with_timestamps(hil_driver):
    controller, analyser = hil_driver("controller"), hil_driver("analyser")
    analyser.setup()
    status = controller.read_status()
    assert status.boards_total == 30 and status.rated_power_kw == pytest.approx(97.5)
    controller.set_mode("run")
    controller.set_ramp_kw_s(50.0)
    controller.set_setpoint_kw(60.0)
    status = controller.read_status()
    assert status.last_setpoint_change_s <= status.time_s
    samples = analyser.trend(6.0)
    assert samples[-1].p_total < 65_000
    controller.set_setpoint_kw(97.5)
    with pytest.raises(LimitError):
        controller.set_setpoint_kw(120.0)


def test_modbus_exceptions_name_the_device(hil_bench, hil_driver):
    controller = hil_driver("controller")
    with pytest.raises(ModbusExceptionError) as bad_value:
        controller.transport.write_register(1, 9)  # mode 9 does not exist
    assert bad_value.value.code == 3 and "controller" in str(bad_value.value)
    with pytest.raises(ModbusExceptionError) as bad_address:
        controller.transport.read_input(200, 2)
    assert bad_address.value.code == 2
    assert controller.read_status().boards_total == 30  # still serving


def test_a_generic_modbus_client_reads_the_documented_registers(hil_bench):
    """pymodbus as a plain third-party client, using only docs/controller_register_map.md and the SDM630 sheet."""
    host, port = hil_bench.role("controller").address[len("tcp://") :].rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port))
    assert client.connect()
    try:
        regs = client.read_input_registers(0, count=13, device_id=1).registers
        assert regs[12] == 30 and regs[11] == 975  # boards total, rated power (0.1 kW)
        assert 4900 <= regs[7] <= 5100  # grid frequency, 0.01 Hz
    finally:
        client.close()
    host, port = hil_bench.role("meter").address[len("tcp://") :].rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port))
    assert client.connect()
    try:
        regs = client.read_input_registers(0x46, count=2, device_id=1).registers
        assert struct.unpack(">f", struct.pack(">HH", *regs))[0] == pytest.approx(50.0, abs=0.5)
    finally:
        client.close()
