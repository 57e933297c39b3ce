"""The Modbus TCP server every emulated Modbus device is served by (pymodbus), and the register blocks it holds."""

from __future__ import annotations

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

READ_HOLDING, READ_INPUT = 3, 4


def register_blocks(size: int) -> tuple:
    zero = [SimData(0, count=1, values=False, datatype=DataType.BITS)]
    regs = [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)]
    return zero, list(zero), regs, [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)]


class ModbusDeviceServer:
    """One pymodbus TCP server for one emulated device."""

    def __init__(self, device: SimDevice, host: str, port: int) -> None:
        self.host, self.port, self.device = host, port, device
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        """Runs on the emulation loop (pymodbus binds its transport to the running loop)."""
        self._server = ModbusTcpServer(self.device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
