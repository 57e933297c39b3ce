"""The fleet index: a site's boards grouped by what they draw, so the plant's cost per poll does not grow
with the board count.

Boards told to do the same thing at the same moment (the controller dispatching one profile, a curtail, a
boot) follow the same plan: one group, advanced and summed as one (count x the segment's power).  The index
is kept up to date by the boards themselves (``BoardModel.observer``): every change of plan moves one board
from one group to another at its plant time, closing the energy of both groups there, so site power and
energy at any plant time cost one evaluation per group, not per board.  It also counts boards per state and
keeps their scheduled transitions in a heap, which is what the controller needs from "every board".

Energy is closed with signed integrals: a board that changes plan slightly before a group's last close (a
board command at the plant time it arrived, the controller's deadline replayed a little later) moves the
group's books back to that moment, so nothing is counted twice.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from hilbench.emulation.board import (
    BoardModel,
    BoardState,
    Segment,
    segment_power,
    segment_ramp_end,
)
from hilbench.emulation.power_model import PowerModel

AVAILABLE = (BoardState.MINING, BoardState.CURTAILED)  # boards the controller can give a share


RAMP_TABLE_POINTS = 129  # cumulative energy tabulated over a PLL ramp (linear between: ~1e-6 of the ramp's energy)


class _RampEnergy:
    """Cumulative wall energy along one PLL ramp shape (profile, start and end frequency, voltage), as a function
    of the time since the ramp began: tabulated once per shape and shared by every group that ramps the same way
    at another moment (370 boards stopped 0.15 s apart are 370 groups of one shape)."""

    def __init__(self, power: PowerModel, segment: Segment, ramp_end: float) -> None:
        self.duration = ramp_end - segment.t_anchor
        self.u = np.linspace(0.0, self.duration, RAMP_TABLE_POINTS)
        wall = np.asarray(segment_power(power, segment, segment.t_anchor + self.u)[1], dtype=np.float64)
        self.p_start, self.p_end = float(wall[0]), float(wall[-1])
        mid = np.asarray(segment_power(power, segment, segment.t_anchor + (self.u[:-1] + self.u[1:]) / 2)[1])
        steps = (wall[:-1] + 4 * mid + wall[1:]) / 6 * np.diff(self.u)  # Simpson on each step
        self.cumulative = np.concatenate([[0.0], np.cumsum(steps)])

    def energy_to(self, u: float) -> float:
        """Energy from the ramp's start to ``u`` seconds after it (negative before it, flat after it)."""
        if u <= 0:
            return self.p_start * u
        if u >= self.duration:
            return float(self.cumulative[-1]) + self.p_end * (u - self.duration)
        return float(np.interp(u, self.u, self.cumulative))


@dataclass
class _Group:
    """Boards on one phase, of one profile, following one plan (``segment``) since ``since``."""

    phase: int
    power: PowerModel
    segment: Segment
    ramp_end: float  # inf for a flat group (its power never changes)
    since: float
    members: set[int] = field(default_factory=set)
    ramp: _RampEnergy | None = None  # a ramping group's energy table
    flat_w: float | None = None  # a flat group's power per board, computed once

    def power_w(self, t: float) -> float:
        """Wall power of one member at plant time ``t``."""
        if self.ramp is not None:
            return segment_power(self.power, self.segment, t)[1]
        if self.flat_w is None:
            self.flat_w = float(segment_power(self.power, self.segment, t)[1])
        return self.flat_w

    def energy_since(self, t: float) -> float:
        """Energy of every member from ``since`` to ``t`` (negative if t is earlier)."""
        if self.ramp is None:
            return len(self.members) * self.power_w(t) * (t - self.since)
        anchor = self.segment.t_anchor
        return len(self.members) * (self.ramp.energy_to(t - anchor) - self.ramp.energy_to(self.since - anchor))


