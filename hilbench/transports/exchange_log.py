"""Every exchange with every instrument, kept for the report (bounded, thread-safe)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Exchange:
    wall_time: float  # host epoch, for the log only; verdicts never use it
    instrument: str
    address: str
    request: str
    reply: str
    seconds: float
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class ExchangeLog:
    """Raw tuples on the hot path (deque.append is atomic); Exchange records are built when read."""

    def __init__(self, keep: int = 10_000) -> None:
        self._items: deque[tuple] = deque(maxlen=keep)

    def add(self, instrument: str, address: str, request: str, reply: str, started: float, error: str = "") -> None:
        self._items.append((time.time(), instrument, address, request, reply, time.perf_counter() - started, error))

    def items(self) -> list[Exchange]:
        return [Exchange(w, i, a, req[:500], rep[:500], s, e) for w, i, a, req, rep, s, e in list(self._items)]

    def __len__(self) -> int:
        return len(self._items)


#: The process-wide log the report reads; transports write to it unless given their own.
GLOBAL_LOG = ExchangeLog()
