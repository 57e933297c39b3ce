"""The emulated controller's timed actions as typed records, and what its grid responders may ask of it.

A deadline is (plant time, action, board index).  Actions are an enum handled through a table (as the board's
transitions are), so an action nobody handles is an error at once, never a silently dropped branch.  The grid
responders (``grid_response``) see the controller only through ``ContainerPort``, so the two modules do not
import each other.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from hilbench.emulation.board import BoardModel
    from hilbench.emulation.grid import GridModel


class Action(enum.IntEnum):
    """What a deadline does.  At equal plant times the lower value acts first (the order ties always had)."""

    APPLY_SETPOINT = 1  # a sluggish controller takes up the setpoint written a poll period ago
    BROWNOUT = 2  # the PSUs' hold-up ran out during a sag: every board drops
    CYCLE = 3  # faulty firmware toggles a board (flicker source)
    DROOP = 4  # shed or restore boards on the response curve, a relay delay after a frequency change
    FLEET = 5  # a board finished booting or waking: share the setpoint again
    OPEN_CONTACTOR = 6  # emergency path: relay + contactor opened
    RESTART_BOARD = 7  # a browned-out board boots again (staggered)
    STOP_BOARD = 8  # graceful stop: the next board in the stagger
    TICK = 9  # dispatch loop while ramping
    UF_START = 10  # frequency went below the under-frequency threshold
    UF_TRIP = 11  # ... and stayed below it for the delay
    UV_TRIP = 12  # the controller's own under-voltage protection
    VOLTAGE = 13  # the grid voltage changed: ride-through decides
    WATCHDOG = 14  # no heartbeat within the watchdog time


class Deadline(NamedTuple):
    when: float  # plant seconds
    action: Action
    index: int = -1  # the board it concerns; -1: the container


class ContainerPort(Protocol):
    """What droop and ride-through use of the controller: its boards, grid, settings, contactor and deadlines."""

    boards: list[BoardModel]
    grid: GridModel
    nominal_hz: float
    nominal_v: float
    contactor_closed: bool

    @property
    def params(self): ...  # ControllerParams

    @property
    def running_mode(self) -> bool: ...

    def add_deadline(self, when: float, action: Action, index: int = -1) -> None: ...

    def drop_deadlines(self, *actions: Action) -> None: ...

    def try_command(self, command: Callable[..., object], *, at: float) -> None: ...
