"""SCPI instrument emulators: an IEEE 488.2 core (common commands, status bytes, error queue)
and a TCP socket server (one newline-terminated program message per line, like the raw
socket port of LAN instruments; pyvisa's ``TCPIP::host::port::SOCKET`` talks to it).

A malformed message only ever lands in the error queue (``SYST:ERR?``); the server keeps
serving every client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable

from hilbench.protocols.scpi import (
    QUERY_UNTERMINATED,
    QUEUE_OVERFLOW,
    SYNTAX_ERROR,
    UNDEFINED_HEADER,
    ScpiCommandError,
    compile_header,
    split_unit,
    split_units,
)

log = logging.getLogger(__name__)

Handler = Callable[[list[str], tuple], "str | bytes | None"]
ERROR_QUEUE_DEPTH = 32
MAX_LINE = 1 << 20


class ScpiInstrument:
    """Command table + IEEE 488.2 state.  Subclasses register their model's commands."""

    identity = "hilbench,emulated instrument,0,0"
    error_queries = (":SYSTem:ERRor[:NEXT]?",)

    def __init__(self) -> None:
        self._commands: list[tuple] = []
        self._errors: deque[str] = deque()
        self._lock = threading.Lock()
        self.esr = 0
        self.ese = 0
        self.sre = 0
        self.add("*IDN?", lambda a, g: self.identity)
        self.add("*RST", lambda a, g: self.reset())
        self.add("*CLS", lambda a, g: self.clear_status())
        self.add("*OPC", lambda a, g: self._set_esr(1))
        self.add("*OPC?", lambda a, g: "1")
        self.add("*WAI", lambda a, g: None)
        self.add("*TST?", lambda a, g: "0")
        self.add("*ESR?", lambda a, g: str(self._read_esr()))
        self.add("*ESE", lambda a, g: setattr(self, "ese", int(a[0])))
        self.add("*ESE?", lambda a, g: str(self.ese))
        self.add("*SRE", lambda a, g: setattr(self, "sre", int(a[0])))
        self.add("*SRE?", lambda a, g: str(self.sre))
        self.add("*STB?", lambda a, g: str(self.status_byte()))
        for pattern in self.error_queries:
            self.add(pattern, lambda a, g: self.next_error())

    def add(self, pattern: str, handler: Handler) -> None:
        self._commands.append((compile_header(pattern), pattern.endswith("?"), handler))

    # ----- status and error queue --------------------------------------------------------
    def push_error(self, error: ScpiCommandError) -> None:
        if len(self._errors) >= ERROR_QUEUE_DEPTH - 1:
            if len(self._errors) == ERROR_QUEUE_DEPTH - 1:
                self._errors.append(f'{QUEUE_OVERFLOW[0]},"{QUEUE_OVERFLOW[1]}"')
            return
        self._errors.append(error.queue_entry)
        code = error.code
        self._set_esr(32 if -199 <= code <= -100 else 16 if -299 <= code <= -200 else 4 if -499 <= code <= -400 else 8)

    def next_error(self) -> str:
        return self._errors.popleft() if self._errors else '0,"No error"'

    def _set_esr(self, bits: int) -> None:
        self.esr |= bits

    def _read_esr(self) -> int:
        value, self.esr = self.esr, 0
        return value

    def status_byte(self) -> int:
        return (4 if self._errors else 0) | (32 if self.esr & self.ese else 0)

    def clear_status(self) -> None:
        self._errors.clear()
        self.esr = 0

    def reset(self) -> None:
        """*RST: subclasses return their settings to defaults."""

    # ----- execution ---------------------------------------------------------------------
    def execute(self, message: str) -> bytes | None:
        """Run one program message; the reply (queries' answers joined by ';', newline) or None."""
        with self._lock:
            replies: list[bytes] = []
            try:
                units = split_units(message)
            except ScpiCommandError as exc:
                self.push_error(exc)
                return None
            for unit in units:
                try:
                    header, args = split_unit(unit)
                except ScpiCommandError as exc:  # e.g. an unterminated string: queued, the message goes on
                    self.push_error(exc)
                    continue
                for regex, is_query, handler in self._commands:
                    match = regex.match(header)
                    if match:
                        try:
                            result = handler(args, match.groups())
                        except ScpiCommandError as exc:
                            self.push_error(exc)
                            if is_query:
                                replies = []
                            break
                        except (ValueError, IndexError, TypeError) as exc:
                            self.push_error(ScpiCommandError(SYNTAX_ERROR, f"{header}: {exc}"))
                            break
                        if is_query and result is not None:
                            replies.append(result if isinstance(result, bytes) else str(result).encode())
                        break
                else:
                    self.push_error(ScpiCommandError(UNDEFINED_HEADER, header[:40]))
            if not replies:
                return None
            return b";".join(replies) + b"\n"


class ScpiSocketServer:
    """Serves one ScpiInstrument on (host, port); lines in, replies out."""

    def __init__(self, instrument: ScpiInstrument, host: str = "127.0.0.1", port: int = 0, name: str = "scpi"):
        self.instrument, self.host, self.port, self.name = instrument, host, port, name
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_LINE, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):  # clients still connected are closed with the server
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        self._clients.add(writer)
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    return  # client closed
                except asyncio.LimitOverrunError:
                    await reader.read(MAX_LINE)
                    self.instrument.push_error(ScpiCommandError(QUERY_UNTERMINATED, "message too long"))
                    continue
                try:
                    text = line.decode("ascii").strip()
                except UnicodeDecodeError:
                    self.instrument.push_error(ScpiCommandError(SYNTAX_ERROR, "non-ASCII bytes"))
                    continue
                if not text:
                    continue
                reply = await loop.run_in_executor(None, self.instrument.execute, text)
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.debug("%s: client went away: %s", self.name, exc)
        except Exception:  # an emulator bug must not kill the listener
            log.exception("%s: connection failed", self.name)
        finally:
            self._clients.discard(writer)
            writer.close()
