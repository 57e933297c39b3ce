"""Check procedures run in this process on an emulated bench (its own loopback block), as the plugin runs them:
a context with the session's drivers, the DUT and the run record; each figure judged against its limits.  Whole
plans through `hilbench run` are in tests/system."""

from __future__ import annotations

import pytest

from hilbench.bench.session import BenchSession
from hilbench.core.measurement import Limits
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.plans.checks import REGISTRY, CheckContext, Dut
from hilbench.report.record_writer import RecordWriter
from hilbench.spec.bench_file import read_bench
from tests.conftest import ROOT

DUT = Dut("MW2MH", 97.5, 30, 400.0, 50.0, 5.0, 100.0)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    from tests.conftest import loopback_block

    with EmulatedBench(read_bench(ROOT / "instruments" / "emulated.yaml"), time_scale=20.0,
                       address_base=loopback_block()) as resolved:  # fmt: skip
        session = BenchSession(resolved)
        yield session, RecordWriter(tmp_path_factory.mktemp("run"))
        session.close()


def run(bench, kind: str, params: dict, limits: dict) -> dict:
    session, writer = bench
    ctx = CheckContext(
        kind, kind, session, DUT, writer, {k: Limits(**v) for k, v in limits.items()}, progress=lambda _: None
    )
    REGISTRY[kind].run(ctx, {**REGISTRY[kind].params, **params})
    return {m.name: m for m in ctx.measured}


def test_an_emergency_stop_is_timed_from_the_analysers_updates(bench):
    figures = run(bench, "shutdown", {"mode": "emergency"}, {"emergency_time_s": {"high": 2.0}})
    stop = figures["emergency_time_s"]
    assert stop.verdict == "pass" and 0.0 < stop.value < 1.0, stop  # 60 ms contactor + 50 ms updates (~0.1 s)


def test_a_setpoint_step_is_followed_within_its_limits(bench):
    figures = run(
        bench, "step_response", {"from_percent": 100, "to_percent": 60, "observe_s": 12, "ramp_kw_s": 20},
        {"latency_s": {"high": 3.0}, "settling_time_s": {"high": 10.0}},
    )  # fmt: skip
    assert figures["latency_s"].verdict == "pass" and figures["settling_time_s"].verdict == "pass", figures
    assert figures["overshoot_percent"].verdict == "info"  # no limit declared: information, never a pass


def test_an_under_frequency_event_trips_the_container(bench):
    figures = run(
        bench, "frequency_event",
        {"event_hz": 49.5, "duration_s": 3, "threshold_hz": 49.75, "delay_s": 0.1, "action": "trip",
         "reduction_percent": 90},
        {"response_time_s": {"high": 1.0}},
    )  # fmt: skip
    response = figures["response_time_s"]
    assert response.verdict == "pass" and 0.1 < response.value < 1.0, response
