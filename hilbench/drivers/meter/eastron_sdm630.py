"""Eastron SDM630 three-phase energy meter (Modbus, float32 input registers, high word first).

Register addresses: Eastron SDM630 Modbus protocol sheet (30001 = phase 1 voltage ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.bench import RoleSpec
from hilbench.transports.modbus import ModbusTransport

BLOCK_FIRST, BLOCK_COUNT = 0x00, 0x4A  # one read covers 30001 .. 30074


@dataclass(frozen=True)
class MeterReading:
    voltage: tuple[float, float, float]
    current: tuple[float, float, float]
    power: tuple[float, float, float]
    power_total: float
    frequency: float
    import_kwh: float


class EastronSDM630:
    def __init__(self, transport: ModbusTransport, *, name: str = "meter") -> None:
        self.transport, self.name = transport, name

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> EastronSDM630:
        return cls(ModbusTransport(spec.role, spec.address, unit=int(spec.settings.get("unit", 1))), name=spec.role)

    def read(self) -> MeterReading:
        v = self.transport.read_float32(BLOCK_FIRST, BLOCK_COUNT // 2)
        f = {
            name: v[offset // 2]
            for name, offset in {
                "v1": 0x00,
                "v2": 0x02,
                "v3": 0x04,
                "i1": 0x06,
                "i2": 0x08,
                "i3": 0x0A,
                "p1": 0x0C,
                "p2": 0x0E,
                "p3": 0x10,
                "pt": 0x34,
                "hz": 0x46,
                "kwh": 0x48,
            }.items()
        }
        return MeterReading(
            (f["v1"], f["v2"], f["v3"]),
            (f["i1"], f["i2"], f["i3"]),
            (f["p1"], f["p2"], f["p3"]),
            f["pt"],
            f["hz"],
            f["kwh"],
        )

    def identify(self) -> str:
        reading = self.read()
        return f"Eastron SDM630 (unit {self.transport.unit}): {reading.frequency:.2f} Hz, {reading.import_kwh:.3f} kWh"

    def safe_state(self) -> None:
        """A meter has nothing to de-energise."""

    def close(self) -> None:
        self.transport.close()
