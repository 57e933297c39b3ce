"""One check run on the session's bench, its outputs written through the sinks."""

from __future__ import annotations

import traceback

from hilbench.core.errors import HilbenchError
from hilbench.plans.checks import REGISTRY, CheckContext
from hilbench.plans.plan import Plan, PlanCheck
from hilbench.plans.stamp_watch import StampWatch
from hilbench.plans.timekeeping import CheckTimekeeping
from hilbench.pytest_plugin.progress import RunProgress
from hilbench.pytest_plugin.runtime import Runtime, injected_faults_hit, progress_sayer
from hilbench.pytest_plugin.sinks import CheckRun, default_sinks


def run_check(runtime: Runtime, plan: Plan, plan_check: PlanCheck, properties: list | None = None) -> CheckContext:
    """Run one check on the session's bench; always returns its context (measurements, attachments).  Its outputs
    (record, allure, JUnit properties, progress) are the sinks' business, told at the start and at the end."""
    import allure

    spec = REGISTRY[plan_check.type]
    timekeeping = CheckTimekeeping.open(runtime.emulated, plan_check.resolution_s or spec.resolution_s)
    progress = runtime.progress or RunProgress("none", print)
    ctx = CheckContext(
        plan_check.id,
        plan_check.type,
        runtime.session,
        plan.dut,
        runtime.run_record,
        dict(plan_check.limits),
        progress=progress_sayer(runtime.config),
        strategy=runtime.strategy,
        timekeeping=timekeeping,
        stamp_watch=StampWatch.for_check(runtime.session, spec, plan_check.resolution_s),
    )
    run = CheckRun(
        runtime, plan, plan_check, spec, ctx, len(getattr(runtime.emulated, "fault_log", [])), properties=properties
    )
    sinks = default_sinks(progress)
    for sink in sinks:
        sink.check_started(run)
    try:
        with allure.step(f"{plan_check.type} on {runtime.bench.name}"):
            spec.run(ctx, dict(plan_check.params))
        ctx.unmeasured("the check ended without measuring it")
    except (HilbenchError, OSError) as exc:  # the bench or its instruments said no: an ordinary error
        ctx.abort_reason = f"{type(exc).__name__}: {exc}{injected_faults_hit(runtime, run.faults_before)}"
        ctx.unmeasured(ctx.abort_reason)
        runtime.strategy.safe_state()
    except Exception as exc:  # a bug in hilbench or in the check: recorded with its traceback, re-raised
        trace = traceback.format_exc()
        runtime.run_record.event(
            "internal_error", check=plan_check.id, error=f"{type(exc).__name__}: {exc}", traceback=trace
        )
        ctx.unmeasured(f"INTERNAL ERROR (a hilbench bug, not a bench fault): {type(exc).__name__}: {exc}")
        ctx.attachments.append(("internal-error-traceback", trace, "text/plain"))
        runtime.strategy.safe_state()
        raise
    except BaseException as exc:  # Ctrl-C and friends: record, make safe, re-raise
        ctx.unmeasured(f"interrupted: {type(exc).__name__}")
        runtime.strategy.safe_state()
        raise
    finally:
        if timekeeping is not None:  # closed before the charts are drawn: drawing is not the emulator's lag
            run.lag = timekeeping.close()
        for failure in ctx.draw_charts():
            runtime.run_record.event("chart_failed", check=plan_check.id, error=failure)
        for sink in reversed(sinks):  # ended in reverse, as nested contexts: the progress line last
            sink.check_ended(run)
    return ctx
