"""Modbus TCP and RTU transport (pymodbus client).

Owns timeouts, retries of reads only (writes are not idempotent in general), logging of
every exchange, and maps exception responses and link faults to hilbench exceptions that
name the device, its address and the request.
"""

from __future__ import annotations

import struct
import threading
import time

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from hilbench.transports.errors import (
    InstrumentConnectionError,
    InstrumentTimeout,
    MalformedReply,
    ModbusExceptionError,
)
from hilbench.transports.exchange_log import GLOBAL_LOG, ExchangeLog


class ModbusTransport:
    def __init__(
        self,
        name: str,
        address: str,
        *,
        unit: int = 1,
        timeout_s: float = 2.0,
        retries: int = 2,
        baudrate: int = 9600,
        log: ExchangeLog = GLOBAL_LOG,
        client=None,
    ) -> None:
        """``address``: ``tcp://host:port`` or ``rtu:///dev/ttyUSB0`` (serial line).  ``client``: an already
        connected pymodbus-style client (hilbench.testing.expected_protocol gives one)."""
        self.name, self.address, self.unit, self.retries, self.log = name, address, unit, retries, log
        # one request at a time: the safe state, the heartbeat and the interlock monitor run in their own threads
        self._lock = threading.Lock()
        self._stale = False  # after a timeout a late reply may still arrive: reconnect before the next request
        if client is not None:
            self._client = client
            return
        if address.startswith("tcp://"):
            host, _, port = address[len("tcp://") :].rpartition(":")
            self._client = ModbusTcpClient(host, port=int(port or 502), timeout=timeout_s, retries=0)
        elif address.startswith("rtu://"):
            self._client = ModbusSerialClient(address[len("rtu://") :], baudrate=baudrate, timeout=timeout_s, retries=0)
        else:
            raise ValueError(f"{name}: Modbus address must start with tcp:// or rtu://, got {address!r}")
        if not self._client.connect():
            raise InstrumentConnectionError(name, address, "connect", "connection refused or port unavailable")

    def _call(self, what: str, fn, *, retry: bool):
        with self._lock:
            return self._call_locked(what, fn, retry=retry)

    def _fresh_link(self) -> None:
        if self._stale:
            self._client.close()
            self._client.connect()
            self._stale = False

    def _call_locked(self, what: str, fn, *, retry: bool):
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            self._fresh_link()
            started = time.perf_counter()
            try:
                response = fn()
            except ConnectionException as exc:
                self.log.add(self.name, self.address, what, "", started, str(exc))
                self._stale = True
                if attempt + 1 == attempts:
                    raise InstrumentConnectionError(self.name, self.address, what, str(exc)) from exc
                continue
            except ModbusIOException as exc:
                self.log.add(self.name, self.address, what, "", started, str(exc))
                self._stale = True
                if attempt + 1 == attempts:
                    raise InstrumentTimeout(self.name, self.address, what, f"no reply: {exc}") from exc
                continue
            except ModbusException as exc:
                self.log.add(self.name, self.address, what, "", started, str(exc))
                self._stale = True
                raise MalformedReply(self.name, self.address, what, str(exc)) from exc
            if response.isError():
                code = getattr(response, "exception_code", 0)
                self.log.add(self.name, self.address, what, f"exception {code}", started, "exception")
                raise ModbusExceptionError(self.name, self.address, what, int(code))
            self.log.add(self.name, self.address, what, str(getattr(response, "registers", "ok")), started)
            return response
        raise AssertionError("unreachable")

    def _counted(self, what: str, values: list, count: int) -> list:
        """A response must carry what was asked for; a device that sends fewer or more values is out of step."""
        if len(values) != count:
            raise MalformedReply(
                self.name, self.address, what, f"asked for {count} values, the response carries {len(values)}"
            )
        return list(values)

    def read_holding(self, address: int, count: int = 1) -> list[int]:
        what = f"read holding {address}+{count}"
        response = self._call(
            what, lambda: self._client.read_holding_registers(address, count=count, device_id=self.unit), retry=True
        )
        return self._counted(what, response.registers, count)

    def read_input(self, address: int, count: int = 1) -> list[int]:
        what = f"read input {address}+{count}"
        response = self._call(
            what, lambda: self._client.read_input_registers(address, count=count, device_id=self.unit), retry=True
        )
        return self._counted(what, response.registers, count)

    def read_discrete_inputs(self, address: int, count: int = 1) -> list[bool]:
        """Function 02 (Modbus Application Protocol V1.1b3, 6.2): e.g. a door switch or breaker contact."""
        what = f"read discrete inputs {address}+{count}"
        response = self._call(
            what, lambda: self._client.read_discrete_inputs(address, count=count, device_id=self.unit), retry=True
        )
        return self._counted(what, response.bits[:count], count)  # bits come padded to whole bytes

    def read_coils(self, address: int, count: int = 1) -> list[bool]:
        """Function 01 (Modbus Application Protocol V1.1b3, 6.1)."""
        what = f"read coils {address}+{count}"
        response = self._call(
            what, lambda: self._client.read_coils(address, count=count, device_id=self.unit), retry=True
        )
        return self._counted(what, response.bits[:count], count)

    def write_register(self, address: int, value: int) -> None:
        what = f"write holding {address}={value}"
        self._call(what, lambda: self._client.write_register(address, value, device_id=self.unit), retry=False)

    def write_registers(self, address: int, values: list[int]) -> None:
        what = f"write holding {address}={values}"
        self._call(what, lambda: self._client.write_registers(address, values, device_id=self.unit), retry=False)

    def read_float32(self, address: int, count: int = 1, *, input_registers: bool = True) -> list[float]:
        """IEEE 754 float32 values, high word first (the SDM630 convention)."""
        regs = (self.read_input if input_registers else self.read_holding)(address, 2 * count)
        return [struct.unpack(">f", struct.pack(">HH", regs[2 * i], regs[2 * i + 1]))[0] for i in range(count)]

    def close(self) -> None:
        self._client.close()
