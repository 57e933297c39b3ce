"""A board put to sleep through its own API stays asleep: the emulated container's controller counts it as held by
its operator, reports it (input register 13) and does not dispatch it, until it is woken through its API or the
controller is given a mode.  Driven as a user would: unmodified pyasic on the board, the controller through the
bench's Modbus driver."""

from __future__ import annotations

import asyncio
import time

import pyasic
import pytest

from hilbench.core.roles import ControllerMode
from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.spec.bench_file import read_bench
from tests.conftest import ROOT

SCALE = 20.0  # plant seconds per wall second


@pytest.fixture
def container(loopback_base):
    with EmulatedBench(read_bench(ROOT / "instruments" / "emulated.yaml"), time_scale=SCALE,
                       address_base=loopback_base) as bench:  # fmt: skip
        controller = open_driver(bench.roles["controller"])
        yield bench, controller
        controller.close()


def wait_plant(seconds: float) -> None:
    time.sleep(seconds / SCALE)


def test_a_board_stopped_through_its_api_stays_asleep(container, loopback_base):
    _, controller = container
    miner = asyncio.run(pyasic.get_miner(loopback_base))
    assert asyncio.run(miner.get_data()).wattage > 3000  # mining at full power, as the container dispatched it
    assert asyncio.run(miner.stop_mining()) is True
    wait_plant(5.0)
    assert asyncio.run(miner.get_data()).wattage < 50  # asleep after 5 s (curtail latency 1 s): standby only
    status = controller.read()
    assert status.boards_held == 1 and status.boards_online == status.boards_total - 1
    wait_plant(30.0)  # the controller re-dispatches on every fleet change: it must leave this board alone
    assert asyncio.run(miner.get_data()).wattage < 50
    assert controller.read().boards_held == 1

    assert asyncio.run(miner.resume_mining()) is True  # woken through its own API
    wait_plant(15.0)
    assert asyncio.run(miner.get_data()).wattage > 3000
    assert controller.read().boards_held == 0


def test_a_mode_written_to_the_controller_overrides_the_hold(container, loopback_base):
    _, controller = container
    miner = asyncio.run(pyasic.get_miner(loopback_base))
    assert asyncio.run(miner.stop_mining()) is True
    wait_plant(5.0)
    assert controller.read().boards_held == 1
    controller.set_mode(ControllerMode.RUN)  # an explicit command for the whole container
    wait_plant(15.0)
    assert controller.read().boards_held == 0
    assert asyncio.run(miner.get_data()).wattage > 3000
