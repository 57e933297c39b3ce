"""Where a check's outputs go: each sink is told when a check starts and when it ends (OpenHTF's output callbacks).

The run record, allure, JUnit properties and the progress display are one class each; a new output is one more
class in ``default_sinks``, and ``run_check`` does not change.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hilbench.report.records import plan_identity

if TYPE_CHECKING:
    from hilbench.plans.checks import CheckContext
    from hilbench.plans.checks.base import CheckType
    from hilbench.plans.plan import Plan, PlanCheck
    from hilbench.pytest_plugin.progress import RunProgress
    from hilbench.pytest_plugin.runtime import Runtime


@dataclass
class CheckRun:
    """One check's run as the sinks see it; ``ctx`` holds what it measured once it has ended."""

    runtime: Runtime
    plan: Plan
    check: PlanCheck
    spec: CheckType
    ctx: CheckContext
    faults_before: int = 0  # entries of the emulator's fault log before the check (those after are its own)
    properties: list | None = None  # the pytest item's user_properties (JUnit), when run as an item
    lag: dict | None = field(default=None)  # the emulator's timekeeping of this check, on an emulated bench

    @property
    def error(self) -> str:
        return getattr(self.ctx, "abort_reason", "")


class OutputSink(Protocol):
    def check_started(self, run: CheckRun) -> None: ...

    def check_ended(self, run: CheckRun) -> None: ...


class RecordSink:
    """The run's record stream: the plan once, ``check_start``, then lag, faults hit and ``check_end``."""

    def check_started(self, run: CheckRun) -> None:
        record, plan = run.runtime.run_record, run.plan
        if plan.path not in run.runtime.plans_recorded:  # once per plan: what a certificate states it was judged by
            run.runtime.plans_recorded.add(plan.path)
            record.event("plan", **plan_identity(plan))
        record.event(
            "check_start",
            plan=plan.name,
            check=run.check.id,
            type=run.check.type,
            params=run.check.params,
            declared={k: v.__dict__ for k, v in run.check.limits.items()},
            dut=dataclasses.asdict(plan.dut),  # what a replay needs to judge the stored captures again
        )

    def check_ended(self, run: CheckRun) -> None:
        record = run.runtime.run_record
        if run.lag is not None:
            record.event("emulation_lag", check=run.check.id, **run.lag)
        for hit in getattr(run.runtime.emulated, "fault_log", [])[run.faults_before :]:
            record.event("fault_hit", check=run.check.id, **hit)
        record.event(
            "check_end",
            check=run.check.id,
            verdicts={m.name: m.verdict for m in run.ctx.measured},
            error=run.error or None,  # the check did not end cleanly, whatever it measured
        )


class AllureSink:
    """Labels and parameters at the start; one step per measurement and the attachments (charts) at the end."""

    def check_started(self, run: CheckRun) -> None:
        import allure

        allure.dynamic.label("plan", run.plan.name)
        allure.dynamic.label("check_type", run.check.type)
        allure.dynamic.description(run.spec.doc)
        for key, value in run.check.params.items():
            allure.dynamic.parameter(key, json.dumps(value))

    def check_ended(self, run: CheckRun) -> None:
        import allure

        for m in run.ctx.measured:
            value = "not measured" if m.value is None else f"{m.value:.4g} {m.unit}"
            with allure.step(f"{m.name} = {value} [{m.verdict}]"):
                pass
        for name, content, mime in run.ctx.attachments:
            kind = allure.attachment_type.PNG if mime == "image/png" else allure.attachment_type.TEXT
            allure.attach(content, name=name, attachment_type=kind)


class JUnitPropertiesSink:
    """The JUnit properties of the item: plan, bench, DUT, instrument identities and calibration, measurements."""

    def check_started(self, run: CheckRun) -> None:
        pass

    def check_ended(self, run: CheckRun) -> None:
        if run.properties is None:
            return
        runtime, plan, bench = run.runtime, run.plan, run.runtime.bench
        properties = run.properties
        properties += [
            ("plan", plan.name),
            ("plan_file", plan.path),
            ("bench", bench.name),
            ("dut", plan.dut.name),
            ("dut_serials", ",".join(plan.dut.serials)),
        ]
        properties += [(f"instrument.{role}", identity) for role, identity in runtime.session.identities.items()]
        if runtime.overdue_accepted:
            properties.append(("calibration_overdue_accepted", "; ".join(runtime.overdue_accepted)))
        if runtime.unverified_accepted:
            properties.append(("unverified_accepted", "; ".join(runtime.unverified_accepted)))
        for role, spec in bench.roles.items():
            status = "emulated" if bench.emulated else (spec.calibration.status() if spec.calibration else "no record")
            properties.append((f"calibration.{role}", status))
        properties += [(f"measurement.{m.name}", f"{m.value} {m.unit} [{m.verdict}]") for m in run.ctx.measured]


class ProgressSink:
    """The run's progress display: the check's name as it starts, its verdicts as it ends."""

    def __init__(self, progress: RunProgress) -> None:
        self.progress = progress

    def check_started(self, run: CheckRun) -> None:
        self.progress.start_check(run.check.id, run.check.type)

    def check_ended(self, run: CheckRun) -> None:
        self.progress.end_check([m.verdict for m in run.ctx.measured] + (["error"] if run.error else []))


def default_sinks(progress: RunProgress) -> list[OutputSink]:
    return [ProgressSink(progress), RecordSink(), AllureSink(), JUnitPropertiesSink()]
