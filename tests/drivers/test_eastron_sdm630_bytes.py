"""Eastron SDM630 meter driver, byte for byte.  E1 = Eastron SDM630 Modbus protocol V1.8: FC04 input
registers, float32 high word first; V1-3 0x00-0x04, I1-3 0x06-0x0A, P1-3 0x0C-0x10, total P 0x34,
f 0x46, import kWh 0x48; at most 80 registers per read."""

import pytest

from hilbench.drivers.meter.eastron_sdm630 import EastronSDM630
from hilbench.testing import expected_protocol, float32_registers, modbus_read_reply


def block() -> list[int]:
    values = [0.0] * 37  # 74 registers from 0x00
    for index, value in {0x00: 230.1, 0x02: 230.2, 0x04: 229.9, 0x06: 141.0, 0x0C: 32_000.0, 0x34: 96_500.0}.items():
        values[index // 2] = value
    values[0x46 // 2], values[0x48 // 2] = 50.01, 12.5
    return float32_registers(*values)


def test_one_read_covers_every_register():
    exchanges = [("01 04 0000 004A", modbus_read_reply(1, 0x04, block()))]  # E1: FC04, 74 registers (<= 80)
    with expected_protocol(EastronSDM630, exchanges, kind="modbus") as meter:
        reading = meter.read()
    assert reading.voltage_v == pytest.approx((230.1, 230.2, 229.9), rel=1e-6)
    assert reading.current_a[0] == pytest.approx(141.0) and reading.power_w[0] == pytest.approx(32_000.0)
    assert reading.power_total_w == pytest.approx(96_500.0) and reading.frequency_hz == pytest.approx(50.01)
    assert reading.import_energy_j == pytest.approx(12.5 * 3.6e6, rel=1e-6)  # kWh on the wire, J in the role


def test_identify_reads_the_block():
    exchanges = [("01 04 0000 004A", modbus_read_reply(1, 0x04, block()))]
    with expected_protocol(EastronSDM630, exchanges, kind="modbus") as meter:
        assert "50.01 Hz" in meter.identify()


def test_a_meter_on_another_unit_id():
    exchanges = [("07 04 0000 004A", modbus_read_reply(7, 0x04, block()))]
    with expected_protocol(EastronSDM630, exchanges, kind="modbus", unit=7) as meter:
        assert meter.read().frequency_hz == pytest.approx(50.01)


def test_safe_state_sends_nothing():
    with expected_protocol(EastronSDM630, [], kind="modbus") as meter:
        meter.safe_state()
