"""Contract suite: behaviour every bench must show, with every expected figure read from the bench file
under test (board count, limits, nominal supply), so it passes on any bench.

The bench under test is ``--bench FILE`` (a real bench, or an emulated one, which is started here);
without it, the default emulated bench.  CI runs it against ``instruments/emulated.yaml`` (in the main
suite) and ``instruments/emulated-1200kw.yaml`` (a second run)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hilbench.drivers import open_driver
from hilbench.drivers.boards.pyasic_boards import expand_addresses
from hilbench.spec.bench_file import Bench, read_bench
from tests.conftest import ROOT, loopback_block

CONTRACT_TIME_SCALE = 10.0


@dataclass(frozen=True)
class Expected:
    """What the bench file under test says the bench should show."""

    bench: Bench
    nominal_v: float
    nominal_hz: float
    boards: int

    def limit(self, role: str, key: str) -> float | None:
        value = self.bench.role(role).limits.get(key)
        return None if value is None else float(value)


@pytest.fixture(scope="session")
def hil_bench(request):
    option = request.config.getoption("--bench")
    bench = read_bench(option or ROOT / "instruments" / "emulated.yaml")
    if not bench.emulated:
        yield bench
        return
    from hilbench.emulation.bench_runner import EmulatedBench

    emulated = EmulatedBench(bench, time_scale=CONTRACT_TIME_SCALE, address_base=loopback_block())
    request.config.stash[_EMULATED] = emulated
    yield emulated.start()
    emulated.stop()


_EMULATED = pytest.StashKey[object]()


@pytest.fixture(scope="session")
def hil_expected(hil_bench) -> Expected:
    grid = hil_bench.role("grid").settings
    return Expected(
        hil_bench,
        float(grid.get("nominal_voltage_v", 230.0)),
        float(grid.get("nominal_frequency_hz", 50.0)),
        len(expand_addresses(hil_bench.role("boards").address)) if "boards" in hil_bench.roles else 0,
    )


@pytest.fixture
def hil_driver(hil_bench):
    """Open the driver of a role on the bench under test; closed (in its safe state) afterwards."""
    opened = []

    def open_role(role: str):
        if role not in hil_bench.roles:
            pytest.skip(f"the bench under test has no {role!r} role")
        driver = open_driver(hil_bench.role(role))
        opened.append(driver)
        return driver

    yield open_role
    for driver in opened:
        try:
            driver.safe_state()
        finally:
            driver.close()
