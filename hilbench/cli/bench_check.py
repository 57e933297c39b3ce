"""``hilbench bench check FILE``: connect to every instrument of a bench, print its identity and calibration.

Exit status 0 only if every instrument answered and every calibration is valid.  An emulated
bench is started first (its instruments have no calibration to expire).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from hilbench.core.unverified import unavailable_methods, unverified_items
from hilbench.drivers import driver_class, open_driver
from hilbench.plans.reliance import item_state
from hilbench.spec.bench_file import Bench, load_bench, parse_bench
from hilbench.spec.probe_file import ProbeFileError, find_probe_evidence
from hilbench.spec.role_spec import RoleSpec, with_timeout_cap
from hilbench.transports.errors import InstrumentError

#: how long one role may take to answer its identity query in a bench check (connect, query, close)
DEFAULT_PROBE_TIMEOUT_S = 8.0


@dataclass
class _Probe:
    """One role's answer to the bench check, filled in by its own thread."""

    identity: str = ""
    reachable: str = "UNREACHABLE"
    done: threading.Event = field(default_factory=threading.Event)


def _probe(spec: RoleSpec, timeout_s: float, probe: _Probe) -> None:
    try:
        driver = open_driver(with_timeout_cap(spec, timeout_s))
        try:
            probe.identity = driver.identify()
        finally:
            with contextlib.suppress(Exception):
                driver.close()
        probe.reachable = "ok"
    except (InstrumentError, OSError, LookupError, ValueError, ImportError) as exc:
        probe.identity = str(exc)
    except Exception as exc:  # a driver's own bug still gets its line, not a traceback over the others
        probe.identity = f"{type(exc).__name__}: {exc}"
    finally:
        probe.done.set()


def _probe_all(bench: Bench, timeout_s: float) -> dict[str, _Probe]:
    """Every role asked at once, each in a daemon thread with one deadline for all: a bench whose instruments are
    switched off takes one timeout, not one per role, and a hung connection cannot keep the command alive."""
    probes = {name: _Probe() for name in bench.roles}
    for name, spec in bench.roles.items():
        threading.Thread(target=_probe, args=(spec, timeout_s, probes[name]), name=f"probe-{name}", daemon=True).start()
    deadline = time.monotonic() + timeout_s + 1.0  # the transport's own timeout first; this one for what has none
    for name, probe in list(probes.items()):
        if not probe.done.wait(max(0.0, deadline - time.monotonic())):
            late = probes[name] = _Probe()  # the thread may still answer: its words no longer count
            late.identity = f"{name} at {bench.roles[name].address}: no answer within {timeout_s:g} s"
    return probes


def _commissioning_lines(bench: Bench, role: str, evidence, identity: str | None) -> list[str]:
    """What the probe's evidence says of each command the role's driver marks unverified or refuses."""
    try:
        cls = driver_class(bench.roles[role].driver)
    except LookupError:
        return []
    lines = [f"REFUSED BY THE DRIVER: {method}: {reason}" for method, reason in unavailable_methods(cls).items()]
    probed = evidence.roles.get(role) if evidence is not None and not evidence.emulated else None
    changed = probed is not None and identity is not None and identity.strip() != probed.identity.strip()
    for item in unverified_items(cls):
        verified, state = item_state(role, item.feature, bench, evidence)
        if verified and changed:
            verified, state = False, f"probed on {probed.identity!r}, this instrument says {identity!r}: probe again"
        if verified:
            lines.append(f"{state}: {item.feature} ({item.commands})")
        elif state.startswith("refused"):
            lines.append(f"REFUSED: {item.feature} ({item.commands}): {state}")
        else:
            hint = f"; hilbench bench probe {bench.path} --role {role}" if "never probed" in state else ""
            lines.append(f"UNVERIFIED: {item.feature} ({item.commands}): {state}{hint}")
    return lines


def _check_roles(bench: Bench, emulated: bool, timeout_s: float = DEFAULT_PROBE_TIMEOUT_S) -> int:
    failures = 0
    print(f"bench {bench.name} ({bench.path}){' [emulated]' if emulated else ''}", flush=True)
    try:
        evidence = find_probe_evidence(bench.path)
    except ProbeFileError as exc:
        print(f"  {exc}")
        evidence, failures = None, failures + 1
    probes = _probe_all(bench, timeout_s)
    for name, spec in bench.roles.items():
        identity, reachable = probes[name].identity, probes[name].reachable
        if reachable != "ok":
            failures += 1
            if spec.address not in identity:
                identity = f"{spec.address}: {identity}"
            identity += f" (timeout {timeout_s:g} s)"
        if emulated:
            calibration = "n/a (emulated)"
        elif spec.calibration is None:
            calibration = "no calibration record"
            if spec.role not in ("boards", "hashboard", "controller"):
                failures += 1
        else:
            calibration = (
                f"{spec.calibration.status()} (serial {spec.calibration.serial}, "
                f"certificate {spec.calibration.certificate})"
            )
            if not spec.calibration.valid():
                failures += 1
        print(f"  {name:<10} {spec.driver:<22} {spec.address:<42} {reachable:<11} {calibration}")
        print(f"  {'':<10} identity: {identity}")
        for line in _commissioning_lines(bench, name, evidence, identity if reachable == "ok" else None):
            print(f"  {'':<10} {line}")
    print("bench check", "passed" if failures == 0 else f"FAILED ({failures} problem(s))")
    return 0 if failures == 0 else 1


def check_bench(
    path: Path, *, time_scale: float = 10.0, address_base: str | None = None, timeout_s: float | None = None
) -> int:
    timeout_s = DEFAULT_PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    bench = parse_bench(load_bench(path))
    if not bench.emulated:
        return _check_roles(bench, emulated=False, timeout_s=timeout_s)
    from hilbench.emulation.bench_runner import EmulatedBench

    with EmulatedBench(bench, time_scale=time_scale, address_base=address_base) as resolved:
        sys.stdout.flush()
        return _check_roles(resolved, emulated=True, timeout_s=timeout_s)
