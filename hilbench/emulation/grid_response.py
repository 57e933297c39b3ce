"""How the emulated container answers the grid beyond its trips: droop (boards shed by relay on a response
curve as the frequency falls) and voltage ride-through (PSU hold-up and lock-out, brown-out and restart).

Both watch the grid source's change points and act through the controller (its boards, its deadlines, its
contactor), at exact plant times; the controller owns them and asks them for their next event."""

from __future__ import annotations

from hilbench.core.envelope import ResponseCurve
from hilbench.emulation.board import BoardState
from hilbench.emulation.deadlines import Action, ContainerPort, Deadline


class Droop:
    """Below nominal, shed boards through per-board PDU relays in proportion to the response curve, a relay delay
    after each frequency change; restore them (a full boot) as the frequency recovers."""

    def __init__(self, controller: ContainerPort, start: float) -> None:
        p = controller.params
        self.controller = controller
        self.curve = ResponseCurve(
            ((p.droop_deadband_hz, 0.0), (p.droop_knee_hz, p.droop_knee_percent / 100), (p.droop_full_hz, 1.0))
        )
        self.checked = start  # grid changes up to here have been answered
        self.answering = start  # the change the next droop event answers
        self.shed: list[int] = []  # boards whose relay is open, in order

    def next_event(self, t: float) -> Deadline | None:
        c = self.controller
        if not c.contactor_closed or not c.running_mode:
            return None
        delay = c.params.droop_delay_s
        changes = c.grid.change_points(self.checked, t - delay)
        if not changes:
            return None
        self.answering = changes[0][0]
        return Deadline(self.answering + delay, Action.DROOP)

    def apply(self, t: float) -> None:
        """Shed or restore boards so the shed power matches the curve at the frequency now."""
        c = self.controller
        # the change answered, by its own time stamp: (change + delay) - delay is not always the change again in
        # floating point, and a change that stays "unanswered" would be answered forever
        self.checked = max(self.checked, self.answering)
        # the relay acts on the frequency it measured at the change, a delay ago (a pure delay: on a ramp the
        # response lags the ramp by the delay, it does not jump to where the frequency is now)
        deviation = c.nominal_hz - c.grid.state_at(self.answering)[1]
        wanted_w = c.params.droop_volume_kw * 1000 * (self.curve.fraction(deviation) if deviation > 0 else 0)
        per_board_w = c.boards[0].power.ladder_entry("default").watts if c.boards else 1.0
        count = min(len(c.boards), round(wanted_w / per_board_w))
        while len(self.shed) < count:
            mining = [i for i, b in enumerate(c.boards) if b.state is BoardState.MINING and i not in self.shed]
            if not mining:
                break
            self.shed.append(mining[-1])
            c.try_command(lambda b=c.boards[mining[-1]], **kw: b.shutdown(emergency=True, **kw), at=t)
        while len(self.shed) > count:
            c.try_command(c.boards[self.shed.pop()].power_on, at=t)


class RideThrough:
    """A sag below the PSUs' lock-out for longer than their hold-up drops every board (a brown-out); the voltage
    back above it boots them again, ``restart_stagger_s`` apart.  The controller's own under-voltage protection
    trips the contactor below ``uv_trip_pu`` for ``uv_trip_delay_s``."""

    def __init__(self, controller: ContainerPort, start: float) -> None:
        self.controller = controller
        self.checked = start  # grid voltage changes up to here have been answered
        self.browned: list[int] = []  # boards whose PSU dropped out, to boot again

    def next_event(self, t: float) -> Deadline | None:
        changes = self.controller.grid.change_points(self.checked, t)
        return Deadline(changes[0][0], Action.VOLTAGE) if changes else None

    def on_voltage_change(self, t: float) -> None:
        c, p = self.controller, self.controller.params
        self.checked = t
        volts, _, on = c.grid.state_at(t)
        level = volts / c.nominal_v if on else 0.0
        c.drop_deadlines(Action.BROWNOUT, Action.UV_TRIP)
        if level < p.psu_uvlo_pu:
            c.add_deadline(t + p.psu_holdup_s, Action.BROWNOUT)
        if level < p.uv_trip_pu and c.contactor_closed:
            c.add_deadline(t + p.uv_trip_delay_s, Action.UV_TRIP)
        if level >= p.psu_uvlo_pu and self.browned and c.contactor_closed:
            for k, index in enumerate(self.browned):
                c.add_deadline(t + k * p.restart_stagger_s, Action.RESTART_BOARD, index)
            self.browned = []

    def brown_out(self, t: float) -> None:
        c = self.controller
        c.drop_deadlines(Action.BROWNOUT)
        for i, board in enumerate(c.boards):
            if board.state is not BoardState.OFF:
                self.browned.append(i)
                c.try_command(lambda b=board, **kw: b.shutdown(emergency=True, **kw), at=t)
