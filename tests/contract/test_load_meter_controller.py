import struct

import pytest
from pymodbus.client import ModbusTcpClient

from hilbench.core.errors import LimitError
from hilbench.core.roles import ControllerMode, ControllerState
from hilbench.transports.errors import ModbusExceptionError


def test_load_power_adds_at_the_pcc(hil_driver, hil_expected):
    load, meter = hil_driver("load"), hil_driver("meter")
    assert load.identify()
    max_w = hil_expected.limit("load", "max_power_w")
    if max_w is None:
        pytest.fail("a load role needs a max_power_w limit in the bench file")
    watts = round(0.6 * max_w)
    before = meter.read().power_total_w
    load.set_power(watts)
    load.output(True)
    reading = load.read()
    assert reading.input_on and reading.power_w == pytest.approx(watts, rel=0.02)
    after = meter.read().power_total_w
    assert after - before == pytest.approx(watts, rel=0.05, abs=0.01 * abs(before))
    load.safe_state()
    assert not load.read().input_on
    with pytest.raises(LimitError, match=f"above the bench limit {max_w:g}"):
        load.set_power(max_w + 1)


def test_meter_agrees_with_the_analyser(hil_driver, hil_expected):
    meter, analyser = hil_driver("meter"), hil_driver("analyser")
    analyser.setup()
    m = meter.read()
    a = analyser.read()
    assert m.power_total_w == pytest.approx(a.p_total, rel=0.05)
    assert m.frequency_hz == pytest.approx(a.frequency, abs=0.05)
    assert m.voltage_v[0] == pytest.approx(a.urms[0], rel=0.01)
    assert m.import_energy_j > 0


def test_controller_status_and_setpoint_step_with_timestamps(hil_driver, hil_expected):
    controller, analyser = hil_driver("controller"), hil_driver("analyser")
    analyser.setup()
    status = controller.read()
    assert status.boards_total > 0 and status.rated_power_w > 0
    assert 0 <= status.boards_online <= status.boards_total
    max_kw = hil_expected.limit("controller", "max_power_kw")
    ramp_kw_s = hil_expected.limit("controller", "max_ramp_kw_s")
    if max_kw is None or ramp_kw_s is None:
        pytest.fail("a controller role needs max_power_kw and max_ramp_kw_s limits in the bench file")
    full = min(max_kw * 1000, status.rated_power_w)
    controller.set_mode(ControllerMode.RUN)
    controller.set_ramp(ramp_kw_s * 1000)
    controller.set_power(full)
    analyser.wait_until(analyser.read().time + full / (ramp_kw_s * 1000) + 3)
    controller.set_power(0.6 * full)
    status = controller.read()
    assert status.state in (ControllerState.RUNNING, ControllerState.BOOTING)
    assert status.last_setpoint_change_s <= status.time_s
    samples = analyser.trend(0.4 * full / (ramp_kw_s * 1000) + 4.0)
    assert samples[-1].p_total < 0.67 * full
    controller.set_power(full)
    with pytest.raises(LimitError, match=f"above the bench limit {max_kw:g}"):
        controller.set_power(max_kw * 1000 + 1000)


def test_modbus_exceptions_name_the_device(hil_driver):
    controller = hil_driver("controller")
    mode = controller.map.field("mode")
    bad_value = max(mode.enum.values()) + 5
    with pytest.raises(ModbusExceptionError) as refused:
        controller.transport.write_register(mode.address, bad_value)  # a mode the map does not define
    assert refused.value.code == 3 and "controller" in str(refused.value)
    first, count = controller.map.span("input")
    with pytest.raises(ModbusExceptionError) as bad_address:
        controller.transport.read_input(first + count + 100, 2)
    assert bad_address.value.code == 2
    assert controller.read().boards_total > 0  # still serving


def test_a_generic_modbus_client_reads_the_documented_registers(hil_bench, hil_driver):
    """pymodbus as a plain third-party client, using only docs/controller_register_map.md and the SDM630
    sheet: the raw registers agree with what the drivers decode."""
    status = hil_driver("controller").read()
    host, port = hil_bench.role("controller").address[len("tcp://") :].rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port))
    assert client.connect()
    try:
        regs = client.read_input_registers(0, count=13, device_id=1).registers
        assert regs[12] == status.boards_total and regs[11] == round(status.rated_power_w / 100)
        assert abs(regs[7] / 100 - status.grid_frequency_hz) < 0.05
    finally:
        client.close()
    meter = hil_driver("meter").read()
    host, port = hil_bench.role("meter").address[len("tcp://") :].rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port))
    assert client.connect()
    try:
        regs = client.read_input_registers(0x46, count=2, device_id=1).registers
        assert struct.unpack(">f", struct.pack(">HH", *regs))[0] == pytest.approx(meter.frequency_hz, abs=0.05)
    finally:
        client.close()
