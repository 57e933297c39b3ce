"""``hilbench bench check FILE``: connect to every instrument of a bench, print its identity and calibration.

Exit status 0 only if every instrument answered and every calibration is valid.  An emulated
bench is started first (its instruments have no calibration to expire).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from hilbench.bench import Bench, load_bench, parse_bench
from hilbench.drivers import driver_class, open_driver
from hilbench.transports.errors import InstrumentError


def _check_roles(bench: Bench, emulated: bool) -> int:
    failures = 0
    print(f"bench {bench.name} ({bench.path}){' [emulated]' if emulated else ''}")
    for name, spec in bench.roles.items():
        try:
            driver = open_driver(spec)
            try:
                identity = driver.identify()
            finally:
                with contextlib.suppress(Exception):
                    driver.close()
            reachable = "ok"
        except (InstrumentError, OSError, LookupError, ValueError, ImportError) as exc:
            identity, reachable = str(exc), "UNREACHABLE"
            failures += 1
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
        try:
            unverified = getattr(driver_class(spec.driver), "unverified", ())
        except LookupError:
            unverified = ()
        for command in unverified:
            print(f"  {'':<10} UNVERIFIED (check on this instrument first): {command}")
    print("bench check", "passed" if failures == 0 else f"FAILED ({failures} problem(s))")
    return 0 if failures == 0 else 1


def check_bench(path: Path, *, time_scale: float = 10.0, address_base: str | None = None) -> int:
    bench = parse_bench(load_bench(path))
    if not bench.emulated:
        return _check_roles(bench, emulated=False)
    from hilbench.emulation.bench_runner import EmulatedBench

    with EmulatedBench(bench, time_scale=time_scale, address_base=address_base) as resolved:
        sys.stdout.flush()
        return _check_roles(resolved, emulated=True)
