"""Contract suite: the same tests run against the emulated bench (always) and a real bench
(when ``--bench`` names a non-emulated bench file; skipped otherwise, with the reason)."""

from __future__ import annotations

import pytest

from hilbench.bench import read_bench
from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from tests.conftest import ROOT

CONTRACT_TIME_SCALE = 10.0


@pytest.fixture(scope="session")
def hil_emulated_bench():
    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    emulated = EmulatedBench(bench, time_scale=CONTRACT_TIME_SCALE, address_base="127.0.40.2")
    resolved = emulated.start()
    yield emulated, resolved
    emulated.stop()


@pytest.fixture(scope="session", params=["emulated", "real"])
def hil_bench(request, hil_emulated_bench):
    if request.param == "emulated":
        return hil_emulated_bench[1]
    option = request.config.getoption("--bench")
    if not option:
        pytest.skip(
            "no real bench: pass --bench FILE with a non-emulated bench file to run the contract suite against hardware"
        )
    bench = read_bench(option)
    if bench.emulated:
        pytest.skip(f"--bench {option} is emulated; the emulated run already covers it")
    return bench


@pytest.fixture
def hil_driver(hil_bench):
    """Open the driver of a role on the bench under test; closed (in its safe state) afterwards."""
    opened = []

    def open_role(role: str):
        driver = open_driver(hil_bench.role(role))
        opened.append(driver)
        return driver

    yield open_role
    for driver in opened:
        try:
            driver.safe_state()
        finally:
            driver.close()


@pytest.fixture
def hil_plant(hil_bench, hil_emulated_bench):
    """The emulated plant, for assertions only the emulator can make (skipped on hardware)."""
    if not hil_bench.emulated:
        pytest.skip("plant internals exist only on the emulated bench")
    return hil_emulated_bench[0].plant
