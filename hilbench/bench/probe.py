"""The commissioning probe: every command a driver marks unverified, tried on the instrument itself.

The bench first goes to its safe state and the grid source's and load's outputs are switched off; nothing the
probe sends can energise anything: queries, a setting written back at the value the instrument reports, or a
driver's own measurement of a measuring instrument (the analyser's store, the scope's acquisition).  After each
step the instrument's own error mechanism is read (the transport's ``errors``: ``SYST:ERR?``, or ``*ESR?`` and the
event queue), so a command it does not know shows up as refused, with its words.  Each role is time-boxed by its
transport timeout; a role that cannot be reached is reported and the others are still probed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from hilbench.bench.session import BenchSession
from hilbench.bench.strategy import BenchStrategy
from hilbench.core.errors import HilbenchError
from hilbench.core.unverified import ProbeCall, Query, SetAtCurrent, Unverified, unverified_items
from hilbench.drivers import driver_class
from hilbench.spec.bench_file import Bench
from hilbench.spec.probe_file import (
    REFUSED,
    SKIPPED,
    VERIFIED,
    FeatureEvidence,
    ProbeEvidence,
    ProbeStepEvidence,
    RoleEvidence,
    now_iso,
)
from hilbench.transports.errors import InstrumentError


class ProbeRefused(HilbenchError):
    """The probe would not start: the bench could not be confirmed safe first."""


def _bounded(bench: Bench, timeout_s: float) -> Bench:
    """The bench with every transport timeout capped at the probe's: a scope's 60 s is for long records, and a
    command the instrument does not know must cost seconds, not minutes."""
    roles = {
        name: replace(
            spec, settings={**spec.settings, "timeout_s": min(float(spec.settings.get("timeout_s", 60)), timeout_s)}
        )
        for name, spec in bench.roles.items()
    }
    return replace(bench, roles=roles)


def _error_after(driver, context: str) -> str:
    """The instrument's own report on what was just sent: '' when it reports nothing."""
    transport = getattr(driver, "transport", None)
    errors = getattr(transport, "errors", None)
    if errors is None:
        return ""
    try:
        errors.check(transport, context)
    except InstrumentError as exc:
        return str(exc)
    return ""


def _run_step(driver, step) -> ProbeStepEvidence:
    started = time.monotonic()
    evidence = ProbeStepEvidence(command="")
    try:
        if isinstance(step, Query):
            evidence.command = step.command
            evidence.reply = driver.transport.query(step.command)
        elif isinstance(step, SetAtCurrent):
            current = driver.transport.query(step.query)
            evidence.command = f"{step.setting} {current}"
            evidence.reply = f"{step.query} -> {current}"
            driver.transport.write(evidence.command)
        elif isinstance(step, ProbeCall):
            evidence.command = f"{type(driver).__name__}.{step.method}()"
            result = getattr(driver, step.method)()
            evidence.reply = (
                "; ".join(f"{k}={v}" for k, v in result.items()) if isinstance(result, dict) else str(result)
            )
    except (HilbenchError, OSError, ValueError) as exc:
        evidence.error = f"{type(exc).__name__}: {exc}"
    if not evidence.error:
        evidence.error = _error_after(driver, evidence.command)
    evidence.seconds = round(time.monotonic() - started, 4)
    return evidence


def probe_feature(driver, item: Unverified) -> FeatureEvidence:
    if item.skip:
        return FeatureEvidence(SKIPPED, item.commands, reason=item.skip)
    errors = getattr(getattr(driver, "transport", None), "errors", None)
    if errors is not None:  # what earlier commands left in the queue is not this feature's
        with contextlib.suppress(HilbenchError, OSError):
            errors.drain(driver.transport)
    steps = []
    for step in item.probe:
        steps.append(_run_step(driver, step))
        if steps[-1].error:
            return FeatureEvidence(REFUSED, item.commands, steps, reason=steps[-1].error)
    return FeatureEvidence(VERIFIED, item.commands, steps)


def probe_bench(
    bench: Bench,
    *,
    roles: list[str] | None = None,
    timeout_s: float = 10.0,
    progress: Callable[[str], None] = print,
) -> ProbeEvidence:
    """Safe state first (refused to go on when a role is not read back safe), then each role's unverified items."""
    wanted = roles or list(bench.roles)
    session = BenchSession(_bounded(bench, timeout_s))
    evidence = ProbeEvidence(bench.path, bench.emulated, now_iso())
    try:
        strategy = BenchStrategy(session, progress=progress)
        unreachable: dict[str, str] = {}
        for role in bench.roles:  # the whole bench safe, not only the roles probed
            try:
                session.driver(role)
            except (HilbenchError, OSError) as exc:
                unreachable[role] = str(exc)
        records = strategy.safe_state(timeout_s)  # the container curtailed before its supply goes
        evidence.safe_state = [record.describe() for record in records]
        unsafe = [record.describe() for record in records if record.confirmed is False]
        if unsafe:
            raise ProbeRefused(
                f"{bench.path}: the bench is not confirmed safe, nothing was probed: {'; '.join(unsafe)}"
            )
        for role in ("grid", "load"):  # outputs off for the probe
            if role in session.opened():
                session.opened()[role].output(False)
                evidence.safe_state.append(f"{role}: output switched off for the probe")
        for role in wanted:
            spec = bench.roles[role]
            items = unverified_items(driver_class(spec.driver))
            driver = session.opened().get(role)
            if driver is None:
                progress(f"  {role}: not probed: {unreachable.get(role, 'not opened')}")
                continue
            found = RoleEvidence(spec.driver, spec.address, session.identities.get(role, ""), now_iso())
            progress(f"  {role} ({spec.driver}, {found.identity}): {len(items)} unverified item(s)")
            for item in items:
                found.features[item.feature] = probe_feature(driver, item)
                result = found.features[item.feature]
                progress(f"    {item.feature}: {result.status}" + (f" ({result.reason})" if result.reason else ""))
            evidence.roles[role] = found
    finally:
        session.close()
    return evidence
