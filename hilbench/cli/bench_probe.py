"""``hilbench bench probe FILE [--role ROLE]``: the commissioning probe (hilbench.bench.probe), its evidence
written beside the bench file (``<stem>.probe.yaml``) for ``bench check`` and ``hilbench run`` to read.

Exit status 0 when every probed item was verified or skipped with its reason, 1 when an instrument refused one
(the evidence is written all the same: a refusal is what the probe is for), 2 when the bench or a role is wrong.
An emulated bench is started first; its evidence is marked emulated and never counts for a real instrument.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hilbench.bench.probe import ProbeRefused, probe_bench
from hilbench.spec.bench_file import BenchFileError, read_bench
from hilbench.spec.probe_file import REFUSED, probe_file_for, write_probe_file


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def add_parser(bench_sub) -> None:
    probe = bench_sub.add_parser(
        "probe",
        help="commissioning probe: try every UNVERIFIED command on the instruments (outputs off), keep the evidence",
    )
    probe.add_argument("file", type=Path)
    probe.add_argument("--role", action="append", default=None, help="probe only this role (repeatable)")
    probe.add_argument("--out", type=Path, default=None, help="the probe file (default: FILE's <stem>.probe.yaml)")
    probe.add_argument("--timeout", type=_positive, default=10.0, help="seconds an instrument may take per reply")
    probe.add_argument("--time-scale", type=_positive, default=10.0, help="for emulated benches")
    probe.add_argument("--address-base", default=None, help="for emulated benches: first LuxOS board address")
    probe.set_defaults(func=cmd_bench_probe)


def cmd_bench_probe(args: argparse.Namespace) -> int:
    try:
        bench = read_bench(args.file)
        unknown = [role for role in args.role or () if role not in bench.roles]
        if unknown:
            raise BenchFileError(f"{args.file}: no role {', '.join(unknown)}; roles: {', '.join(bench.roles)}")
    except BenchFileError as exc:
        print(f"hilbench: {exc}")
        return 2
    out = args.out or probe_file_for(args.file)
    print(f"probing {bench.name} ({args.file}){' [emulated]' if bench.emulated else ''}: safe state, outputs off")
    try:
        if bench.emulated:
            from hilbench.emulation.bench_runner import EmulatedBench

            with EmulatedBench(bench, time_scale=args.time_scale, address_base=args.address_base) as resolved:
                sys.stdout.flush()
                evidence = probe_bench(resolved, roles=args.role, timeout_s=args.timeout)
            evidence.bench_file = str(args.file)
        else:
            evidence = probe_bench(bench, roles=args.role, timeout_s=args.timeout)
    except ProbeRefused as exc:
        print(f"hilbench: {exc}")
        return 1
    write_probe_file(evidence, out)
    refused = [
        f"{role}:{feature}" for role, found in evidence.roles.items() for feature, item in found.features.items()
        if item.status == REFUSED
    ]  # fmt: skip
    print(f"probe evidence written to {out}")
    if refused:
        print(f"refused by the instruments: {', '.join(refused)}")
        return 1
    return 0
