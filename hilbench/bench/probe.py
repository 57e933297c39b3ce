"""The commissioning probe: every command a driver marks unverified, tried on the instrument itself.

The bench first goes to its safe state and the grid source's and load's outputs are switched off; nothing the
probe sends can energise anything: queries, a setting written back at the value the instrument reports, or a
driver's own measurement of a measuring instrument (the analyser's store, the scope's acquisition).  After each
step the instrument's own error mechanism is read (the transport's ``errors``: ``SYST:ERR?``, or ``*ESR?`` and the
event queue), so a command it does not know shows up as refused, with its words.  Every reply is bounded by the
probe's timeout.  A measuring role that cannot be reached is reported and the others are still probed; a role that
can energise (grid, load, controller, boards, hash board) must be reached and read back safe, or nothing is probed.
A role whose error query is itself refused has its other items skipped: nothing it says can be judged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from hilbench.bench.interlocks import ENERGISING
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
from hilbench.spec.role_spec import with_timeout_cap
from hilbench.transports.errors import InstrumentError


class ProbeRefused(HilbenchError):
    """The probe would not start: the bench could not be confirmed safe first."""


def _bounded(bench: Bench, timeout_s: float) -> Bench:
    """The bench with every transport timeout capped at the probe's: a command the instrument does not know must
    cost seconds, not minutes."""
    return replace(bench, roles={name: with_timeout_cap(spec, timeout_s) for name, spec in bench.roles.items()})


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


def _step_command(driver, step) -> str:
    if isinstance(step, Query):
        return step.command
    if isinstance(step, SetAtCurrent):
        return f"{step.query} then {step.setting} <its reply>"
    return f"{type(driver).__name__}.{step.method}()"


def _run_step(driver, step) -> ProbeStepEvidence:
    started = time.monotonic()
    evidence = ProbeStepEvidence(command=_step_command(driver, step))
    try:
        if isinstance(step, Query):
            evidence.reply = driver.transport.query(step.command)
        elif isinstance(step, SetAtCurrent):
            current = driver.transport.query(step.query)
            evidence.command = f"{step.setting} {current}"
            evidence.reply = f"{step.query} -> {current}"
            driver.transport.write(evidence.command)
        elif isinstance(step, ProbeCall):
            result = getattr(driver, step.method)()
            evidence.reply = (
                "; ".join(f"{k}={v}" for k, v in result.items()) if isinstance(result, dict) else str(result)
            )
    except Exception as exc:  # the instrument's refusal, or a driver's own fault: evidence either way, not a crash
        evidence.error = f"{type(exc).__name__}: {exc}"
    if not evidence.error:
        evidence.error = _error_after(driver, evidence.command)
    evidence.seconds = round(time.monotonic() - started, 4)
    return evidence


def probe_feature(driver, item: Unverified) -> FeatureEvidence:
    if item.skip:
        return FeatureEvidence(SKIPPED, item.commands, reason=item.skip)
    errors = getattr(getattr(driver, "transport", None), "errors", None)
    if errors is not None and item.feature != "error_query":  # what earlier commands left is not this feature's
        with contextlib.suppress(HilbenchError, OSError):
            errors.drain(driver.transport)
    steps = []
    for step in item.probe:
        steps.append(_run_step(driver, step))
        if steps[-1].error:
            return FeatureEvidence(REFUSED, item.commands, steps, reason=steps[-1].error)
    return FeatureEvidence(VERIFIED, item.commands, steps)


def _switch_off(bench: Bench, role: str, driver) -> None:
    """Output off; a source or load that refuses (or cannot be told) stops the probe with its name and address."""
    try:
        driver.output(False)
    except Exception as exc:
        raise ProbeRefused(
            f"{bench.path}: {role} at {bench.roles[role].address}: switching its output off failed "
            f"({type(exc).__name__}: {exc}); nothing was probed"
        ) from None


def _probe_role(role: str, spec, driver, identity: str, progress: Callable[[str], None]) -> RoleEvidence:
    """Every unverified item of one role, its error query first: if the instrument refuses that, nothing else it
    reports can be judged, so its other items are skipped with that reason."""
    items = sorted(unverified_items(driver_class(spec.driver)), key=lambda item: item.feature != "error_query")
    found = RoleEvidence(spec.driver, spec.address, identity, now_iso())
    progress(f"  {role} ({spec.driver}, {identity}): {len(items)} unverified item(s)")
    mute = ""
    for item in items:
        if mute:
            result = FeatureEvidence(SKIPPED, item.commands, reason=mute)
        else:
            result = probe_feature(driver, item)
            if item.feature == "error_query" and result.status == REFUSED:
                mute = f"the error query was refused ({result.reason}): nothing this role reports can be judged"
        found.features[item.feature] = result
        progress(f"    {item.feature}: {result.status}" + (f" ({result.reason})" if result.reason else ""))
    return found


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
            except Exception as exc:  # reported below; an energising role unreached refuses the probe
                unreachable[role] = f"{type(exc).__name__}: {exc}"
        cut_off = [f"{role}: {why}" for role, why in unreachable.items() if role in ENERGISING]
        if cut_off:
            raise ProbeRefused(f"{bench.path}: nothing was probed; not reached, so not made safe: {'; '.join(cut_off)}")
        records = strategy.safe_state(timeout_s)  # the container curtailed before its supply goes
        evidence.safe_state = [record.describe() for record in records]
        unsafe = [record.describe() for record in records if record.confirmed is False]
        if unsafe:
            raise ProbeRefused(
                f"{bench.path}: the bench is not confirmed safe, nothing was probed: {'; '.join(unsafe)}"
            )
        for role in ("grid", "load"):  # outputs off for the probe
            if role in session.opened():
                _switch_off(bench, role, session.opened()[role])
                evidence.safe_state.append(f"{role}: output switched off for the probe")
        for role in wanted:
            spec = bench.roles[role]
            driver = session.opened().get(role)
            if driver is None:
                progress(f"  {role}: not probed: {unreachable.get(role, 'not opened')}")
                continue
            evidence.roles[role] = _probe_role(role, spec, driver, session.identities.get(role, ""), progress)
    finally:
        session.close()
    return evidence
