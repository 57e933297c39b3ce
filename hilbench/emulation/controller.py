"""The container controller: dispatch, shutdowns, under-frequency shed, comm-loss watchdog.

It is a deterministic function of its inputs (register writes at plant times, the grid
source's frequency) and, like the boards, it is advanced lazily: ``advance(t)`` replays
every control tick and deadline up to t at its own plant time, commanding the boards at
exactly those times.  Register semantics follow docs/controller_register_map.md.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass

from hilbench.core.roles import TripCause
from hilbench.emulation.board import BoardCommandError, BoardModel, BoardState, Transition
from hilbench.emulation.deadlines import Action, Deadline
from hilbench.emulation.fleet_index import FleetIndex
from hilbench.emulation.grid import GridModel
from hilbench.emulation.grid_response import Droop, RideThrough


class Mode(enum.IntEnum):
    OFF = 0
    RUN = 1
    CURTAIL = 2
    GRACEFUL_STOP = 3
    EMERGENCY_STOP = 4


class State(enum.IntEnum):
    OFF = 0
    BOOTING = 1
    RUNNING = 2
    CURTAILED = 3
    STOPPING = 4
    TRIPPED = 5


@dataclass(frozen=True)
class ControllerParams:
    """What a container design promises (or fails to): all plant seconds."""

    aux_w: float = 800.0  # container fans, controller, network
    default_ramp_kw_s: float = 10.0
    contactor_open_s: float = 0.06  # emergency path: relay + contactor
    uf_threshold_hz: float | None = None  # None: 99.5 % of nominal (59.70 Hz at 60 Hz, ERCOT UFR)
    uf_delay_s: float = 0.1
    uf_action: str = "trip"  # "trip" (contactor) or "curtail" (miner API, slow)
    watchdog_s: float = 10.0  # comm-loss timeout once armed by a heartbeat; 0 disables
    stop_stagger_s: float = 0.5  # graceful stop: boards stopped one after another
    cycling_period_s: float = 0.0  # > 0: faulty firmware toggling a board on and off (flicker)
    honours_ramp_limit: bool = True  # False: a controller that ignores the ramp-limit register
    setpoint_poll_s: float = 0.0  # > 0: a sluggish controller acts on a new setpoint only this long after it
    control_period_s: float = 0.1  # dispatch loop while ramping (10 Hz; a site controller may dispatch slower)
    # Frequency response (droop): below nominal the container sheds boards through per-board PDU relays, in
    # proportion to a response curve (deadband, knee, full response; NESO Dynamic Containment's shape), and
    # restores them (a full boot) as the frequency recovers.  0 kW: no droop.  Over-frequency: not modelled.
    droop_volume_kw: float = 0.0
    droop_deadband_hz: float = 0.015
    droop_knee_hz: float = 0.2
    droop_knee_percent: float = 5.0
    droop_full_hz: float = 0.5
    droop_delay_s: float = 0.2  # frequency measurement and relay time before boards are shed
    # Voltage ride-through.  Below ``psu_uvlo_pu`` of nominal for longer than the PSUs' hold-up, every board's PSU
    # drops out (a brown-out) and the boards boot again when the voltage returns, ``restart_stagger_s`` apart
    # (0: all at once).  The controller's own under-voltage protection opens the contactor below ``uv_trip_pu``
    # for ``uv_trip_delay_s`` (0 pu: none).  Defaults ASSUMED: an active-PFC PSU of the 90-264 V class.
    psu_holdup_s: float = 0.03  # ITIC's 0 V for 20 ms, with margin
    psu_uvlo_pu: float = 0.45
    restart_stagger_s: float = 0.1
    uv_trip_pu: float = 0.0
    uv_trip_delay_s: float = 0.5
    # The setpoint register's upper bound when above the boards' rating (0: the rating).  A twin fitted from a
    # measurement keeps the rating the container accepted, which its estimated boards may fall a few watts short of.
    setpoint_limit_kw: float = 0.0


class ControllerError(ValueError):
    """A register write the controller refuses (Modbus exception 3 on the wire)."""


class ContainerController:
    def __init__(
        self,
        boards: list[BoardModel],
        grid: GridModel,
        params: ControllerParams,
        *,
        start: float,
        nominal_hz: float = 50.0,
        nominal_v: float = 230.0,
        running: bool = True,
        phase_of_board: list[int] | None = None,
    ) -> None:
        self.boards = boards
        self.fleet = FleetIndex(boards, phase_of_board)
        self.grid = grid
        self.params = params
        self.lock = threading.RLock()
        self.rated_w = sum(b.power.ladder_entry("default").watts for b in boards)
        self.mode = Mode.RUN if running else Mode.OFF
        self.setpoint_w = float(self.rated_w) if running else 0.0
        self.command_w = self.setpoint_w
        self.ramp_w_s = params.default_ramp_kw_s * 1000
        self.uf_threshold_hz = params.uf_threshold_hz or round(0.995 * nominal_hz, 2)
        self.uf_delay_s = params.uf_delay_s
        self.uf_action = params.uf_action
        self.watchdog_s = params.watchdog_s
        self.contactor_closed = running
        self.trip_cause = TripCause.NONE
        self.last_setpoint_change = start
        self.last_state_change = start
        self.last_heartbeat: float | None = None
        self._t = start
        self._uf_since: float | None = None
        self._next_tick: float | None = None
        self._deadlines: list[Deadline] = []
        self._available_version = -1  # the fleet's available-set version at the last dispatch check
        self._state = self._derive_state()
        self.nominal_hz = nominal_hz
        self.nominal_v = nominal_v
        self.ride_through = RideThrough(self, start)
        self.droop = Droop(self, start) if params.droop_volume_kw > 0 else None
        self._handlers = {
            Action.TICK: self._on_tick,
            Action.FLEET: lambda index, t: self._redispatch_when_the_fleet_changes(t),
            Action.DROOP: lambda index, t: self.droop.apply(t),
            Action.VOLTAGE: lambda index, t: self.ride_through.on_voltage_change(t),
            Action.BROWNOUT: lambda index, t: self.ride_through.brown_out(t),
            Action.RESTART_BOARD: self._on_restart_board,
            Action.UV_TRIP: self._on_uv_trip,
            Action.APPLY_SETPOINT: self._on_apply_setpoint,
            Action.OPEN_CONTACTOR: self._on_open_contactor,
            Action.STOP_BOARD: self._on_stop_board,
            Action.WATCHDOG: self._on_watchdog,
            Action.UF_START: self._on_uf_start,
            Action.UF_TRIP: self._on_uf_trip,
            Action.CYCLE: self._on_cycle,
        }
        if params.cycling_period_s > 0:
            self._deadlines.append(Deadline(start + params.cycling_period_s, Action.CYCLE, 0))

    # ----- register writes (plant time ``at``) ---------------------------------------
    def write_setpoint(self, kw: float, at: float) -> None:
        with self.lock:
            limit_w = max(self.rated_w, self.params.setpoint_limit_kw * 1000)
            if not 0 <= kw * 1000 <= limit_w + 1e-6:  # 836 x 0.1 kW decodes as 83.60000000000001
                raise ControllerError(f"setpoint {kw} kW outside 0..{limit_w / 1000:g} kW")
            self.advance(at)
            self.last_setpoint_change = at
            poll = self.params.setpoint_poll_s
            if poll > 0:
                self.drop_deadlines(Action.APPLY_SETPOINT)
                self._pending_setpoint_w = kw * 1000
                self._deadlines.append(Deadline(at + poll, Action.APPLY_SETPOINT))
            else:
                self.setpoint_w = kw * 1000

    def write_ramp(self, kw_s: float, at: float) -> None:
        with self.lock:
            if not kw_s > 0:
                raise ControllerError("ramp limit must be positive")
            self.advance(at)
            self.ramp_w_s = kw_s * 1000

    def heartbeat(self, at: float) -> None:
        with self.lock:
            self.advance(at)
            self.last_heartbeat = at

    def write_uf(
        self, *, threshold_hz: float | None = None, delay_s: float | None = None, action: str | None = None, at: float
    ) -> None:
        with self.lock:
            self.advance(at)
            if threshold_hz is not None:
                if not 40 <= threshold_hz <= 70:
                    raise ControllerError(f"under-frequency threshold {threshold_hz} Hz outside 40..70 Hz")
                self.uf_threshold_hz = threshold_hz
            if delay_s is not None:
                self.uf_delay_s = delay_s
            if action is not None:
                self.uf_action = action

    def write_watchdog(self, seconds: float, at: float) -> None:
        with self.lock:
            self.advance(at)
            self.watchdog_s = seconds

    def write_mode(self, mode: int, at: float) -> None:
        with self.lock:
            try:
                mode = Mode(mode)
            except ValueError:
                raise ControllerError(f"mode {mode} is not one of 0..4") from None
            self.advance(at)
            self._apply_mode(mode, at)
            self._update_state(at)

    def _apply_mode(self, mode: Mode, t: float) -> None:
        previous = self.mode
        self.mode = mode
        # a commanded mode closes the droop function's relays and ends a brown-out's pending restarts (RUN powers
        # every board on)
        if self.droop is not None:
            self.droop.shed = []
        self.ride_through.browned = []
        for i in list(self.fleet.held):  # an explicit command for the container overrides an operator's curtailment
            self.boards[i].release_hold()
        self._deadlines = [d for d in self._deadlines if d.action in (Action.CYCLE, Action.APPLY_SETPOINT)]
        if mode is Mode.EMERGENCY_STOP:
            self.trip_cause = TripCause.EMERGENCY_STOP
            self._deadlines.append(Deadline(t + self.params.contactor_open_s, Action.OPEN_CONTACTOR))
        elif mode is Mode.GRACEFUL_STOP:
            for i, _ in enumerate(self.boards):
                self._deadlines.append(Deadline(t + i * self.params.stop_stagger_s, Action.STOP_BOARD, i))
        elif mode is Mode.OFF:
            self.trip_cause = TripCause.NONE
            self._open_contactor(t)
        elif mode is Mode.CURTAIL:
            for board in self.boards:
                self._try(board.sleep, at=t)
        elif mode is Mode.RUN:
            self.trip_cause = TripCause.NONE
            if not self.contactor_closed or any(b.state is BoardState.OFF for b in self.boards):
                self.contactor_closed = True
                for board in self.boards:
                    if board.state is BoardState.OFF:
                        self._try(board.power_on, at=t)
                self.command_w = 0.0 if previous is not Mode.RUN else self.command_w
            self._dispatch(t)

    # ----- time evolution ----------------------------------------------------------------
    def _ramping(self) -> bool:
        return self.mode is Mode.RUN and abs(self.command_w - self.setpoint_w) > 1e-6

    def _next_event(self, t: float) -> Deadline | None:
        candidates = list(self._deadlines)
        if self._ramping():
            period = self.params.control_period_s
            if self._next_tick is None or self._next_tick < self._t - period:
                self._next_tick = self._t + period  # a ramp starts: first tick one period later
            candidates.append(Deadline(self._next_tick, Action.TICK))
        else:
            self._next_tick = None
        if self.watchdog_s > 0 and self.last_heartbeat is not None and self.mode in (Mode.RUN,):
            candidates.append(Deadline(self.last_heartbeat + self.watchdog_s, Action.WATCHDOG))
        if self.mode is Mode.RUN:  # a board finishing its boot or wake gets its share at that moment
            due = self.fleet.next_due()
            if due is not None and self._t < due <= t:
                candidates.append(Deadline(due, Action.FLEET))
        uf = self._next_uf_check(t)
        if uf is not None:
            candidates.append(uf)
        for responder in (self.droop, self.ride_through):
            event = responder.next_event(t) if responder is not None else None
            if event is not None:
                candidates.append(event)
        due = [c for c in candidates if c[0] <= t]
        return min(due) if due else None

    def _next_uf_check(self, t: float) -> Deadline | None:
        if self.mode is not Mode.RUN or not self.contactor_closed:
            return None
        if self._uf_since is None:
            for when, _, freq, _ in self.grid.change_points(self._t, t):
                if freq < self.uf_threshold_hz:
                    return Deadline(when, Action.UF_START)
            if self.grid.state_at(self._t)[1] < self.uf_threshold_hz:
                return Deadline(self._t, Action.UF_START)
            return None
        return Deadline(self._uf_since + self.uf_delay_s, Action.UF_TRIP)

    # ----- for the grid responses (hilbench.emulation.grid_response) -------------------------------------
    @property
    def running_mode(self) -> bool:
        return self.mode is Mode.RUN

    def add_deadline(self, when: float, action: Action, index: int = -1) -> None:
        self._deadlines.append(Deadline(when, Action(action), index))

    def drop_deadlines(self, *actions: Action) -> None:
        self._deadlines = [d for d in self._deadlines if d.action not in actions]

    def _drop_board_deadline(self, action: Action, index: int) -> None:
        self._deadlines = [d for d in self._deadlines if not (d.action is action and d.index == index)]

    def try_command(self, command, *, at: float) -> None:
        self._try(command, at=at)

    def advance(self, t: float, *, every_board: bool = True) -> None:
        """Replay control ticks and deadlines up to plant time t; the boards with a transition due by then
        take it (the others' plans hold, and each board integrates itself when read, so a site of 1,300 boards
        costs the boards that changed, not 1,300).  ``every_board`` False (one board's endpoint asking) stops
        at the last event."""
        with self.lock:
            if t < self._t:
                return
            while (event := self._next_event(t)) is not None:
                when, action, index = event
                when = max(when, self._t)
                self._t = when
                self._advance_due_boards(when)
                self._handle(action, index, when)
                self._advance_due_boards(when)
            self._t = t
            if not every_board:
                return
            self._advance_due_boards(t)
            self._redispatch_when_the_fleet_changes(t)

    def _advance_due_boards(self, t: float) -> None:
        for board in self.fleet.boards_due(t):
            board.advance(t)
        self._update_state(t)

    def _redispatch_when_the_fleet_changes(self, t: float) -> None:
        """Boards that finish booting or waking after the ramp is over still get their share and profile; without
        this, boards restarted with the lower profiles of an earlier setpoint kept them (91 of 97.5 kW)."""
        version = self.fleet.available_version
        if version != self._available_version and self.mode is Mode.RUN:
            self._dispatch(t)
        self._available_version = version

    def _handle(self, action: Action, index: int, t: float) -> None:
        handler = self._handlers.get(action)
        if handler is None:  # every action has its handler: one without is a bug, never a silent no-op
            raise LookupError(f"emulated controller: no handler for deadline action {action!r}")
        handler(index, t)

    def _on_tick(self, index: int, t: float) -> None:
        period = self.params.control_period_s
        self._next_tick = t + period  # a fixed grid, however often advance() is called
        step = self.ramp_w_s * period if self.params.honours_ramp_limit else float("inf")
        delta = self.setpoint_w - self.command_w
        self.command_w += max(-step, min(step, delta))
        self._dispatch(t)

    def _on_restart_board(self, index: int, t: float) -> None:
        self._drop_board_deadline(Action.RESTART_BOARD, index)
        if self.contactor_closed and self.boards[index].state is BoardState.OFF:
            self._try(self.boards[index].power_on, at=t)

    def _on_uv_trip(self, index: int, t: float) -> None:
        self.drop_deadlines(Action.UV_TRIP)
        self.trip_cause = TripCause.UNDER_VOLTAGE
        self.mode = Mode.EMERGENCY_STOP
        self._open_contactor(t)

    def _on_apply_setpoint(self, index: int, t: float) -> None:
        self.drop_deadlines(Action.APPLY_SETPOINT)
        self.setpoint_w = self._pending_setpoint_w

    def _on_open_contactor(self, index: int, t: float) -> None:
        self.drop_deadlines(Action.OPEN_CONTACTOR)
        self._open_contactor(t)

    def _on_stop_board(self, index: int, t: float) -> None:
        self._drop_board_deadline(Action.STOP_BOARD, index)
        self._try(self.boards[index].shutdown, at=t)

    def _on_watchdog(self, index: int, t: float) -> None:
        self.trip_cause = TripCause.WATCHDOG
        self.last_heartbeat = None
        self._apply_mode(Mode.CURTAIL, t)

    def _on_uf_start(self, index: int, t: float) -> None:
        self._uf_since = t

    def _on_uf_trip(self, index: int, t: float) -> None:
        still_low = self.grid.state_at(t)[1] < self.uf_threshold_hz
        recovered = [p for p in self.grid.change_points(self._uf_since, t) if p[2] >= self.uf_threshold_hz]
        self._uf_since = None
        if still_low and not recovered:
            self.trip_cause = TripCause.UNDER_FREQUENCY
            if self.uf_action == "trip":  # relay -> contactor: the same hardware path as an emergency stop
                self.mode = Mode.EMERGENCY_STOP
                self._deadlines.append(Deadline(t + self.params.contactor_open_s, Action.OPEN_CONTACTOR))
            else:
                self.mode = Mode.CURTAIL
                for board in self.boards:
                    self._try(board.sleep, at=t)

    def _on_cycle(self, index: int, t: float) -> None:
        self.drop_deadlines(Action.CYCLE)
        self._deadlines.append(Deadline(t + self.params.cycling_period_s, Action.CYCLE, 0))
        board = self.boards[-1]
        if self.mode is Mode.RUN and self.contactor_closed:
            if board.state is BoardState.MINING:
                self._try(board.sleep, at=t)
            elif board.state is BoardState.CURTAILED:
                self._try(board.wakeup, at=t)

    def _open_contactor(self, t: float) -> None:
        self.contactor_closed = False
        for board in self.boards:
            if board.state is not BoardState.OFF:
                self._try(lambda b=board, **kw: b.shutdown(emergency=True, **kw), at=t)

    @staticmethod
    def _try(command, *, at: float) -> None:
        try:
            command(at=at)
        except BoardCommandError:
            pass  # e.g. sleeping a board that is still booting: the next tick retries

    def _dispatch(self, t: float) -> None:
        """Share the commanded power over the boards: as few as possible, at the highest profile that fits."""
        if self.mode is not Mode.RUN or not self.contactor_closed:
            return
        available = [
            b for b in self.boards if b.state in (BoardState.MINING, BoardState.CURTAILED) and not b.held_by_operator
        ]
        if not available:
            return
        per_board_max = available[0].power.ladder_entry("default").watts
        target = max(0.0, self.command_w)
        count = min(len(available), math.ceil(target / per_board_max - 1e-9)) if target > 0 else 0
        share = target / count if count else 0.0
        profile_for: dict[int, object] = {}  # one ladder search per board profile, not per board
        for i, board in enumerate(available):
            if i < count:
                profile = profile_for.get(id(board.profile))
                if profile is None:
                    ladder = board.power.ladder
                    fitting = [p for p in ladder if p.watts <= share + 1e-6 and not p.name.startswith("+")]
                    profile = profile_for[id(board.profile)] = fitting[0] if fitting else ladder[-1]
                if board.active_profile.name != profile.name:
                    self._try(lambda b=board, name=profile.name, **kw: b.set_profile(name, **kw), at=t)
                if board.state is BoardState.CURTAILED or board.pending is Transition.CURTAIL_DONE:
                    self._try(board.wakeup, at=t)
            elif board.state is BoardState.MINING and board.pending is not Transition.CURTAIL_DONE:
                self._try(board.sleep, at=t)

    # ----- observation -------------------------------------------------------------------
    def _derive_state(self) -> State:
        count, total = self.fleet.count, len(self.boards)
        tripping = (TripCause.EMERGENCY_STOP, TripCause.UNDER_FREQUENCY, TripCause.UNDER_VOLTAGE)
        if self.trip_cause in tripping and not self.contactor_closed:
            return State.TRIPPED
        if count(BoardState.SHUTTING_DOWN):
            return State.STOPPING
        if count(BoardState.OFF) == total:
            return State.OFF
        if count(BoardState.BOOTING):
            return State.BOOTING
        if self.mode is Mode.CURTAIL or count(BoardState.CURTAILED) == total:
            return State.CURTAILED
        return State.RUNNING

    def _update_state(self, t: float) -> None:
        state = self._derive_state()
        if state is not self._state:
            changed = self.fleet.last_state_change
            self.last_state_change = changed if self._state_t_prev <= changed <= t else t
            self._state = state
        self._state_t_prev = t

    _state_t_prev = -math.inf

    @property
    def state(self) -> State:
        return self._state

    def boards_online(self) -> int:
        return self.fleet.count(BoardState.MINING)

    def boards_held(self) -> int:
        """Boards curtailed through their own API, which the controller leaves asleep (not dispatched)."""
        return len(self.fleet.held)
