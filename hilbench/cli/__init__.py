"""The ``hilbench`` command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

import yaml

from hilbench.spec.bench_file import DEFAULT_BENCH, BenchFileError, load_bench, parse_bench
from hilbench.spec.fault_spec import KINDS as FAULT_KINDS
from hilbench.spec.fault_spec import FaultSpecError, parse_fault
from hilbench.spec.interlock_spec import interlocks_as_data


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _site_from_args(args: argparse.Namespace):
    """The emulated boards of the bench file (imported here: only ``emulate`` and ``demo`` need the emulator)."""
    from hilbench.emulation.site import EmulatedSite
    from hilbench.emulation.site_config import emulated_site_config

    config = emulated_site_config(load_bench(args.bench), boards=args.boards)
    return EmulatedSite(config, time_scale=args.time_scale)


class _StopSignals:
    """SIGINT/SIGTERM set an event instead of killing the process; installed before anything is announced,
    so a signal sent right after the ready line still ends in a clean stop."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous = {}

    def __enter__(self) -> _StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, lambda *_: self.event.set())
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _fault(text: str):
    try:
        return parse_fault(text)
    except FaultSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_emulate(args: argparse.Namespace) -> int:
    from hilbench.emulation.bench_runner import EmulatedBench

    if args.workers > 1 or args.export_pool:
        from hilbench.cli.emulate_workers import run_workers

        if args.export_bench:
            raise BenchFileError("--export-bench is one process's bench: with --workers, use --export-pool POOL.yaml")
        with _StopSignals() as stop:
            return run_workers(args, stop.event)
    bench = parse_bench(load_bench(args.bench), force_emulated=True)
    with _StopSignals() as stop:
        emulated = EmulatedBench(
            bench,
            time_scale=args.time_scale,
            boards=args.boards,
            address_base=args.address_base,
            faults=tuple(args.inject_fault or ()),
        )
        try:
            resolved = emulated.start()
            if args.export_bench:
                _export_bench(resolved, args.export_bench, args.time_scale)
            for endpoint in emulated.endpoints:
                print(json.dumps(endpoint.as_dict()), flush=True)
            print(json.dumps({"ready": True}), flush=True)
            stop.event.wait(args.duration)
        finally:
            emulated.stop()
    return 0


def _export_bench(bench, path: Path, time_scale: float) -> None:
    """A bench file whose roles point at the running emulators: a run against it is a run against an external
    bench that outlives the runner (and several terminals can share it).  The controller's comm-loss watchdog is
    armed by such a run; its heartbeat period is given in wall seconds for this time scale."""
    roles = {}
    for name, spec in bench.roles.items():
        settings = dict(spec.settings)
        if name == "controller":
            watchdog_s = float(bench.plant.get("controller", {}).get("watchdog_s", 10.0))
            settings.update(watchdog_s=watchdog_s, heartbeat_period_s=round(watchdog_s / time_scale / 4, 4))
        roles[name] = {"driver": spec.driver, "address": spec.address, "limits": spec.limits, "settings": settings}
    data = {
        "bench": f"{bench.name}-exported",
        "description": f"the emulated bench {bench.name} served by `hilbench emulate` at time scale {time_scale:g}",
        "emulated": False,
        "roles": roles,
    }
    if bench.interlocks is not None:
        data["interlocks"] = interlocks_as_data(bench.interlocks)
    header = "# Written by `hilbench emulate --export-bench`: valid while that emulator runs.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def cmd_bench_check(args: argparse.Namespace) -> int:
    from hilbench.cli.bench_check import check_bench

    return check_bench(args.file, time_scale=args.time_scale, address_base=args.address_base, timeout_s=args.timeout)


def cmd_demo(args: argparse.Namespace) -> int:
    from hilbench.cli.demo import run_demo

    return run_demo(_site_from_args(args), duration=args.duration)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hilbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_site_options(p: argparse.ArgumentParser, scale: float) -> None:
        p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench file (default: %(default)s)")
        p.add_argument("--boards", type=int, default=None, help="override the number of LuxOS boards")
        p.add_argument(
            "--time-scale", type=_positive, default=scale, help="plant seconds per wall second (default: %(default)s)"
        )

    emulate = sub.add_parser("emulate", help="serve the emulated boards until SIGINT/SIGTERM")
    add_site_options(emulate, 1.0)
    emulate.add_argument("--duration", type=_positive, default=None, help="stop after this many wall seconds")
    emulate.add_argument(
        "--address-base", default=None, help="first loopback address of the LuxOS boards (default: the bench file's)"
    )
    emulate.add_argument(
        "--export-bench",
        type=Path,
        default=None,
        metavar="OUT.yaml",
        help="write a bench file pointing at these emulators, for runs that must outlive their runner",
    )
    emulate.add_argument(
        "--workers",
        type=_at_least_one,
        default=1,
        metavar="K",
        help="spread the boards over K emulator processes, each its own container on its own /16 of loopback",
    )
    emulate.add_argument(
        "--export-pool",
        type=Path,
        default=None,
        metavar="POOL.yaml",
        help="with --workers: write each container's bench file and a bench pool for hilbench run -n K --bench-pool",
    )
    emulate.add_argument(
        "--inject-fault",
        action="append",
        type=_fault,
        metavar="ROLE:KIND[@SECONDS]",
        help="inject a fault (kinds: " + ", ".join(sorted({k for kinds in FAULT_KINDS.values() for k in kinds})) + ")",
    )
    emulate.set_defaults(func=cmd_emulate)

    demo = sub.add_parser("demo", help="short bounded demo: start the emulated container, drive and read it")
    add_site_options(demo, 20.0)
    demo.add_argument("--duration", type=_positive, default=15.0, help="wall seconds (default: %(default)s)")
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="bench files: check, probe")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    check = bench_sub.add_parser("check", help="connect to every instrument, print identity and calibration")
    check.add_argument("file", type=Path)
    check.add_argument("--time-scale", type=_positive, default=10.0, help="for emulated benches")
    check.add_argument("--address-base", default=None, help="for emulated benches: first LuxOS board address")
    check.add_argument(
        "--timeout",
        type=_positive,
        default=None,
        help="seconds each instrument may take to answer; all are asked at once (default: 8)",
    )
    check.set_defaults(func=cmd_bench_check)
    from hilbench.cli.bench_probe import add_parser as add_bench_probe

    add_bench_probe(bench_sub)

    from hilbench.cli.analyse import add_parser as add_analyse
    from hilbench.cli.compare import add_parser as add_compare
    from hilbench.cli.db import add_parser as add_db
    from hilbench.cli.fit import add_parser as add_fit
    from hilbench.cli.replay import add_parser as add_replay
    from hilbench.cli.report import add_parser as add_report
    from hilbench.cli.run import add_parser as add_run
    from hilbench.cli.serve import add_parser as add_serve
    from hilbench.cli.validate_model import add_parser as add_validate_model

    add_analyse(sub)
    add_run(sub)
    add_replay(sub)
    add_report(sub)
    add_compare(sub)
    add_fit(sub)
    add_validate_model(sub)
    add_db(sub)
    add_serve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (BenchFileError, ValueError) as exc:  # bad input files and records: clear message, no traceback
        print(f"hilbench: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"hilbench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
