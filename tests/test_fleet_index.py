"""The plant's grouped fleet gives the same site power, energy and state counts as the boards one by one.

The site is driven through the controller (setpoints, curtail, graceful and emergency stops, restarts) and
through single boards (an API curtail, a profile change, a failed board), at random plant times; after every
step the grouped figures are compared with the per-board ground truth (each board's own history and energy).
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from hilbench.emulation.board import BoardCommandError, BoardModel
from hilbench.emulation.board_profiles import board_profile
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.controller import ControllerParams, Mode
from hilbench.emulation.plant import Plant, PlantParams


def _site(count: int, *, booted: bool = True) -> tuple[ManualClock, Plant]:
    clock = ManualClock()
    profile = board_profile("s19j_pro")
    boards = [BoardModel(profile, clock, name=f"b{i}", powered=booted) for i in range(count)]
    return clock, Plant(clock, boards, PlantParams(), ControllerParams(stop_stagger_s=0.3, default_ramp_kw_s=40))


def _truth(plant: Plant, t: float) -> tuple[np.ndarray, float, Counter]:
    power = np.zeros(3)
    energy = 0.0
    for board, phase in zip(plant.boards, plant.phase_of_board, strict=True):
        board.advance(t)
        power[phase] += board.wall_power_at(np.array([t]))[0]
        energy += board.energy_j
    return power, energy, Counter(b.state for b in plant.boards)


def _compare(plant: Plant, t: float) -> None:
    plant.advance(t)
    grouped_power, grouped_energy = plant.fleet.phase_power_w(t), plant.fleet.energy_j(t)
    power, energy, states = _truth(plant, t)
    assert grouped_power == pytest.approx(power, rel=1e-9, abs=1e-6), f"t={t}"
    # both integrate PLL ramps by Simpson's rule, but over different sub-intervals (a board integrates between
    # the times it is read, a group between the times its membership changes): equal to 1e-4, not to the bit
    assert grouped_energy == pytest.approx(energy, rel=1e-4), f"t={t}"
    assert +plant.fleet.state_counts == states, f"t={t}"
    assert plant.controller.boards_online() == states[next(iter(s for s in states if s.value == "mining"), None)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouped_fleet_matches_the_boards_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    clock, plant = _site(24, booted=seed != 2)
    controller = plant.controller
    rated_kw = controller.rated_w / 1000
    for _ in range(120):
        clock.advance(rng.choice([0.05, 0.1, 0.37, 1.3, 4.0, 12.0]))
        t = clock.now()
        action = rng.random()
        if action < 0.35:
            controller.write_setpoint(round(rng.uniform(0, rated_kw), 1), at=t)
        elif action < 0.5:
            controller.write_mode(rng.choice([Mode.RUN, Mode.RUN, Mode.CURTAIL, Mode.GRACEFUL_STOP]), at=t)
        elif action < 0.55:
            controller.write_mode(Mode.EMERGENCY_STOP, at=t)
        elif action < 0.75:  # one board's own API, as pyasic would send it
            board = rng.choice(plant.boards)
            command = rng.choice([board.sleep, board.wakeup, lambda at, b=board: b.set_profile("-2", at=at)])
            try:
                command(at=t)
            except BoardCommandError:
                pass
        elif action < 0.77:
            rng.choice(plant.boards).die(at=t)
        _compare(plant, t)
    assert plant.fleet.group_count() < len(plant.boards)


def test_a_site_of_identical_boards_is_a_handful_of_groups() -> None:
    """1,300 boards curtailed to 40 % and settled: a few groups, however many boards (the cost of a poll)."""
    clock, plant = _site(1300)
    plant.controller.write_setpoint(0.4 * plant.controller.rated_w / 1000, at=clock.now())
    clock.advance(0.5)
    plant.controller.write_ramp(1e6, at=clock.now())
    clock.advance(30.0)
    _compare(plant, clock.now())
    assert plant.fleet.group_count() <= 9  # (mining at the share's profile, curtailed, idle) x 3 phases
