"""Fixtures for Python tests (none autouse): the bench, its session and strategy, the run record, a check, one per
role."""

from __future__ import annotations

import warnings

import pytest

from hilbench.bench.session import BenchSession
from hilbench.bench.strategy import BenchStrategy
from hilbench.core.measurement import ERROR, FAIL
from hilbench.core.roles import ROLE_PROTOCOLS
from hilbench.plans.checks import REGISTRY
from hilbench.plans.plan import Plan, PlanCheck
from hilbench.pytest_plugin.execution import run_check
from hilbench.pytest_plugin.runtime import RUNTIME_KEY, Runtime
from hilbench.report.record_writer import RecordWriter
from hilbench.spec.bench_file import Bench


@pytest.fixture(scope="session")
def hil_runtime(request) -> Runtime:
    runtime = request.config.stash[RUNTIME_KEY]
    runtime.start()
    return runtime


@pytest.fixture(scope="session")
def hil_bench(hil_runtime) -> Bench:
    return hil_runtime.bench


@pytest.fixture(scope="session")
def hil_session(hil_runtime) -> BenchSession:
    return hil_runtime.session


@pytest.fixture(scope="session")
def hil_run_record(hil_runtime) -> RecordWriter:
    """The run's record writer (measurements.jsonl); ``hil_recorder`` is the bench's waveform recorder role."""
    return hil_runtime.run_record


@pytest.fixture(scope="session")
def hil_record(hil_run_record) -> RecordWriter:
    """Former name of ``hil_run_record`` (too close to ``hil_recorder``); kept working, with a warning."""
    warnings.warn("hil_record is now hil_run_record", DeprecationWarning, stacklevel=2)
    return hil_run_record


def _role_fixture(role: str):
    @pytest.fixture
    def fixture(hil_session):
        return hil_session.driver(role)

    fixture.__name__ = f"hil_{role}"
    fixture.__doc__ = f"The bench's {role} driver (opened once per session)."
    return fixture


for _role in ROLE_PROTOCOLS:  # hil_grid, hil_analyser, ...: one fixture per role
    globals()[f"hil_{_role}"] = _role_fixture(_role)


@pytest.fixture(scope="session")
def hil_strategy(hil_runtime) -> BenchStrategy:
    """The bench strategy: prepare_running, wait_for, trend, safe_state."""
    return hil_runtime.strategy


@pytest.fixture
def hil_check(hil_runtime, request):
    """Run a check from Python: ``hil_check(type, limits={...}, params={...}, dut=Dut(...))``; fails the test
    when a measurement is outside its limits."""
    from hilbench.core.measurement import Limits
    from hilbench.plans.checks import Dut

    def run(kind: str, *, limits: dict, params: dict | None = None, dut: Dut | None = None, check_id: str = ""):
        spec = REGISTRY[kind]
        merged = {**spec.params, **(params or {})}
        parsed = {name: Limits.from_plan(value, f"{request.node.nodeid}: {name}") for name, value in limits.items()}
        dut = dut or Dut("DUT", 97.5, 30, 400.0, 50.0, 5.0, 100.0)
        plan = Plan(request.node.name, "", str(request.node.path), dut, [])
        item = PlanCheck(check_id or kind, kind, merged, parsed, request.node.nodeid, 0)
        ctx = run_check(hil_runtime, plan, item, request.node.user_properties)
        failed = [m for m in ctx.measured if m.verdict in (FAIL, ERROR)]
        if failed:
            pytest.fail(
                "\n".join(f"{m.name}: {m.value} {m.unit} [{m.verdict}] {m.note}" for m in failed), pytrace=False
            )
        return ctx

    return run


__all__ = [
    "hil_bench",
    "hil_check",
    "hil_record",
    "hil_run_record",
    "hil_runtime",
    "hil_session",
    "hil_strategy",
    *(f"hil_{role}" for role in ROLE_PROTOCOLS),
]
