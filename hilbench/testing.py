"""Byte-level driver tests without any emulator (PyMeasure's ``expected_protocol`` idea).

``expected_protocol(factory, exchanges, kind=...)`` builds a real hilbench transport on a fake
wire and hands it to ``factory`` (which returns the driver under test).  The wire asserts that
every write is exactly the next expected one, in order, answers it with the given reply, and
fails at the end of the ``with`` block if anything expected was never sent or a reply was
never read.  Expected commands come from the instrument's manual, not from hilbench's
emulators, so a manual misread the same way in driver and emulator is caught here.

Exchanges by ``kind``:

* ``"scpi"``: ``(command, reply)``; ``command`` is the text the driver writes (without the
  terminator); ``reply`` is the line it reads back (``str``), a raw binary block (``bytes``,
  e.g. an IEEE 488.2 ``#<n><len><data>`` block), or ``None`` for a command without reply.
* ``"modbus"``: ``(request, response)``, each ``bytes`` or hex text of unit id + PDU (the RTU
  frame without its CRC), e.g. ``("01 04 0000 000D", "01 04 1A ...")``.  Exception responses
  (function code | 0x80) raise as they would from a device.
* ``"serial"``: ``(written, reply)``: ``written`` the bytes of one write call (or ``None`` for
  bytes the device sends unasked), ``reply`` the bytes the device answers with (may be ``b""``).
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pyvisa.util import from_ieee_block

from hilbench.transports.modbus import ModbusTransport
from hilbench.transports.serial_line import SerialTransport
from hilbench.transports.visa import VisaTransport

KINDS = ("scpi", "modbus", "serial")


class _Script:
    """The expected exchanges and where the driver is in them."""

    def __init__(self, exchanges: Sequence[tuple[Any, Any]]) -> None:
        self.exchanges = list(exchanges)
        self.index = 0
        self.pending: Any = None  # the reply of the last write, until it is read
        self.pending_for: Any = None

    def next_write(self, sent: Any) -> Any:
        if self.pending is not None:
            raise AssertionError(f"the reply to {self.pending_for!r} was never read before {sent!r} was sent")
        if self.index >= len(self.exchanges):
            raise AssertionError(f"unexpected write {sent!r}: all {len(self.exchanges)} expected exchanges are done")
        expected, reply = self.exchanges[self.index]
        if sent != expected:
            raise AssertionError(f"exchange {self.index + 1}: expected {expected!r}, the driver sent {sent!r}")
        self.index += 1
        self.pending, self.pending_for = reply, sent
        return reply

    def take_reply(self, what: str) -> Any:
        if self.pending is None:
            raise AssertionError(f"the driver read a reply ({what}) after {self.pending_for!r}, which has none")
        reply, self.pending = self.pending, None
        return reply

    def finish(self) -> None:
        left = self.exchanges[self.index :]
        if left:
            raise AssertionError(f"{len(left)} expected exchange(s) never happened, first: {left[0]!r}")
        if self.pending is not None:
            raise AssertionError(f"the reply to {self.pending_for!r} was never read")


# ----- SCPI over VISA -----------------------------------------------------------------------------
class _FakeVisaResource:
    """The message-based part of a pyvisa resource, on the script."""

    def __init__(self, script: _Script) -> None:
        self.script = script
        self.timeout = 5000
        self.read_termination = "\n"
        self.write_termination = "\n"

    def write(self, command: str) -> None:
        self.script.next_write(command)

    def read(self) -> str:
        reply = self.script.take_reply("read")
        if not isinstance(reply, str):
            raise AssertionError(f"the driver read text, but the reply to {self.script.pending_for!r} is a block")
        return reply

    def query(self, command: str) -> str:
        self.write(command)
        return self.read()

    def query_binary_values(self, command: str, datatype="f", is_big_endian=False, container=list):
        self.write(command)
        reply = self.script.take_reply("binary block")
        if not isinstance(reply, bytes):
            raise AssertionError(f"the driver read a binary block, but the reply to {command!r} is text")
        return from_ieee_block(reply, datatype, is_big_endian, container)

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


# ----- Modbus -----------------------------------------------------------------------------------
def _hex(data: bytes | str) -> bytes:
    return bytes.fromhex(data) if isinstance(data, str) else bytes(data)


class _Response:
    def __init__(self, registers: list[int] | None = None, exception_code: int | None = None) -> None:
        self.registers = registers or []
        self.exception_code = exception_code

    def isError(self) -> bool:  # pymodbus spells it so
        return self.exception_code is not None


class _FakeModbusClient:
    """The client calls ModbusTransport makes, encoded as unit id + PDU (Modbus Application Protocol
    Specification V1.1b3: 6.3 FC03, 6.4 FC04, 6.6 FC06, 6.12 FC16, 7 exception responses)."""

    def __init__(self, script: _Script) -> None:
        self.script = script

    def _exchange(self, unit: int, pdu: bytes) -> bytes:
        self.script.next_write(bytes([unit]) + pdu)
        response = self.script.take_reply("modbus response")
        if response[0] != unit:
            raise AssertionError(f"scripted response unit {response[0]} does not match request unit {unit}")
        return response[1:]

    def _read(self, function: int, address: int, count: int, unit: int) -> _Response:
        pdu = self._exchange(unit, struct.pack(">BHH", function, address, count))
        if pdu[0] == function | 0x80:
            return _Response(exception_code=pdu[1])
        if pdu[0] != function or pdu[1] != 2 * count or len(pdu) != 2 + 2 * count:
            raise AssertionError(f"scripted response {pdu.hex()} is not an FC{function:02d} reply of {count} registers")
        return _Response(list(struct.unpack(f">{count}H", pdu[2:])))

    def _write(self, pdu: bytes, unit: int) -> _Response:
        reply = self._exchange(unit, pdu)
        if reply[0] == pdu[0] | 0x80:
            return _Response(exception_code=reply[1])
        return _Response()

    def read_holding_registers(self, address: int, *, count: int = 1, device_id: int = 1) -> _Response:
        return self._read(0x03, address, count, device_id)

    def read_input_registers(self, address: int, *, count: int = 1, device_id: int = 1) -> _Response:
        return self._read(0x04, address, count, device_id)

    def write_register(self, address: int, value: int, *, device_id: int = 1) -> _Response:
        return self._write(struct.pack(">BHH", 0x06, address, value), device_id)

    def write_registers(self, address: int, values: list[int], *, device_id: int = 1) -> _Response:
        body = struct.pack(f">BHHB{len(values)}H", 0x10, address, len(values), 2 * len(values), *values)
        return self._write(body, device_id)

    def connect(self) -> bool:
        return True

    def close(self) -> None:
        pass


def modbus_read_reply(unit: int, function: int, registers: Sequence[int]) -> bytes:
    """unit + FC03/FC04 response PDU carrying ``registers`` (for scripting replies)."""
    return struct.pack(f">BBB{len(registers)}H", unit, function, 2 * len(registers), *registers)


def float32_registers(*values: float) -> list[int]:
    """IEEE 754 float32 values as registers, high word first (the SDM630 convention)."""
    return list(struct.unpack(f">{2 * len(values)}H", struct.pack(f">{len(values)}f", *values)))


# ----- serial -----------------------------------------------------------------------------------
class _FakeSerialPort:
    """The pyserial calls SerialTransport makes; replies queue up in an input buffer."""

    def __init__(self, script: _Script) -> None:
        self.script = script
        self.buffer = bytearray()
        self.baudrate = 115200
        self.timeout: float | None = 1.0
        self._unasked()

    def _unasked(self) -> None:
        while self.script.index < len(self.script.exchanges) and self.script.exchanges[self.script.index][0] is None:
            self.buffer += self.script.exchanges[self.script.index][1]
            self.script.index += 1

    def write(self, data: bytes) -> int:
        self.buffer += self.script.next_write(bytes(data))
        self.script.pending = None  # serial replies are read from the buffer, not per write
        self._unasked()
        return len(data)

    def flush(self) -> None:
        pass

    def read(self, count: int) -> bytes:
        data, self.buffer = bytes(self.buffer[:count]), self.buffer[count:]
        return data

    def reset_input_buffer(self) -> None:
        self.buffer.clear()

    def close(self) -> None:
        pass


@contextlib.contextmanager
def expected_protocol(
    driver_factory: Callable[[Any], Any],
    exchanges: Sequence[tuple[Any, Any]],
    *,
    kind: str = "scpi",
    error_query: str = "SYST:ERR?",
    unit: int = 1,
    name: str = "dut",
) -> Iterator[Any]:
    """Yield ``driver_factory(transport)`` whose transport talks to the scripted wire; on leaving the
    block, fail if an expected exchange never happened.  See the module docstring for ``exchanges``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "modbus":
        exchanges = [(_hex(request), _hex(response)) for request, response in exchanges]
    script = _Script(exchanges)
    address = f"expected-protocol::{name}"
    if kind == "scpi":
        transport: Any = VisaTransport(name, address, error_query=error_query, opened=_FakeVisaResource(script))
    elif kind == "modbus":
        transport = ModbusTransport(name, address, unit=unit, retries=0, client=_FakeModbusClient(script))
    else:
        transport = SerialTransport(name, address, opened=_FakeSerialPort(script))
    driver = driver_factory(transport)
    yield driver
    if kind == "serial":
        port = transport._serial
        if port.buffer:
            raise AssertionError(f"{len(port.buffer)} byte(s) the device sent were never read: {bytes(port.buffer)!r}")
        script.pending = None
    script.finish()
