"""cgminer-style TCP-JSON: one request per connection, NUL-terminated JSON reply.

Minimal client for the demo and for tests that need raw bytes on the wire; the full
transport (retries of idempotent queries, exchange log for the report) comes with the
instruments issue.
"""

from __future__ import annotations

import json
import socket

from hilbench.protocols.cgminer import is_ok


class TcpJsonError(Exception):
    """A miner API exchange that failed; names the address."""


def exchange(host: str, port: int, payload: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes; the reply bytes as received."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(payload)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise TcpJsonError(f"{host}:{port}: {exc}") from exc
    return b"".join(chunks)


def query(host: str, port: int, command: str, parameter: str = "", *, timeout: float = 5.0) -> dict:
    """One cgminer command; raises ``TcpJsonError`` on a transport fault or a STATUS E/F reply."""
    request = {"command": command, **({"parameter": parameter} if parameter else {})}
    raw = exchange(host, port, json.dumps(request).encode(), timeout=timeout)
    try:
        reply = json.loads(raw.rstrip(b"\x00").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TcpJsonError(f"{host}:{port}: reply to {command!r} is not JSON: {raw[:80]!r}") from exc
    if "+" not in command and not is_ok(reply):
        status = reply.get("STATUS", [{}])[0]
        raise TcpJsonError(f"{host}:{port}: {command!r} failed: {status.get('Code')} {status.get('Msg')}")
    return reply
