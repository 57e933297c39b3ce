"""The emulated controller's deadlines are typed and every action has its handler: an action nobody handles is an
error at once, never a silently dropped branch."""

from __future__ import annotations

import pytest

from hilbench.emulation.board import BoardModel
from hilbench.emulation.board_profiles import S19J_PRO
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.controller import ControllerParams
from hilbench.emulation.deadlines import Action, Deadline
from hilbench.emulation.plant import Plant, PlantParams


def make_plant() -> tuple[Plant, ManualClock]:
    clock = ManualClock()
    boards = [BoardModel(S19J_PRO, clock, name=f"b{i}") for i in range(3)]
    return Plant(clock, boards, PlantParams(), ControllerParams()), clock


def test_every_action_has_a_handler():
    plant, _ = make_plant()
    assert set(plant.controller._handlers) == set(Action)


def test_an_action_without_a_handler_raises_instead_of_being_dropped():
    plant, clock = make_plant()
    controller = plant.controller
    del controller._handlers[Action.STOP_BOARD]
    controller.add_deadline(clock.now() + 1.0, Action.STOP_BOARD, 0)
    clock.advance(2.0)
    with pytest.raises(LookupError, match="no handler for deadline action"):
        controller.advance(clock.now())


def test_a_deadline_is_a_typed_record_and_ties_keep_their_order():
    early, tie_a, tie_b = Deadline(1.0, Action.TICK), Deadline(2.0, Action.DROOP), Deadline(2.0, Action.TICK)
    assert min([tie_b, tie_a, early]) is early and min([tie_b, tie_a]) is tie_a
    assert early.index == -1 and early.action is Action.TICK
    with pytest.raises(ValueError):
        Action("tick")  # a string is not an action: the old spelling cannot slip through
