"""Whole emulated benches through the real drivers: coupling, the non-compliant container, the load
follower (`hilbench emulate` and `hilbench bench check` as processes: tests/system)."""

import pytest

from hilbench.bench.load_follower import LoadFollower
from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.emulation.board import BoardModel
from hilbench.emulation.board_profiles import S19J_PRO
from hilbench.spec.bench_file import read_bench
from tests.conftest import ROOT, loopback_block


def time_to_trip(bench_file: str, scale: float, base: str) -> float:
    with EmulatedBench(read_bench(ROOT / "instruments" / bench_file), time_scale=scale, address_base=base) as bench:
        controller, analyser = open_driver(bench.role("controller")), open_driver(bench.role("analyser"))
        try:
            analyser.setup()
            start = analyser.read()
            assert start.p_total > 90_000
            controller.set_mode("emergency_stop")
            commanded = analyser.read().time
            samples = analyser.trend(6.0)
            below = next(s for s in samples if s.p_total < 5_000)
            return below.time - commanded
        finally:
            controller.close()
            analyser.close()


def test_compliant_container_trips_fast_and_the_noncompliant_one_slowly():
    fast = time_to_trip("emulated.yaml", 10.0, loopback_block())
    slow = time_to_trip("emulated-noncompliant.yaml", 10.0, loopback_block())
    assert fast < 0.5  # 60 ms contactor + one analyser update + polling at 10x
    assert 2.5 < slow < 4.5  # 3 s contactor path


def test_load_follower_draws_the_absent_boards_power(loopback_base):
    bench_file = read_bench(ROOT / "instruments" / "emulated.yaml")
    with EmulatedBench(bench_file, time_scale=10.0, address_base=loopback_base) as bench:
        load = open_driver(bench.role("load"))
        from hilbench.emulation.clock import PlantClock

        absent = [BoardModel(S19J_PRO, PlantClock(10.0), name="absent")]
        with LoadFollower(load, absent, period_s=0.05) as follower:
            assert load.read().power_w == pytest.approx(3250, rel=0.01)
            absent[0].sleep()
            absent[0].clock.sleep(2.0)
            import time

            time.sleep(0.2)
            assert load.read().power_w == pytest.approx(S19J_PRO.standby_w, rel=0.05)
            assert follower.error is None
        assert load.transport.query("LOAD?") == "OFF"
        load.close()
