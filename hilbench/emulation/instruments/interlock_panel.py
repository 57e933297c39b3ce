"""The emulated bench's interlock panel: one Modbus TCP device that serves every ``address: auto`` contact of
the bench file's interlocks (discrete input, coil or holding register), each reading its permitting value
until the ``interlock:opens`` fault is due, then the other value (a door opened, a breaker tripped)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pymodbus.simulator import DataType, SimData, SimDevice

from hilbench.spec.interlock_spec import ModbusContact

READ_COILS, READ_DISCRETE, READ_HOLDING = 1, 2, 3
_FUNCTION_TABLE = {READ_COILS: "coil", READ_DISCRETE: "discrete_input", READ_HOLDING: "holding_register"}


class InterlockPanel:
    def __init__(self, contacts: list[ModbusContact], is_open: Callable[[], bool], unit: int = 1) -> None:
        self.contacts, self.is_open, self.unit = contacts, is_open, unit
        self.size = max(c.register for c in contacts) + 1

    def sim_device(self) -> SimDevice:
        def bits() -> list[SimData]:
            return [SimData(0, count=self.size, values=False, datatype=DataType.BITS)]

        def regs() -> list[SimData]:
            return [SimData(0, count=self.size, values=0, datatype=DataType.REGISTERS)]

        return SimDevice(self.unit, simdata=(bits(), bits(), regs(), regs()), action=self.action)

    async def action(self, function_code, start_address, address, count, registers, set_values):
        if set_values is not None:
            return 1  # ILLEGAL FUNCTION: contacts are read, never written (Modbus Application Protocol 7)
        table = _FUNCTION_TABLE.get(function_code)
        opened = self.is_open()
        if table != "holding_register":  # pymodbus keeps bit tables packed: address a is bit a % 16 of word a // 16
            for word in range(len(registers)):
                registers[word] = 0
        for contact in self.contacts:
            if contact.table != table:
                continue
            value = contact.permits if not opened else (0 if contact.permits else 1)
            if table == "holding_register":
                registers[contact.register - start_address] = value
            elif value:
                registers[contact.register // 16] |= 1 << (contact.register % 16)
        await asyncio.sleep(0)
        return None
