"""``hilbench run PLAN``: a plan through pytest on a bench, with the report, a summary table and an honest exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pytest

from hilbench.bench.labgrid_place import is_labgrid_bench
from hilbench.cli.indexing import add_store_options, index_finished_run
from hilbench.cli.report import write_certificate
from hilbench.drivers import unknown_drivers
from hilbench.plans.plan import PlanError, load_plan, missing_roles
from hilbench.report.integrity import seal
from hilbench.report.record_writer import read_records
from hilbench.report.records import read_run
from hilbench.spec.bench_file import DEFAULT_BENCH, BenchFileError, read_bench
from hilbench.spec.fault_spec import FaultSpecError, parse_fault


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a test plan on a bench (emulated by default) and write its report")
    p.add_argument("plan", type=Path)
    p.add_argument(
        "--bench", type=Path, default=None, help="bench file, or labgrid:PLACE (default: instruments/emulated.yaml)"
    )
    p.add_argument("--time-scale", type=float, default=None, help="emulated plant time scale (default: the plan's)")
    p.add_argument("--report", type=Path, default=None, help="run directory (default: reports/<plan>-<time>)")
    p.add_argument("-k", dest="keyword", default=None, help="only checks matching this pytest -k expression")
    p.add_argument("--quiet", action="store_true", help="no progress while the run runs: the summary at its end")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="pytest's own output too (its progress, summary and failures)"
    )
    p.add_argument("--debug", action="store_true", help="as --verbose, with full tracebacks and live log lines")
    p.add_argument(
        "-n",
        dest="workers",
        type=int,
        default=0,
        metavar="N",
        help="run the checks on N benches in parallel (pytest-xdist): N emulated ones, or N leased from --bench-pool",
    )
    p.add_argument(
        "--address-base",
        default=None,
        help="emulated bench: first loopback address of its boards (two runs at once need two; -n adds a /16 each)",
    )
    p.add_argument("--bench-pool", type=Path, default=None, help="pool file of benches to lease one per worker")
    p.add_argument(
        "--accept-overdue-calibration",
        action="store_true",
        help="run although an instrument's calibration is past due (printed on the report)",
    )
    p.add_argument(
        "--accept-unverified",
        action="append",
        default=[],
        metavar="ROLE:FEATURE",
        help="run although ROLE:FEATURE was not verified by hilbench bench probe on this instrument (printed)",
    )
    p.add_argument(
        "--inject-fault",
        action="append",
        default=[],
        metavar="ROLE:KIND[@SECONDS]",
        help="emulated bench only: inject a fault, e.g. grid:timeout@30 (kinds in hilbench.spec.fault_spec)",
    )
    add_store_options(p)
    p.add_argument(
        "--live",
        action="store_true",
        help="index the run into the store record by record while it runs (hilbench serve's live view)",
    )
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    try:
        plan = load_plan(args.plan)
        for text in args.inject_fault:
            parse_fault(text)
        # a labgrid place and a pool's leased benches are resolved by the run (the plugin judges them as early)
        if not args.bench_pool and not (args.bench and is_labgrid_bench(str(args.bench))):
            bench = read_bench(args.bench or DEFAULT_BENCH)  # a bad bench file is refused here, before anything starts
            if args.inject_fault and not bench.emulated:
                raise FaultSpecError(
                    f"{args.bench}: --inject-fault needs an emulated bench; this one drives instruments"
                )
            problems = unknown_drivers(bench.roles.values())
            if problems:
                raise BenchFileError(problems[0])
            if bench.emulated:  # what the emulators would refuse, refused now (nothing is started)
                from hilbench.emulation.bench_runner import validate_emulated_bench

                validate_emulated_bench(bench)
            if args.keyword is None:  # with -k the plugin judges the checks pytest selects, as early
                lacking = missing_roles(plan.checks, bench.roles, bench.path)
                if lacking:
                    raise BenchFileError(lacking)
        if args.live and args.no_index:
            raise PlanError("--live indexes the run into the store; it cannot be combined with --no-index")
        if args.live and args.workers:
            raise PlanError("--live follows one process's record; with -n the run is indexed as it ends")
    except (PlanError, BenchFileError, FaultSpecError) as exc:
        print(f"hilbench: {exc}")
        return 2
    run_dir = args.report or Path("reports") / f"{plan.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    if (run_dir / "measurements.jsonl").exists():
        print(f"hilbench: {run_dir} already holds a run (measurements.jsonl); choose another --report directory")
        return 2
    run_dir.mkdir(parents=True, exist_ok=True)
    pytest_args = [
        str(args.plan),
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",  # hilbench is imported before pytest starts: nothing to rewrite
        "--rootdir",
        str(Path.cwd()),
        "--hil-report",
        str(run_dir),
        "--junitxml",
        str(run_dir / "junit.xml"),
        "--alluredir",
        str(run_dir / "allure-results"),
        "-o",
        "junit_family=xunit2",
        "-o",
        "testpaths=",
    ]
    progress = "none" if args.quiet else "live" if sys.stdout.isatty() else "lines"
    pytest_args += ["--hil-progress", progress]
    if args.debug:
        pytest_args += ["-v", "--tb=long", "-o", "log_cli=true", "-o", "log_cli_level=INFO"]
    elif args.verbose:
        pytest_args += ["-v"]
    else:  # one clean sequence: progress, the table, the safe states, the verdict (pytest's refusals still show)
        pytest_args += ["-qq", "--hil-quiet-pytest", "--tb=no", "-rN", "--disable-warnings", "--no-header"]
        pytest_args += ["-o", "console_output_style=classic"]
    if args.bench:
        pytest_args += ["--bench", str(args.bench)]
    if args.time_scale:
        pytest_args += ["--time-scale", str(args.time_scale)]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers:
        pytest_args += ["-n", str(args.workers), "--dist", "loadgroup"]
    if args.bench_pool:
        pytest_args += ["--bench-pool", str(args.bench_pool)]
    if args.address_base:
        pytest_args += ["--hil-address-base", args.address_base]
    for text in args.inject_fault:
        pytest_args += ["--inject-fault", text]
    if args.accept_overdue_calibration:
        pytest_args += ["--accept-overdue-calibration"]
    for name in args.accept_unverified:
        pytest_args += ["--accept-unverified", name]
    if args.live:
        from hilbench.store.database import store_url

        pytest_args += ["--hil-live-db", store_url(args.db)]
    print(f"running {plan.name} ({len(plan.checks)} checks) -> {run_dir}")
    code = pytest.main(pytest_args)
    if code == pytest.ExitCode.INTERRUPTED and not _run_started(run_dir):  # refused before anything was opened
        print("PLAN FAILED (refused before anything was energised)")
        return 2
    try:
        return _report(code, run_dir, db=args.db, index=not args.no_index)
    except KeyboardInterrupt:  # the bench is already safe (pytest's teardown); say so and fail
        print(
            f"hilbench: interrupted while summarising; the safe state is recorded in {run_dir / 'measurements.jsonl'}"
        )
        print("PLAN FAILED")
        return 130


def _run_started(run_dir: Path) -> bool:
    path = run_dir / "measurements.jsonl"
    return path.exists() and '"run_start"' in path.read_text(errors="replace")


def _report(code: int, run_dir: Path, *, db: str | None = None, index: bool = True) -> int:
    """The table, the seal and certificate, the run into the results store, the safe states and the verdict."""
    summary = summarise(run_dir / "measurements.jsonl")
    print(summary["table"])
    print(f"report: {run_dir}  (allure: allure generate {run_dir / 'allure-results'} -o {run_dir / 'allure-report'})")
    if (run_dir / "measurements.jsonl").exists():  # sealed as it ends, then its certificate
        manifest = seal(run_dir)
        try:
            certificate = write_certificate(run_dir)
        except Exception as exc:  # a bug in rendering must not change what the run measured: said, not hidden
            print(f"WARNING: certificate not written ({type(exc).__name__}: {exc}); the run is sealed, retry with "
                  f"hilbench report {run_dir}")  # fmt: skip
        else:
            print(f"certificate: {certificate}  (sha256 {manifest['sha256'][:16]}...; verify with "
                  f"hilbench report {run_dir} --verify)")  # fmt: skip
        if index:  # after the seal: the store indexes only what verifies
            print(index_finished_run(run_dir, db))
    for line in summary["safe_state"]:
        print(line)
    for line in summary["warnings"]:
        print(line)
    # the certificate's rule, from the same reader: what the run prints and what it certifies cannot differ
    all_passed = code == 0 and (run_dir / "measurements.jsonl").exists() and read_run(run_dir).verdict()[0]
    print("PLAN PASSED" if all_passed else "PLAN FAILED")
    return 0 if all_passed else 1


def summarise(path: Path) -> dict:
    rows, checks, safe, warnings = [], set(), [], []
    if path.exists():
        records, note = read_records(path)
        if note:
            warnings.append(f"WARNING: {note}")
        for record in records:
            if record.get("record") == "safe_state":
                safe.append(record)
            if record.get("record") == "check_end" and record.get("error"):
                warnings.append(f"CHECK ERROR: {record['check']}: {record['error']}")
            if record.get("record") == "emulation_lag" and not record.get("kept_up", True):
                warnings.append(
                    f"EMULATION LAG: {record['check']}: 1 % of the emulator's requests lagged more than "
                    f"{record['p99_lag_s']:.3g} s of plant time at x{record['time_scale']:g} (resolution "
                    f"{record['resolution_s']:g} s); its figures are errors, not verdicts: run at a lower --time-scale"
                )
            if record.get("record") == "live_store_failed":
                warnings.append(f"LIVE VIEW NOT UPDATED: {record['detail']}")
            if record.get("record") == "interlock_tripped":
                warnings.append(f"INTERLOCK TRIPPED: {record['name']}: {record['detail']}; the run was stopped")
            if record.get("record") == "calibration_overdue_accepted":
                warnings.append(f"CALIBRATION OVERDUE, accepted by --accept-overdue-calibration: {record['roles']}")
            if record.get("record") == "unverified_accepted":
                for line in record["items"]:
                    warnings.append(f"UNVERIFIED COMMAND, accepted by --accept-unverified: {line}")
            if record.get("record") == "unverified_relied_on" and not record.get("emulated"):
                for line in record["items"]:
                    if "verified on this instrument" in line:
                        warnings.append(f"commissioning: {line}")
            if record.get("record") != "measurement":
                continue
            rows.append(record)
            checks.add(record["check"])
    lines = [f"{'check':<24} {'measurement':<26} {'value':>12} {'unit':<6} {'limit':<22} verdict"]
    for r in rows:
        limits = r.get("limits") or {}
        bounds = []
        if limits.get("low") is not None:
            bounds.append(f">={limits['low']:g}")
        if limits.get("high") is not None:
            bounds.append(f"<={limits['high']:g}")
        value = "-" if r["value"] is None else f"{r['value']:.4g}"
        lines.append(
            f"{r['check']:<24} {r['name']:<26} {value:>12} {r['unit']:<6} {' '.join(bounds):<22} "
            f"{r['verdict'].upper() if r['verdict'] in ('fail', 'error') else r['verdict']}"
        )
    status = {True: "confirmed", False: "NOT CONFIRMED", None: "not used"}
    safe_lines = [
        f"safe state {r['role']:<11} {status[r['confirmed']]} in {r['seconds']:.2f} s: {r['read_back']}"
        + (f"  [{r['worker']}]" if r.get("worker") else "")
        for r in safe
        if "context" not in r  # the end-of-run records; those taken at an interlock trip are in the file
    ]
    return {"table": "\n".join(lines), "checks": len(checks), "safe_state": safe_lines, "warnings": warnings}
