"""The cgminer RPC wire format (TCP 4028) as LuxOS and pyasic use it.

One request per connection: JSON ``{"command": "...", "parameter": "..."}`` or text
``command|parameter``; the reply is JSON terminated by a NUL byte, then the server closes.
``a+b`` asks for several commands at once; the reply nests each one's reply under its
name in a one-element list (cgminer api.c head_join/tail_join).  Source: cgminer
API-README and api.c, LuxOS API docs, via docs/references/miner_protocols.md A.1-A.3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# cgminer api.c message codes (docs/references/miner_protocols.md A.2).
POOL = 7
DEVS = 9
SUMMARY = 11
VERSION = 22
MINE_CONFIG = 33
DEV_DETAILS = 69
MINE_STATS = 70
INVALID_COMMAND = 14
INVALID_JSON = 23
MISSING_COMMAND = 24
ACCESS_DENIED = 45
# LuxOS codes quoted by the LuxOS docs (miner_protocols.md A.4): session created, curtail sent,
# profile set, ATM.  Codes not listed there are hilbench's choice and marked so.
SESSION_CREATED = 316
CURTAIL_SENT = 335
PROFILE_SET = 321
ATM_INFO = 339
ATM_SET = 340
SESSION_INVALID = 317  # ASSUMED code
SESSION_BUSY = 318  # ASSUMED code
BAD_PARAMETER = 325  # ASSUMED code
REQUEST_TOO_LARGE = 26  # ASSUMED code
LUXOS_INFO = 300  # ASSUMED code: LuxOS-only read commands (power, fans, profiles, config, tempctrl, hilshares)

MAX_REQUEST_BYTES = 64 * 1024


class RequestError(Exception):
    """A request that cannot be parsed; carries the cgminer code for the error reply."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Request:
    command: str  # may contain '+' for a multi-command
    parameter: str

    @property
    def commands(self) -> list[str]:
        return [c for c in self.command.split("+") if c]

    @property
    def parameters(self) -> list[str]:
        return [p.strip() for p in self.parameter.split(",")] if self.parameter else []


def parse_request(raw: bytes) -> Request:
    """Parse one request; raises ``RequestError`` with the code cgminer would answer."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise RequestError(REQUEST_TOO_LARGE, f"Request larger than {MAX_REQUEST_BYTES} bytes")
    try:
        text = raw.rstrip(b"\x00").decode("utf-8").strip()
    except UnicodeDecodeError:
        raise RequestError(INVALID_JSON, "Invalid JSON: request is not UTF-8") from None
    if not text:
        raise RequestError(MISSING_COMMAND, "Missing JSON 'command'")
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(INVALID_JSON, f"Invalid JSON: {exc.msg} at char {exc.pos}") from None
        if not isinstance(body, dict) or "command" not in body:
            raise RequestError(MISSING_COMMAND, "Missing JSON 'command'")
        command, parameter = body["command"], body.get("parameter", "")
        if not isinstance(command, str) or not isinstance(parameter, (str, int, float)):
            raise RequestError(INVALID_JSON, "Invalid JSON: command and parameter must be strings")
        return Request(command.strip(), str(parameter))
    command, _, parameter = text.partition("|")
    return Request(command.strip(), parameter)


def request_complete(raw: bytes) -> bool:
    """Whether bytes read so far hold a whole request (clients do not half-close the socket)."""
    text = raw.strip()
    if not text.startswith(b"{"):
        return bool(text)
    try:
        json.loads(text.rstrip(b"\x00"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return True


def status(kind: str, code: int, message: str, when: int, description: str) -> list[dict]:
    """The STATUS section every reply carries; ``kind`` is S, I, W, E or F."""
    return [{"STATUS": kind, "When": when, "Code": code, "Msg": message, "Description": description}]


def error_reply(code: int, message: str, when: int, description: str) -> dict:
    return {"STATUS": status("E", code, message, when, description), "id": 1}


def encode_reply(reply: dict) -> bytes:
    """JSON then a NUL byte, as cgminer's send_result does (strlen + 1)."""
    return json.dumps(reply, separators=(",", ":")).encode("utf-8") + b"\x00"


def join_replies(replies: dict[str, dict]) -> dict:
    """Multi-command reply: ``{"cmd": [reply], ...,"id": 1}``."""
    joined: dict = {name: [reply] for name, reply in replies.items()}
    joined["id"] = 1
    return joined


def is_ok(reply: dict) -> bool:
    """pyasic's rule: a reply is good iff STATUS[0].STATUS is S or I."""
    try:
        return reply["STATUS"][0]["STATUS"] in ("S", "I")
    except (KeyError, IndexError, TypeError):
        return False
