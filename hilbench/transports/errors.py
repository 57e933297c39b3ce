"""Instrument faults as hilbench exceptions: every message names the instrument, its address and the command."""

from __future__ import annotations

from hilbench.core.errors import HilbenchError


class InstrumentError(HilbenchError):
    """Base class: something went wrong talking to one instrument."""

    def __init__(self, instrument: str, address: str, command: str, message: str) -> None:
        self.instrument, self.address, self.command = instrument, address, command
        super().__init__(f"{instrument} at {address}: {command!s}: {message}")


class InstrumentConnectionError(InstrumentError):
    """Refused, reset or unreachable."""


class InstrumentTimeout(InstrumentError):
    """No (complete) reply within the transport's timeout."""


class MalformedReply(InstrumentError):
    """A reply that does not parse as the protocol says it should."""


class ScpiError(InstrumentError):
    """The instrument's error queue reported an error after a command."""

    def __init__(self, instrument: str, address: str, command: str, code: int, text: str) -> None:
        self.code = code
        super().__init__(instrument, address, command, f"instrument error {code}, {text!r}")


class ModbusExceptionError(InstrumentError):
    """The device answered with a Modbus exception code."""

    NAMES = {
        1: "illegal function",
        2: "illegal data address",
        3: "illegal data value",
        4: "device failure",
        5: "acknowledge",
        6: "device busy",
        8: "memory parity error",
        10: "gateway path unavailable",
        11: "gateway target failed to respond",
    }

    def __init__(self, instrument: str, address: str, command: str, code: int) -> None:
        self.code = code
        super().__init__(instrument, address, command, f"Modbus exception {code} ({self.NAMES.get(code, 'unknown')})")
