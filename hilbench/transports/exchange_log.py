"""Every exchange with every instrument, kept for the report (bounded, thread-safe)."""

from __future__ import annotations

import threading
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
    def __init__(self, keep: int = 10_000) -> None:
        self._items: deque[Exchange] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, instrument: str, address: str, request: str, reply: str, started: float, error: str = "") -> None:
        item = Exchange(
            time.time(), instrument, address, request[:500], reply[:500], time.perf_counter() - started, error
        )
        with self._lock:
            self._items.append(item)

    def items(self) -> list[Exchange]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)


#: The process-wide log the report reads; transports write to it unless given their own.
GLOBAL_LOG = ExchangeLog()
