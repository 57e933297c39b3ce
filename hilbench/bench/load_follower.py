"""Load follower: an electronic load draws what boards absent from a real bench would draw.

The absent boards run as emulated board models on the plant clock; every ``period_s`` the
follower sets the load to their summed modelled wall power, so the grid sees the whole
container even when only part of it is on the bench.  The setpoint goes through the load
driver, so the bench file's limits still apply (a limit hit stops the follower, load off).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import numpy as np

from hilbench.core.errors import LimitError
from hilbench.transports.errors import InstrumentError

log = logging.getLogger(__name__)


class ModelledBoard(Protocol):
    """What the follower needs of a modelled board (hilbench.emulation.board.BoardModel has it); declared
    here so that a real bench's run does not import the emulator."""

    def advance(self) -> float: ...
    def wall_power_at(self, times: np.ndarray) -> np.ndarray: ...


class LoadFollower:
    def __init__(self, load, boards: list[ModelledBoard], *, period_s: float = 0.5) -> None:
        self.load, self.boards, self.period_s = load, boards, period_s
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-follower", daemon=True)

    def modelled_power_w(self) -> float:
        return float(sum(b.wall_power_at(np.array([b.advance()]))[0] for b in self.boards))

    def start(self) -> LoadFollower:
        self.load.set_power(self.modelled_power_w())
        self.load.output(True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.load.set_power(self.modelled_power_w())
            except (LimitError, InstrumentError) as exc:
                self.error = exc
                log.error("load follower stopped: %s", exc)
                self._safe()
                return

    def _safe(self) -> None:
        try:
            self.load.safe_state()
        except InstrumentError as exc:
            log.error("load follower could not switch the load off: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._safe()

    def __enter__(self) -> LoadFollower:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
