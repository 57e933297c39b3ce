"""Serial transport (pyserial): exact-length reads with a deadline, every exchange logged."""

from __future__ import annotations

import time

import serial

from hilbench.transports.errors import InstrumentConnectionError, InstrumentTimeout
from hilbench.transports.exchange_log import GLOBAL_LOG, ExchangeLog


class SerialTransport:
    def __init__(
        self,
        name: str,
        port: str,
        *,
        baudrate: int = 115200,
        timeout_s: float = 1.0,
        log: ExchangeLog = GLOBAL_LOG,
        opened=None,
    ) -> None:
        """``opened``: an already-open pyserial-style port (hilbench.testing.expected_protocol gives one)."""
        self.name, self.port, self.timeout_s, self.log = name, port, timeout_s, log
        if opened is not None:
            self._serial = opened
            return
        try:
            self._serial = serial.Serial(port, baudrate, timeout=timeout_s)
        except (serial.SerialException, OSError) as exc:
            raise InstrumentConnectionError(name, port, "open", str(exc)) from exc

    @property
    def baudrate(self) -> int:
        return self._serial.baudrate

    @baudrate.setter
    def baudrate(self, value: int) -> None:
        self._serial.baudrate = value

    def write(self, data: bytes) -> None:
        started = time.perf_counter()
        try:
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            self.log.add(self.name, self.port, data.hex(), "", started, str(exc))
            raise InstrumentConnectionError(self.name, self.port, data.hex(), str(exc)) from exc
        self.log.add(self.name, self.port, data.hex(), "", started)

    def read(self, count: int, *, timeout_s: float | None = None, required: bool = True) -> bytes:
        """Read ``count`` bytes; raise InstrumentTimeout if they do not all arrive (unless not required)."""
        started = time.perf_counter()
        self._serial.timeout = self.timeout_s if timeout_s is None else timeout_s
        data = self._serial.read(count)
        self.log.add(self.name, self.port, f"read {count}", data.hex(), started)
        if required and len(data) < count:
            raise InstrumentTimeout(self.name, self.port, f"read {count} bytes", f"got {len(data)} bytes")
        return data

    def reset_input(self) -> None:
        self._serial.reset_input_buffer()

    def close(self) -> None:
        self._serial.close()
