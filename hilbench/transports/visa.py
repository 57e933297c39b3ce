"""VISA transport (pyvisa; the pure-Python pyvisa-py backend by default, NI-VISA when asked for).

Owns the timeout, retries of idempotent queries only, logging of every exchange, IEEE 488.2
definite-length binary blocks, and the error-queue check after configuration commands.
"""

from __future__ import annotations

import socket
import threading
import time

import pyvisa
from pyvisa import errors as visa_errors

from hilbench.transports.error_reporting import ErrorReporting, ScpiErrorQueue
from hilbench.transports.errors import (
    InstrumentConnectionError,
    InstrumentError,
    InstrumentTimeout,
    MalformedReply,
)
from hilbench.transports.exchange_log import GLOBAL_LOG, ExchangeLog


def _tcp_endpoint(resource: str) -> tuple[str, int] | None:
    """(host, port) a TCPIP resource will dial: the socket port, HiSLIP 4880, or the VXI-11 portmapper 111."""
    parts = resource.split("::")
    if not parts[0].upper().startswith("TCPIP") or len(parts) < 3:
        return None
    host = parts[1]
    if parts[-1].upper() == "SOCKET":
        return host, int(parts[2])
    if parts[2].lower().startswith("hislip"):
        return host, 4880
    return host, 111


def preflight(name: str, resource: str, timeout_s: float) -> None:
    """Fail fast on a refused or unreachable LAN instrument (pyvisa-py otherwise waits a long time)."""
    endpoint = _tcp_endpoint(resource)
    if endpoint is None:
        return
    try:
        with socket.create_connection(endpoint, timeout=timeout_s):
            pass
    except OSError as exc:
        raise InstrumentConnectionError(name, resource, "open", f"{endpoint[0]}:{endpoint[1]}: {exc}") from exc


def resource_manager(backend: str = "@py") -> pyvisa.ResourceManager:
    """``@py`` (pyvisa-py, default), ``@ivi`` (NI/Keysight VISA), or ``auto`` (IVI if installed, else pyvisa-py)."""
    if backend == "auto":
        try:
            return pyvisa.ResourceManager("@ivi")
        except (OSError, ValueError):
            return pyvisa.ResourceManager("@py")
    return pyvisa.ResourceManager(backend)