class FleetIndex:
    def __init__(self, boards: list[BoardModel], phase_of_board: list[int] | None = None) -> None:
        self._lock = threading.RLock()
        self.boards = boards
        self.phase_of_board = phase_of_board or [i % 3 for i in range(len(boards))]
        self._position = {id(b): i for i, b in enumerate(boards)}
        self._profile_key = [id(b.profile) for b in boards]
        self._groups: dict[tuple, _Group] = {}
        self._member_of: list[tuple | None] = [None] * len(boards)
        self._state: list[BoardState | None] = [None] * len(boards)
        self.state_counts: Counter[BoardState] = Counter()
        self.held: set[int] = set()  # boards held asleep by their operator (BoardModel.held_by_operator)
        self.available_version = 0  # bumped whenever a board enters or leaves the controller's available set
        self.last_state_change = -math.inf  # latest plant time at which any board changed state
        self._closed_j = 0.0
        self._dues: list[tuple[float, int]] = []
        self._ramps: dict[tuple, _RampEnergy] = {}
        for i, board in enumerate(boards):
            segment = board.history[-1]
            self._move(i, segment, segment.t0)
            if board.pending_due is not None:
                heapq.heappush(self._dues, (board.pending_due, i))
            board.observer = self

    # ----- told by the boards ---------------------------------------------------------------
    def segment_changed(self, board: BoardModel, segment: Segment) -> None:
        with self._lock:
            self._move(self._position[id(board)], segment, segment.t0)

    def pending_changed(self, board: BoardModel, due: float | None) -> None:
        if due is not None:
            with self._lock:
                heapq.heappush(self._dues, (due, self._position[id(board)]))

    def hold_changed(self, board: BoardModel) -> None:
        """A board held (or released) by its operator leaves (or rejoins) the set the controller dispatches."""
        with self._lock:
            (self.held.add if board.held_by_operator else self.held.discard)(self._position[id(board)])
            self.available_version += 1

    # ----- groups -----------------------------------------------------------------------------
    def _key(self, i: int, segment: Segment, at: float) -> tuple[tuple, Segment, float]:
        """(group key, the group's plan, its ramp end): a plan whose power no longer changes is keyed without
        its times, so boards that settled on the same profile at different moments share one group."""
        board = self.boards[i]
        ramp_end = segment_ramp_end(segment, board.profile.pll_ramp_mhz_per_s)
        state, emergency, f_target, voltage = segment.state, segment.emergency, segment.f_target, segment.voltage_v
        if not segment.hashing or ramp_end <= at:
            flat = Segment(0.0, state, emergency, 0.0, f_target, f_target, voltage)
            return (self._profile_key[i], self.phase_of_board[i], flat), flat, math.inf
        ramping = Segment(0.0, state, emergency, segment.t_anchor, segment.f_anchor, f_target, voltage)
        return (self._profile_key[i], self.phase_of_board[i], ramping), ramping, ramp_end

    def _close(self, group: _Group, t: float) -> None:
        if t != group.since:
            self._closed_j += group.energy_since(t)
            group.since = t

    def _move(self, i: int, segment: Segment, t: float) -> None:
        old_key = self._member_of[i]
        if old_key is not None:
            old = self._groups[old_key]
            self._close(old, t)
            old.members.discard(i)
            if not old.members:
                del self._groups[old_key]
        key, plan, ramp_end = self._key(i, segment, t)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(self.phase_of_board[i], self.boards[i].power, plan, ramp_end, t)
            if ramp_end != math.inf:
                shape = (key[0], plan.state, plan.emergency, plan.f_anchor, plan.f_target, plan.voltage_v)
                group.ramp = self._ramps.get(shape)
                if group.ramp is None:
                    group.ramp = self._ramps[shape] = _RampEnergy(group.power, plan, ramp_end)
        else:
            self._close(group, t)
        group.members.add(i)
        self._member_of[i] = key
        self._count_state(i, segment.state, t)

    def _count_state(self, i: int, state: BoardState, t: float) -> None:
        previous = self._state[i]
        if previous is state:
            return
        if previous is not None:
            self.state_counts[previous] -= 1
            self.last_state_change = max(self.last_state_change, t)
        self.state_counts[state] += 1
        self._state[i] = state
        if (previous in AVAILABLE) != (state in AVAILABLE):
            self.available_version += 1

    def _settle_ramps(self, t: float) -> None:
        """Groups whose PLL ramp has ended by ``t`` join the flat group of their final power."""
        for group in [g for g in self._groups.values() if g.ramp_end <= t]:
            for i in sorted(group.members):
                self._move(i, replace(group.segment, t0=group.ramp_end), group.ramp_end)

    # ----- what the plant and the controller ask ----------------------------------------------
    def phase_power_w(self, t: float) -> np.ndarray:
        """(3,) wall power of the boards per phase at plant time ``t`` (no board with a transition due by then)."""
        with self._lock:
            self._settle_ramps(t)
            power = np.zeros(3)
            for group in self._groups.values():
                power[group.phase] += len(group.members) * group.power_w(t)
            return power

    def energy_j(self, t: float) -> float:
        """Wall energy of every board since the index started, to plant time ``t``."""
        with self._lock:
            self._settle_ramps(t)
            return self._closed_j + sum(g.energy_since(t) for g in self._groups.values())

    def group_count(self) -> int:
        with self._lock:
            return len(self._groups)

    def count(self, state: BoardState) -> int:
        return self.state_counts[state]

    def next_due(self) -> float | None:
        """The earliest scheduled transition of any board (entries no longer scheduled are dropped)."""
        with self._lock:
            while self._dues:
                due, i = self._dues[0]
                if self.boards[i].pending_due == due:
                    return due
                heapq.heappop(self._dues)
            return None

    def boards_due(self, t: float) -> list[BoardModel]:
        """Boards with a transition scheduled at or before ``t``, taken off the heap (advancing them re-adds
        whatever they schedule next)."""
        due_boards: list[BoardModel] = []
        with self._lock:
            while self._dues and self._dues[0][0] <= t:
                due, i = heapq.heappop(self._dues)
                board = self.boards[i]
                if board.pending_due == due and board not in due_boards:
                    due_boards.append(board)
        return due_boards
