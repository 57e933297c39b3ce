"""How an instrument says a command failed, read after every configuration: the SCPI error queue (``SYST:ERR?``,
most instruments) or IEEE 488.2's event status register and a vendor's event queue (Tektronix 4/5/6 Series MSO:
``*ESR?`` then ``ALLEv?``; they do not know ``SYST:ERR?`` and would never answer it).  A driver gives its
transport the one its manual defines."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from hilbench.transports.errors import MalformedReply, ScpiError

if TYPE_CHECKING:
    from hilbench.transports.visa import VisaTransport


class ErrorReporting(Protocol):
    def check(self, transport: VisaTransport, context: str) -> None:
        """Raise ScpiError naming ``context`` when the instrument reports an error."""

    def drain(self, transport: VisaTransport) -> None:
        """Empty what is left, so the next check sees only new errors."""


class ScpiErrorQueue:
    """``SYST:ERR?`` (or the instrument's equivalent): '<code>,"<message>"', 0 when empty."""

    def __init__(self, query: str = "SYST:ERR?", *, limit: int = 20) -> None:
        self.query, self.limit = query, limit

    def check(self, transport: VisaTransport, context: str) -> None:
        reply = transport.query(self.query)
        code_text, _, message = reply.partition(",")
        try:
            code = int(code_text)
        except ValueError:
            raise MalformedReply(
                transport.name, transport.resource, self.query, f"expected '<code>,\"<message>\"', got {reply[:60]!r}"
            ) from None
        if code != 0:
            self.drain(transport)
            raise ScpiError(transport.name, transport.resource, context, code, message.strip().strip('"'))

    def drain(self, transport: VisaTransport) -> None:
        for _ in range(self.limit):
            if transport.query(self.query).startswith(("0,", "+0,")):
                return


#: the event status register's error bits (IEEE 488.2): command 32, execution 16, device-dependent 8, query 4
ESR_ERROR_BITS = 32 | 16 | 8 | 4
_EVENT = re.compile(r'\s*:?(?:ALLEV\s+)?(-?\d+)\s*,\s*"((?:[^"]|"")*)"', re.IGNORECASE)


class EventStatusQueue:
    """``*ESR?``, and when an error bit is set, the event queue (``ALLEv?``: '<code>,"<message>"[,...]', codes 0
    and 1 meaning no event).  Reading ``*ESR?`` clears the register and makes the events readable."""

    def __init__(self, events_query: str = "ALLEv?") -> None:
        self.events_query = events_query

    def _register(self, transport: VisaTransport) -> int:
        reply = transport.query("*ESR?")
        try:
            return int(reply)
        except ValueError:
            raise MalformedReply(
                transport.name, transport.resource, "*ESR?", f"expected an integer, got {reply[:60]!r}"
            ) from None

    def check(self, transport: VisaTransport, context: str) -> None:
        if not self._register(transport) & ESR_ERROR_BITS:
            return
        reply = transport.query(self.events_query)
        events = [(int(code), text.replace('""', '"')) for code, text in _EVENT.findall(reply)]
        if not events:
            raise MalformedReply(
                transport.name, transport.resource, self.events_query, f"expected events, got {reply[:60]!r}"
            )
        errors = [(code, text) for code, text in events if code not in (0, 1)]
        code, text = errors[0] if errors else events[0]
        raise ScpiError(transport.name, transport.resource, context, code, text)

    def drain(self, transport: VisaTransport) -> None:
        self._register(transport)
        transport.query(self.events_query)