class VisaTransport:
    def __init__(
        self,
        name: str,
        resource: str,
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        error_query: str = "SYST:ERR?",
        backend: str = "@py",
        log: ExchangeLog = GLOBAL_LOG,
        opened=None,
    ) -> None:
        """``opened``: an already-open pyvisa resource (or an object with its message-based methods, as
        hilbench.testing.expected_protocol gives); otherwise ``resource`` is opened through ``backend``."""
        self.name, self.resource = name, resource
        self.retries = retries
        #: how this instrument reports a failed command; a driver whose manual defines another mechanism sets its own
        self.errors: ErrorReporting = ScpiErrorQueue(error_query)
        self.log = log
        self._timeout_s, self._backend = timeout_s, backend
        # one exchange at a time: the safe state and the interlock monitor may use a driver from their own threads
        self._lock = threading.RLock()
        self._stale = False  # a reply may still be on its way (timeout) or the link broke: reconnect first
        self._owned = opened is None
        self._inst = opened if opened is not None else self._open()
        self._configure_session()

    def _open(self):
        preflight(self.name, self.resource, self._timeout_s)
        try:
            return resource_manager(self._backend).open_resource(
                self.resource, open_timeout=int(self._timeout_s * 1000)
            )
        except (visa_errors.VisaIOError, OSError, ValueError) as exc:
            raise InstrumentConnectionError(self.name, self.resource, "open", str(exc)) from exc

    def _configure_session(self) -> None:
        self._inst.timeout = int(self._timeout_s * 1000)
        self._inst.read_termination = "\n"
        self._inst.write_termination = "\n"

    def _fresh_link(self) -> None:
        """After a timeout or a broken link, a late reply could still arrive and be read as the answer to the next
        query: open a new connection (one we opened ourselves), or clear the one we were given."""
        if not self._stale:
            return
        if self._owned:
            try:
                self._inst.close()
            except (visa_errors.VisaIOError, OSError):
                pass
            self._inst = self._open()
            self._configure_session()
        else:
            self._recover()
        self._stale = False

    def _fail(self, command: str, exc: Exception) -> InstrumentError:
        if isinstance(exc, visa_errors.VisaIOError) and exc.error_code == pyvisa.constants.StatusCode.error_timeout:
            return InstrumentTimeout(self.name, self.resource, command, f"no reply within {self._inst.timeout} ms")
        return InstrumentConnectionError(self.name, self.resource, command, str(exc))

    def write(self, command: str) -> None:
        with self._lock:
            self._fresh_link()
            started = time.perf_counter()
            try:
                self._inst.write(command)
            except (visa_errors.VisaIOError, OSError) as exc:
                self.log.add(self.name, self.resource, command, "", started, str(exc))
                self._stale = True
                raise self._fail(command, exc) from exc
            self.log.add(self.name, self.resource, command, "", started)

    def query(self, command: str, *, idempotent: bool = True) -> str:
        """A query; only idempotent ones are retried after a timeout."""
        attempts = 1 + (self.retries if idempotent else 0)
        with self._lock:
            for attempt in range(attempts):
                self._fresh_link()
                started = time.perf_counter()
                try:
                    reply = self._inst.query(command).strip()
                except (visa_errors.VisaIOError, OSError) as exc:
                    self.log.add(self.name, self.resource, command, "", started, str(exc))
                    self._stale = True
                    if attempt + 1 == attempts:
                        raise self._fail(command, exc) from exc
                    continue
                except (
                    UnicodeDecodeError
                ) as exc:  # bytes that are not text: a fresh link, and an idempotent query again
                    self.log.add(self.name, self.resource, command, "", started, str(exc))
                    self._stale = True
                    if attempt + 1 == attempts:
                        raise MalformedReply(self.name, self.resource, command, f"reply is not text: {exc}") from None
                    continue
                self.log.add(self.name, self.resource, command, reply, started)
                return reply
        raise AssertionError("unreachable")

    def _recover(self) -> None:
        """After a timeout, drop anything half-read so the next reply lines up with its query."""
        try:
            self._inst.clear()
        except (visa_errors.VisaIOError, OSError, NotImplementedError):
            pass

    def query_float(self, command: str) -> float:
        reply = self.query(command)
        try:
            return float(reply)
        except ValueError:
            raise MalformedReply(self.name, self.resource, command, f"expected a number, got {reply[:60]!r}") from None

    def query_floats(self, command: str) -> list[float]:
        reply = self.query(command)
        try:
            return [float(v) for v in reply.split(",")]
        except ValueError:
            raise MalformedReply(
                self.name, self.resource, command, f"expected comma-separated numbers, got {reply[:60]!r}"
            ) from None

    def query_block(self, command: str, datatype: str = "f", big_endian: bool = False) -> list[float]:
        """An IEEE 488.2 definite-length binary block (#<n><len><data>) of numbers."""
        with self._lock:
            self._fresh_link()
            started = time.perf_counter()
            try:
                values = self._inst.query_binary_values(
                    command, datatype=datatype, is_big_endian=big_endian, container=list
                )
            except (visa_errors.VisaIOError, OSError) as exc:
                self.log.add(self.name, self.resource, command, "", started, str(exc))
                self._stale = True
                raise self._fail(command, exc) from exc
            except ValueError as exc:
                self.log.add(self.name, self.resource, command, "", started, str(exc))
                self._stale = True
                raise MalformedReply(self.name, self.resource, command, f"bad binary block: {exc}") from exc
            self.log.add(self.name, self.resource, command, f"<block of {len(values)} values>", started)
            return values

    def configure(self, *commands: str) -> None:
        """Send configuration commands, then read the error queue; raise on the first error found."""
        with self._lock:
            for command in commands:
                self.write(command)
            self.check_errors(";".join(commands))

    def check_errors(self, context: str) -> None:
        """The instrument's own error report after ``context`` (ScpiError when it reports one)."""
        self.errors.check(self, context)

    def drain_errors(self) -> None:
        self.errors.drain(self)

    def close(self) -> None:
        try:
            self._inst.close()
        except (visa_errors.VisaIOError, OSError):
            pass
