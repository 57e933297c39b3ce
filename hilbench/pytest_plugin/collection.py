"""Plan files collected as pytest items, one per check (``-k`` by id), failing without any ``assert``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hilbench.core.measurement import ERROR, FAIL, Measurement
from hilbench.plans.plan import Plan, PlanCheck, PlanError, load_plan
from hilbench.pytest_plugin.execution import run_check
from hilbench.pytest_plugin.runtime import RUNTIME_KEY


def _is_plan(file_path: Path, config: pytest.Config) -> bool:
    if file_path.suffix not in (".yaml", ".yml"):
        return False
    if file_path.parent.name == "test_plans":
        return True
    return any(Path(arg.split("::")[0]).resolve() == file_path.resolve() for arg in config.args)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if _is_plan(file_path, parent.config):
        return PlanFile.from_parent(parent, path=file_path)
    return None


class PlanFile(pytest.File):
    def collect(self):
        try:
            plan = load_plan(self.path)
        except PlanError as exc:
            raise self.CollectError(str(exc)) from None
        for item in plan.checks:
            yield CheckItem.from_parent(self, name=item.id, plan=plan, check=item)


class CheckFailed(AssertionError):  # a measurement outside its limits is a failure, not a crash
    def __init__(self, failed: list[Measurement], cause: str = "") -> None:
        super().__init__(cause or f"{len(failed)} measurement(s) outside limits")
        self.failed, self.cause = failed, cause


class CheckItem(pytest.Item):
    def __init__(self, *, plan: Plan, check: PlanCheck, **kwargs) -> None:
        super().__init__(**kwargs)
        self.plan, self.check = plan, check
        self.add_marker(pytest.mark.hil)
        # What pytest's own test functions carry and the lab's other plugins read in their hooks (labgrid's
        # pytest_runtest_setup reads item.fixturenames, pytest-embedded item.funcargs): a plan check requests no
        # fixtures, it uses the session's bench through the plugin.
        self.fixturenames: list[str] = []
        self.funcargs: dict = {}

    def runtest(self) -> None:
        runtime = self.config.stash[RUNTIME_KEY]
        runtime.start(self.plan.ci_time_scale)
        ctx = run_check(runtime, self.plan, self.check, self.user_properties)
        if runtime.interlocks is not None and runtime.interlocks.tripped is not None:
            self.session.shouldstop = runtime.interlocks.trip_message()
        problems = [m for m in ctx.measured if m.verdict in (FAIL, ERROR)]
        reason = getattr(ctx, "abort_reason", "")
        if problems or reason:  # an instrument error after every figure was taken still fails the check
            raise CheckFailed(problems, reason)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            lines = [
                f"check {self.check.id} ({self.check.type}) failed"
                + (f": {excinfo.value.cause}" if excinfo.value.cause else "")
            ]
            for m in excinfo.value.failed:
                value = "not measured" if m.value is None else f"{m.value:.4g} {m.unit}"
                lines.append(
                    f"  {m.name}: {value}  limit {m.limits.describe() if m.limits else '-'}  [{m.verdict}] {m.note}"
                )
            return "\n".join(lines)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.check.line, f"{self.plan.name}::{self.check.id} ({self.check.type})"


def pytest_collection_finish(session: pytest.Session) -> None:
    runtime = session.config.stash[RUNTIME_KEY]
    runtime.selected_checks = [item.check for item in session.items if isinstance(item, CheckItem)]
    runtime.progress.total = len(runtime.selected_checks)


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    """Under ``--hil-quiet-pytest`` no report has a progress letter ("." or "F"): `hilbench run` shows its own
    progress, and pytest's letters used to land in the middle of its lines.  The outcome still counts."""
    if not config.getoption("--hil-quiet-pytest"):
        return None
    if report.when == "call":
        return report.outcome, "", ""
    return ("error" if report.failed else "skipped" if report.skipped else ""), "", ""
