"""Injected faults on an emulated bench, at the transport seam: a fault proxy in front of an instrument's
real server (SCPI socket or Modbus TCP) that lets requests through until a fault is due, then treats the
next ones as the fault says.  The drivers connect to the proxy exactly as to the instrument and never know.

Kinds (hilbench.spec.fault_spec): ``delay`` (the request is held past every transport timeout, so its reply
arrives stale), ``timeout`` (the request is swallowed), ``drop`` (the connection is closed),
``garbage`` (a reply of bytes that are no reply), ``modbus-exception`` (exception 04, server device
failure), ``scpi-error`` (the command is refused and -200 "Execution error" queued, as the instrument
does for a command it cannot carry out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
from collections.abc import Callable

from hilbench.emulation.clock import Clock
from hilbench.protocols.scpi import ScpiCommandError
from hilbench.spec.fault_spec import FaultSpec

log = logging.getLogger(__name__)

EXECUTION_ERROR = (-200, "Execution error; injected fault")  # SCPI-99 21.8.10 class -200 (execution errors)
DEVICE_FAILURE = 4  # Modbus Application Protocol V1.1b3, section 7: exception 04 SERVER DEVICE FAILURE
GARBAGE = b"\x8f\xfe\x00#9\xff garbage \x15\xc3\n"


class ScheduledFault:
    """One fault's state: due from plant time ``at_s``; ``take()`` counts the requests it has hit."""

    def __init__(self, spec: FaultSpec, clock: Clock, on_hit: Callable[[FaultSpec, int], None] | None = None) -> None:
        self.spec, self.clock, self.on_hit = spec, clock, on_hit
        self.remaining = spec.requests
        self._lock = threading.Lock()

    def due(self) -> bool:
        return self.clock.now() >= self.spec.at_s

    def take(self) -> bool:
        """True when this request is hit by the fault (and counts it)."""
        with self._lock:
            if self.remaining <= 0 or not self.due():
                return False
            self.remaining -= 1
            hit = self.spec.requests - self.remaining
        if self.on_hit is not None:
            self.on_hit(self.spec, hit)
        return True


def _is_query(line: bytes) -> bool:
    return b"?" in line


class FaultyLink:
    """A TCP proxy on (host, free port) in front of ``upstream``; ``framing`` is 'scpi' (lines) or 'modbus'
    (MBAP frames).  Replies are copied back byte for byte; faults act on requests."""

    def __init__(
        self, name: str, upstream: tuple[str, int], faults: list[ScheduledFault], *, framing: str, host: str,
        push_scpi_error: Callable[[ScpiCommandError], None] | None = None,
    ) -> None:  # fmt: skip
        self.name, self.upstream, self.faults, self.framing = name, upstream, faults, framing
        self.host, self.port = host, 0
        self.push_scpi_error = push_scpi_error
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            for task in list(self._tasks):  # a request held by a 'delay' fault
                task.cancel()
            await self._server.wait_closed()
            self._server = None

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes:
        if self.framing == "scpi":
            return await reader.readuntil(b"\n")
        header = await reader.readexactly(7)
        (length,) = struct.unpack(">H", header[4:6])
        return header + await reader.readexactly(max(length - 1, 0))

    def _fault_for(self, request: bytes) -> FaultSpec | None:
        for fault in self.faults:
            kind = fault.spec.kind
            if self.framing == "scpi" and kind in ("garbage", "delay") and not _is_query(request):
                continue  # a command has no reply to spoil or make late
            if kind == "scpi-error" and _is_query(request):
                continue  # queries are answered; commands are refused
            if fault.take():
                return fault.spec
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._clients.add(writer)
        task = asyncio.current_task()
        self._tasks.add(task)
        pump = asyncio.ensure_future(self._pump(up_reader, writer))
        try:
            while True:
                try:
                    request = await self._read_request(reader)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                fault = self._fault_for(request)
                if fault is None:
                    up_writer.write(request)
                    await up_writer.drain()
                elif fault.kind == "delay":
                    await asyncio.sleep(fault.delay_s)
                    up_writer.write(request)
                    await up_writer.drain()
                elif fault.kind == "drop":
                    return
                elif fault.kind == "garbage":
                    writer.write(
                        GARBAGE if self.framing == "scpi" else request[:2] + b"\x00\x00\x00\x05\xff\x63\x01\x02"
                    )
                    await writer.drain()
                elif fault.kind == "modbus-exception":
                    writer.write(request[:4] + struct.pack(">HBBB", 3, request[6], request[7] | 0x80, DEVICE_FAILURE))
                    await writer.drain()
                elif fault.kind == "scpi-error" and self.push_scpi_error is not None:
                    self.push_scpi_error(ScpiCommandError(EXECUTION_ERROR, request.decode("ascii", "replace").strip()))
                # "timeout": the request is swallowed; the client waits for a reply that never comes
        except (ConnectionError, OSError) as exc:
            log.debug("%s fault proxy: client went away: %s", self.name, exc)
        except asyncio.CancelledError:  # the bench is stopping
            pass
        finally:
            pump.cancel()
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()
            self._clients.discard(writer)
            self._tasks.discard(task)

    @staticmethod
    async def _pump(up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
