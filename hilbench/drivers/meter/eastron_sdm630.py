"""Eastron SDM630 three-phase energy meter (Modbus, float32 input registers, high word first).

Register addresses: Eastron SDM630 Modbus protocol sheet (30001 = phase 1 voltage ...).
"""

from __future__ import annotations

from hilbench.core.roles import MeterReading, SafeStateReport
from hilbench.protocols.sdm630 import BLOCK_COUNT, BLOCK_FIRST, REGISTERS
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.modbus import ModbusTransport


class EastronSDM630:
    role = "meter"

    def __init__(self, transport: ModbusTransport, *, name: str = "meter") -> None:
        self.transport, self.name = transport, name

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> EastronSDM630:
        return cls(ModbusTransport(spec.role, spec.address, unit=int(spec.settings.get("unit", 1))), name=spec.role)

    def read(self) -> MeterReading:
        values = self.transport.read_float32(BLOCK_FIRST, BLOCK_COUNT // 2)
        f = {name: values[offset // 2] for name, offset in REGISTERS.items()}
        return MeterReading(
            (f["v1"], f["v2"], f["v3"]),
            (f["i1"], f["i2"], f["i3"]),
            (f["p1"], f["p2"], f["p3"]),
            f["p_total"],
            f["frequency"],
            f["import_kwh"] * 3.6e6,
        )

    def identify(self) -> str:
        reading = self.read()
        kwh = reading.import_energy_j / 3.6e6
        return f"Eastron SDM630 (unit {self.transport.unit}): {reading.frequency_hz:.2f} Hz, {kwh:.3f} kWh"

    def safe_state(self) -> None:
        """A meter has nothing to de-energise."""

    def read_safe_state(self) -> SafeStateReport:
        reading = self.read()
        return SafeStateReport(True, f"measuring instrument, no output; reads {reading.power_total_w / 1000:.1f} kW")

    def close(self) -> None:
        self.transport.close()
