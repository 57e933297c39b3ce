"""Real TCP servers for emulated instruments, all on one background asyncio loop.

One request per connection (the cgminer convention): read until the request is whole
(clients do not half-close), hand the bytes to a handler in a worker thread (hashing
releases the GIL), write the reply, close.  A client that sends garbage or stalls only
ever gets its own error reply or timeout; the listener keeps serving everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from hilbench.protocols.cgminer import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)

Handler = Callable[[bytes], bytes]
Completeness = Callable[[bytes], bool]

REQUEST_TIMEOUT_S = 2.0


class EventLoopThread:
    """A daemon thread running one asyncio loop; servers and stop() are submitted to it."""

    def __init__(self, name: str = "hilbench-emulation", workers: int = 4) -> None:
        self.loop = asyncio.new_event_loop()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{name}-worker")
        self.loop.set_default_executor(self.executor)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro, timeout: float = 10.0):
        """Run a coroutine on the loop from another thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        self.loop.close()
        self.executor.shutdown(wait=False, cancel_futures=True)


class RequestReplyServer:
    """A listener on (host, port) answering each connection's one request with ``handler``."""

    def __init__(self, host: str, port: int, handler: Handler, is_complete: Completeness, name: str = "server") -> None:
        self.host, self.port = host, port
        self.handler = handler
        self.is_complete = is_complete
        self.name = name
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes:
        data = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_TIMEOUT_S
        while len(data) <= MAX_REQUEST_BYTES and not self.is_complete(data):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(4096), remaining)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        return data

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            request = await self._read_request(reader)
            if request:
                reply = await asyncio.get_running_loop().run_in_executor(None, self.handler, request)
                writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.debug("%s: client %s went away: %s", self.name, peer, exc)
        except Exception:  # a handler bug must not take the listener down
            log.exception("%s: request from %s failed", self.name, peer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
