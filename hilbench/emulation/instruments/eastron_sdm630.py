"""Emulator of the ``eastron-sdm630`` model (drivers/meter/eastron_sdm630.py): the energy meter at the PCC, its input
registers as IEEE 754 floats filled from the plant at the moment of the request, read-only."""

from __future__ import annotations

import asyncio
import struct

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimDevice

from hilbench.core.units import KWH
from hilbench.emulation.instruments.modbus_server import READ_INPUT, register_blocks
from hilbench.emulation.plant import Plant
from hilbench.protocols.sdm630 import REGISTERS


class SDM630Device:
    """Energy meter at the PCC."""

    def __init__(self, plant: Plant, unit: int = 1) -> None:
        self.plant, self.unit = plant, unit

    def sim_device(self) -> SimDevice:
        return SimDevice(self.unit, simdata=register_blocks(0x50), action=self.action)

    async def action(self, function_code, start_address, address, count, registers, set_values):
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # the meter's measurement registers are read-only
        if function_code != READ_INPUT:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._fill, start_address, registers)

    def _fill(self, start_address: int, registers: list[int]) -> None:
        t = self.plant.advance()
        n = self.plant.numeric(t)
        values = {
            "v1": n["urms"][0],
            "v2": n["urms"][1],
            "v3": n["urms"][2],
            "i1": n["irms"][0],
            "i2": n["irms"][1],
            "i3": n["irms"][2],
            "p1": n["p"][0],
            "p2": n["p"][1],
            "p3": n["p"][2],
            "p_total": n["p_total"],
            "frequency": n["frequency"],
            "import_kwh": self.plant.energy_j(t) / KWH,
        }
        for name, offset in REGISTERS.items():
            hi, lo = struct.unpack(">HH", struct.pack(">f", float(values[name])))
            registers[offset - start_address] = hi
            registers[offset - start_address + 1] = lo
        return None


def emulate_sdm630(plant: Plant, spec) -> SDM630Device:
    """Entry point of the ``hilbench.emulators`` group for the ``eastron-sdm630`` model."""
    return SDM630Device(plant, int(spec.settings.get("unit", 1)))
