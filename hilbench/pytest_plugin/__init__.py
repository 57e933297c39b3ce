"""The hilbench pytest plugin (entry point ``pytest11``).

* ``test_plans/*.yaml`` files (or plan files named on the command line) are collected: one test
  item per check, named by its id (``-v`` / ``-k`` friendly).
* One bench per session: the ``--bench`` file (default: the emulated one, started here when it is
  emulated), opened lazily; every exit path returns it to its safe state (time-boxed).
* Measurements are written to ``<report>/measurements.jsonl`` as they are taken; a measurement
  outside its limits fails the item without any ``assert``.
* Fixtures for Python tests: ``hil_bench``, ``hil_session``, ``hil_strategy``, ``hil_record`` (the run's
  measurement record), ``hil_check`` and one per role of hilbench.core.roles.ROLE_PROTOCOLS (``hil_grid``,
  ``hil_analyser``, ``hil_recorder``, ``hil_load``, ``hil_controller``, ``hil_meter``, ``hil_boards``,
  ``hil_hashboard``).  None is autouse.
* A programming error inside a check (anything that is not a HilbenchError or an OS-level I/O
  error) is recorded with its traceback as an ``internal_error`` and re-raised, never turned
  into an ordinary measurement error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import signal
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from hilbench.bench.interlocks import InterlockMonitor
from hilbench.bench.labgrid_place import LabgridPlace, is_labgrid_bench
from hilbench.bench.pool import Lease, lease_bench, read_pool, worker_address_base, worker_index
from hilbench.bench.session import BenchSession
from hilbench.bench.strategy import BenchStrategy, Heartbeat
from hilbench.core.errors import HilbenchError
from hilbench.core.measurement import ERROR, FAIL, Measurement
from hilbench.core.roles import ROLE_PROTOCOLS
from hilbench.drivers import open_driver, unknown_drivers
from hilbench.plans.checks import REGISTRY, CheckContext
from hilbench.plans.plan import Plan, PlanCheck, PlanError, load_plan, missing_roles
from hilbench.plans.timekeeping import CheckTimekeeping
from hilbench.pytest_plugin.progress import MODES as PROGRESS_MODES
from hilbench.pytest_plugin.progress import RunProgress
from hilbench.report.merge import WORKERS_DIR, merge_worker_runs, worker_run_dir
from hilbench.report.recorder import Recorder
from hilbench.report.records import bench_identity, plan_identity
from hilbench.spec.bench_file import DEFAULT_BENCH, Bench, BenchFileError, read_bench
from hilbench.spec.fault_spec import FaultSpec, FaultSpecError, parse_fault

log = logging.getLogger(__name__)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hilbench", "hardware-in-the-loop bench")
    group.addoption(
        "--bench",
        action="store",
        default=None,
        metavar="FILE",
        help=f"bench file describing the instruments (default: {DEFAULT_BENCH.name}, fully emulated)",
    )
    group.addoption(
        "--time-scale",
        action="store",
        type=float,
        default=None,
        metavar="X",
        help="plant time scale of an emulated bench (default: the plan's ci_time_scale, else 50)",
    )
    group.addoption(
        "--accept-overdue-calibration",
        action="store_true",
        default=False,
        help="run although an instrument's calibration is past due (recorded and printed on every report)",
    )
    group.addoption(
        "--inject-fault",
        action="append",
        default=[],
        metavar="ROLE:KIND[@SECONDS]",
        help="emulated bench only: inject a fault at SECONDS of plant time (see hilbench.spec.fault_spec)",
    )
    group.addoption(
        "--bench-pool",
        action="store",
        default=None,
        metavar="FILE",
        help="parallel runs (-n): lease each worker a bench of this pool file (see hilbench.bench.pool)",
    )
    group.addoption(
        "--hil-progress",
        action="store",
        default="lines",
        choices=PROGRESS_MODES,
        help="live: one status area on a terminal; lines: a line per check and phase (default); none: quiet",
    )
    group.addoption(
        "--hil-report",
        action="store",
        default=None,
        metavar="DIR",
        help="run directory for measurements.jsonl and raw data (default: reports/<time>)",
    )


@dataclass
class Runtime:
    """The session's bench, its drivers and the recorder; created on first use."""

    config: pytest.Config
    bench: Bench | None = None
    session: BenchSession | None = None
    strategy: BenchStrategy | None = None
    recorder: Recorder | None = None
    emulated: object | None = None
    time_scale: float = 20.0
    overdue_accepted: list | None = None
    plans_recorded: set = dataclasses.field(default_factory=set)
    progress: RunProgress | None = None
    #: the plan checks this session will run (after -k), so that a bench lacking a role they need is refused first
    selected_checks: list = dataclasses.field(default_factory=list)

    def start(self, time_scale: float | None = None) -> None:
        if self.session is not None:
            return
        option = self.config.getoption("--bench")
        worker = _worker_id(self.config)
        try:
            if self.config.getoption("--bench-pool"):
                self.lease = lease_bench(read_pool(self.config.getoption("--bench-pool")), worker=worker)
                option = self.lease.bench_file
            elif is_labgrid_bench(option):  # a bench shared through labgrid's coordinator: held for the run
                self.place = LabgridPlace(option)
                self.place.acquire()
                option = self.place.bench_file()
            bench = read_bench(option or DEFAULT_BENCH)
            problems = unknown_drivers(bench.roles.values())
            if problems:
                raise BenchFileError(problems[0])
            lacking = missing_roles(self.selected_checks, bench.roles, bench.path)
            if lacking:
                raise BenchFileError(lacking)
        except BenchFileError as exc:  # one line, before anything is opened
            pytest.exit(str(exc), returncode=2)
        overdue = _overdue_calibrations(bench)
        accepted = bool(overdue) and self.config.getoption("--accept-overdue-calibration")
        if overdue and not accepted:
            # before anything is opened, let alone energised
            pytest.exit(
                f"{bench.path}: calibration past due, nothing was energised: {'; '.join(overdue)}. "
                "Recalibrate, or run with --accept-overdue-calibration (it is then printed on every report)",
                returncode=2,
            )
        scale = self.config.getoption("--time-scale") or time_scale or 20.0
        faults = _injected_faults(self.config, bench)
        if bench.emulated:
            from hilbench.emulation.bench_runner import EmulatedBench

            address_base = worker_address_base(worker_index(worker)) if worker else None
            self.emulated = EmulatedBench(bench, time_scale=scale, faults=faults, address_base=address_base)
            bench = self.emulated.start()
        self.bench, self.time_scale = bench, scale
        run_dir = _run_dir(self.config)
        self.recorder = Recorder(worker_run_dir(run_dir, worker) if worker else run_dir)
        self.recorder.event(
            "run_start",
            labgrid_place=self.place.place if self.place else None,
            labgrid_reserved_by=",".join(self.place.filters) if self.place and self.place.filters else None,
            worker=worker or None,
            bench=bench.name,
            bench_file=bench.path,
            emulated=bench.emulated,
            time_scale=scale if bench.emulated else 1.0,
            **bench_identity(bench),
        )
        for fault in getattr(self.emulated, "fault_specs", ()):
            self.recorder.event("fault_scheduled", fault=fault.describe(), requests=fault.requests)
        self.session = BenchSession(bench)
        self.strategy = BenchStrategy(self.session, progress=_progress(self.config))
        self._start_interlocks(bench)
        self.overdue_accepted = overdue if accepted else []
        self._arm_watchdog(bench)
        if accepted:
            self.recorder.event("calibration_overdue_accepted", roles=overdue)

    safe_records: list | None = None
    heartbeat: Heartbeat | None = None
    lease: Lease | None = None
    place: LabgridPlace | None = None
    interlocks: InterlockMonitor | None = None

    def _start_interlocks(self, bench: Bench) -> None:
        """Every permissive read once before anything energising is opened, then watched for the whole run."""
        if bench.interlocks is None:
            return
        session = self.session
        self.interlocks = InterlockMonitor.for_bench(bench, on_trip=self._interlock_tripped, run_driver=session.driver)
        statuses = self.interlocks.check_now(starting=True)
        for status in statuses:
            self.recorder.event("interlock", name=status.name, holds=status.holds, detail=status.detail)
        if self.interlocks.tripped is not None:
            message = f"{bench.path}: nothing was energised: {self.interlocks.trip_message()}"
            self.finish()
            pytest.exit(message, returncode=2)
        self.recorder.event("interlocks_armed", period_s=bench.interlocks.period_s, permissives=len(statuses))
        session.set_guard(self.interlocks)
        self.interlocks.start()

    def _interlock_tripped(self, status) -> None:
        """From the monitor's thread: record, and the bench to its safe state now (the check in progress then
        meets InterlockTripped on its next call and the run stops)."""
        self.recorder.event("interlock_tripped", name=status.name, detail=status.detail)
        if self.strategy is not None:
            for record in self.strategy.safe_state():
                self.recorder.event("safe_state", context="interlock trip", **dataclasses.asdict(record))

    def _arm_watchdog(self, bench: Bench) -> None:
        """On a bench outside this process (real, or exported by `hilbench emulate`) the controller's comm-loss
        watchdog is armed and fed, so a runner that dies leaves the container to curtail itself.  An emulated bench
        started in this process dies with it, so there is nothing to arm."""
        if bench.emulated or "controller" not in bench.roles:
            return
        settings = bench.role("controller").settings
        watchdog_s = float(settings.get("watchdog_s", 10.0))
        period_s = float(settings.get("heartbeat_period_s", watchdog_s / 4))
        self.heartbeat = Heartbeat(open_driver(bench.role("controller")), watchdog_s=watchdog_s, period_s=period_s)
        self.heartbeat.start()
        self.recorder.event("watchdog_armed", watchdog_s=watchdog_s, heartbeat_period_s=period_s)

    def make_safe(self) -> list:
        """Every opened role to its safe state, read back, one ``safe_state`` record each; a second Ctrl-C or a
        SIGTERM/SIGHUP meanwhile is noted and ignored (each role is time-boxed, so this always ends)."""
        if self.session is None:
            return []
        _defer_signals(self.config)
        records = self.strategy.safe_state()
        if self.heartbeat is not None:  # after the safe state: the container is safe whatever the watchdog does next
            self.heartbeat.stop()
            self.recorder.event("heartbeat_stopped", beats=self.heartbeat.beats, error=str(self.heartbeat.error or ""))
        if self.recorder is not None:
            for record in records:
                self.recorder.event("safe_state", **dataclasses.asdict(record))
            self.recorder.event("identities", identities=self.session.identities)
        self.safe_records = records
        return records

    def finish(self) -> None:
        """Close everything this run opened; safe to call twice (a refused start calls it before pytest does)."""
        if self.interlocks is not None:
            self.interlocks.stop()
        if self.session is not None:
            if self.safe_records is None:  # pytest_sessionfinish did not run (e.g. an error during collection)
                self.make_safe()
            self.session.close()
            self.session = None
        if self.emulated is not None:
            self.emulated.stop()
            self.emulated = None
        if self.recorder is not None:
            self.recorder.event("run_end")
            self.recorder.close()
            self.recorder = None
        if self.lease is not None:
            self.lease.release()
            self.lease = None
        if self.place is not None:
            try:
                self.place.release()
            except BenchFileError as exc:  # the coordinator gone: labgrid-client release frees it by hand
                log.error("%s", exc)
            self.place = None


def _injected_faults(config: pytest.Config, bench: Bench) -> tuple[FaultSpec, ...]:
    texts = config.getoption("--inject-fault") or []
    try:
        faults = tuple(parse_fault(text) for text in texts)
    except FaultSpecError as exc:
        pytest.exit(f"hilbench: {exc}", returncode=2)
    if faults and not bench.emulated:
        pytest.exit(f"{bench.path}: --inject-fault needs an emulated bench; this one drives real instruments", 2)
    return faults


def injected_faults_hit(runtime: Runtime, since: int) -> str:
    """'; injected fault(s) hit during this check: grid:timeout@30 x3' (empty when none hit)."""
    log = getattr(runtime.emulated, "fault_log", [])[since:]
    if not log:
        return ""
    counts: dict[str, int] = {}
    for entry in log:
        counts[entry["fault"]] = counts.get(entry["fault"], 0) + 1
    return "; injected fault(s) hit during this check: " + ", ".join(f"{k} x{n}" for k, n in counts.items())


def _overdue_calibrations(bench: Bench) -> list[str]:
    """'role: OVERDUE since date (serial, certificate)' for every calibration record past due on a real bench."""
    if bench.emulated:
        return []
    return [
        f"{role}: {spec.calibration.status()} (serial {spec.calibration.serial}, {spec.calibration.certificate})"
        for role, spec in bench.roles.items()
        if spec.calibration is not None and not spec.calibration.valid()
    ]


RUNTIME_KEY = pytest.StashKey[Runtime]()


RUN_DIR_KEY = pytest.StashKey[Path]()


def _run_dir(config: pytest.Config) -> Path:
    """The run directory: --hil-report, or reports/<time>; one for all xdist workers (the controller's)."""
    if RUN_DIR_KEY not in config.stash:
        option = config.getoption("--hil-report")
        given = getattr(config, "workerinput", {}).get("hil_run_dir")
        config.stash[RUN_DIR_KEY] = Path(
            given or option or Path(config.rootpath) / "reports" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        )
    return config.stash[RUN_DIR_KEY]


def _worker_id(config: pytest.Config) -> str:
    """'gw0', 'gw1', ... in a pytest-xdist worker; '' otherwise."""
    return getattr(config, "workerinput", {}).get("workerid", "")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadgroup: checks spread over the workers, a same_bench plan kept on one (xdist_scheduling)."""
    if config.getoption("dist") != "loadgroup":
        return None
    from hilbench.pytest_plugin.xdist_scheduling import PlanScheduling

    return PlanScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist, in the controller: every worker records into the same run directory (workers/<id>/)."""
    node.workerinput["hil_run_dir"] = str(_run_dir(node.config))


#: signals that end a run the way Ctrl-C does (CI cancellation and `docker stop` send SIGTERM, a dropped SSH
#: session SIGHUP): pytest then runs its teardown and hilbench its safe state
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_PREVIOUS_HANDLERS = pytest.StashKey[dict]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RUNTIME_KEY] = Runtime(config)
    mode = config.getoption("--hil-progress") if not _worker_id(config) else "none"  # a worker has no terminal
    config.stash[RUNTIME_KEY].progress = RunProgress(mode, _write_line(config), terminal=_uncaptured(config))
    config.addinivalue_line("markers", "hil: a check from a hilbench test plan")
    if threading.current_thread() is threading.main_thread():

        def interrupt(signum, frame) -> None:
            """The first Ctrl-C, SIGTERM or SIGHUP stops the run like Ctrl-C; any further one is only noted, so
            pytest's own interrupt handling and the safe state that follows cannot be cut short."""
            _defer_signals(config)
            raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

        config.stash[_PREVIOUS_HANDLERS] = {
            sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, *_STOP_SIGNALS)
        }


_DEFERRED_HANDLERS = pytest.StashKey[dict]()


def _defer_signals(config: pytest.Config) -> None:
    """From here to the end of teardown Ctrl-C, SIGTERM and SIGHUP are noted, not obeyed: the bench is being made
    safe (each role time-boxed) and the emulators stopped, so the run always ends, and ends safe."""
    if threading.current_thread() is not threading.main_thread() or _DEFERRED_HANDLERS in config.stash:
        return

    def note(signum, frame) -> None:
        print(f"hilbench: {signal.Signals(signum).name} noted: the bench is being made safe, then the run ends")

    config.stash[_DEFERRED_HANDLERS] = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, *_STOP_SIGNALS)}


def _restore_signals(config: pytest.Config) -> None:
    for sig, handler in config.stash.get(_DEFERRED_HANDLERS, {}).items():
        signal.signal(sig, handler)
    if _DEFERRED_HANDLERS in config.stash:
        del config.stash[_DEFERRED_HANDLERS]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The safe state, read back, before pytest reports; a role not confirmed safe makes the run fail."""
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    if runtime is None or runtime.session is None:
        return
    records = runtime.make_safe()
    unsafe = [r for r in records if r.confirmed is False]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for record in records:
        line = f"safe state: {record.describe()}"
        reporter.write_line(line) if reporter is not None else print(line)
    if unsafe and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    try:
        if runtime is not None:
            runtime.finish()
        run_dir = config.stash.get(RUN_DIR_KEY, None)
        if not _worker_id(config) and run_dir is not None and (run_dir / WORKERS_DIR).is_dir():
            _, notes = merge_worker_runs(run_dir)  # the xdist controller, its workers gone: one record stream
            for note in notes:
                log.warning(note)
    finally:
        _restore_signals(config)
        for sig, handler in config.stash.get(_PREVIOUS_HANDLERS, {}).items():
            signal.signal(sig, handler)


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


def run_check(runtime: Runtime, plan: Plan, plan_check: PlanCheck, properties: list | None = None) -> CheckContext:
    """Run one check on the session's bench; always returns its context (measurements, attachments)."""
    import allure

    spec = REGISTRY[plan_check.type]
    timekeeping = CheckTimekeeping.open(runtime.emulated, plan_check.resolution_s or spec.resolution_s)
    progress = runtime.progress or RunProgress("none", print)
    progress.start_check(plan_check.id, plan_check.type)
    ctx = CheckContext(
        plan_check.id,
        plan_check.type,
        runtime.session,
        plan.dut,
        runtime.recorder,
        dict(plan_check.limits),
        progress=_progress(runtime.config),
        strategy=runtime.strategy,
        timekeeping=timekeeping,
    )
    recorder = runtime.recorder
    if plan.path not in runtime.plans_recorded:  # once per plan: what a certificate states the run was judged by
        runtime.plans_recorded.add(plan.path)
        recorder.event("plan", **plan_identity(plan))
    faults_before = len(getattr(runtime.emulated, "fault_log", []))
    recorder.event(
        "check_start",
        plan=plan.name,
        check=plan_check.id,
        type=plan_check.type,
        params=plan_check.params,
        declared={k: v.__dict__ for k, v in plan_check.limits.items()},
        dut=dataclasses.asdict(plan.dut),  # what a replay needs to judge the stored captures again
    )
    allure.dynamic.label("plan", plan.name)
    allure.dynamic.label("check_type", plan_check.type)
    allure.dynamic.description(spec.doc)
    for key, value in plan_check.params.items():
        allure.dynamic.parameter(key, json.dumps(value))
    try:
        with allure.step(f"{plan_check.type} on {runtime.bench.name}"):
            spec.run(ctx, dict(plan_check.params))
        ctx.unmeasured("the check ended without measuring it")
    except (HilbenchError, OSError) as exc:  # the bench or its instruments said no: an ordinary error
        ctx.abort_reason = f"{type(exc).__name__}: {exc}{injected_faults_hit(runtime, faults_before)}"
        ctx.unmeasured(ctx.abort_reason)
        runtime.strategy.safe_state()
    except Exception as exc:  # a bug in hilbench or in the check: recorded with its traceback, re-raised
        trace = traceback.format_exc()
        recorder.event("internal_error", check=plan_check.id, error=f"{type(exc).__name__}: {exc}", traceback=trace)
        ctx.unmeasured(f"INTERNAL ERROR (a hilbench bug, not a bench fault): {type(exc).__name__}: {exc}")
        ctx.attachments.append(("internal-error-traceback", trace, "text/plain"))
        runtime.strategy.safe_state()
        raise
    except BaseException as exc:  # Ctrl-C and friends: record, make safe, re-raise
        ctx.unmeasured(f"interrupted: {type(exc).__name__}")
        runtime.strategy.safe_state()
        raise
    finally:
        for m in ctx.measured:
            value = "not measured" if m.value is None else f"{m.value:.4g} {m.unit}"
            with allure.step(f"{m.name} = {value} [{m.verdict}]"):
                pass
        if timekeeping is not None:  # closed before the charts are drawn: drawing is not the emulator's lag
            recorder.event("emulation_lag", check=plan_check.id, **timekeeping.close())
        for failure in ctx.draw_charts():
            recorder.event("chart_failed", check=plan_check.id, error=failure)
        for name, content, mime in ctx.attachments:
            allure.attach(
                content,
                name=name,
                attachment_type=allure.attachment_type.PNG if mime == "image/png" else allure.attachment_type.TEXT,
            )
        for hit in getattr(runtime.emulated, "fault_log", [])[faults_before:]:
            recorder.event("fault_hit", check=plan_check.id, **hit)
        recorder.event(
            "check_end",
            check=plan_check.id,
            verdicts={m.name: m.verdict for m in ctx.measured},
            error=getattr(ctx, "abort_reason", "") or None,  # the check did not end cleanly, whatever it measured
        )
        progress.end_check([m.verdict for m in ctx.measured] + (["error"] if getattr(ctx, "abort_reason", "") else []))
        if properties is not None:
            properties.extend(
                [
                    ("plan", plan.name),
                    ("plan_file", plan.path),
                    ("bench", runtime.bench.name),
                    ("dut", plan.dut.name),
                    ("dut_serials", ",".join(plan.dut.serials)),
                ]
            )
            for role, identity in runtime.session.identities.items():
                properties.append((f"instrument.{role}", identity))
            if runtime.overdue_accepted:
                properties.append(("calibration_overdue_accepted", "; ".join(runtime.overdue_accepted)))
            for role, spec_role in runtime.bench.roles.items():
                calibration = spec_role.calibration
                properties.append(
                    (
                        f"calibration.{role}",
                        "emulated"
                        if runtime.bench.emulated
                        else (calibration.status() if calibration else "no record"),
                    )
                )
            for m in ctx.measured:
                properties.append((f"measurement.{m.name}", f"{m.value} {m.unit} [{m.verdict}]"))
    return ctx


def _write_line(config: pytest.Config):
    def say(message: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message)
        else:
            print(message)

    return say


def _uncaptured(config: pytest.Config):
    """A context in which output reaches the terminal although a check (inside a test) is running."""

    def context():
        capture = config.pluginmanager.get_plugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()

    return context


def _progress(config: pytest.Config):
    """Where checks and the strategy say what they are doing: the run's progress display."""

    def say(message: str) -> None:
        config.stash[RUNTIME_KEY].progress.phase(message)

    return say


def pytest_collection_finish(session: pytest.Session) -> None:
    runtime = session.config.stash[RUNTIME_KEY]
    runtime.selected_checks = [item.check for item in session.items if isinstance(item, CheckItem)]
    runtime.progress.total = len(runtime.selected_checks)


# ----- fixtures for Python tests ------------------------------------------------------------
@pytest.fixture(scope="session")
def hil_runtime(request) -> Runtime:
    runtime = request.config.stash[RUNTIME_KEY]
    runtime.start()
    return runtime


@pytest.fixture(scope="session")
def hil_bench(hil_runtime) -> Bench:
    return hil_runtime.bench


@pytest.fixture(scope="session")
def hil_session(hil_runtime) -> BenchSession:
    return hil_runtime.session


@pytest.fixture(scope="session")
def hil_record(hil_runtime) -> Recorder:
    return hil_runtime.recorder


def _role_fixture(role: str):
    @pytest.fixture
    def fixture(hil_session):
        return hil_session.driver(role)

    fixture.__name__ = f"hil_{role}"
    fixture.__doc__ = f"The bench's {role} driver (opened once per session)."
    return fixture


for _role in ROLE_PROTOCOLS:  # hil_grid, hil_analyser, ...: one fixture per role
    globals()[f"hil_{_role}"] = _role_fixture(_role)


@pytest.fixture(scope="session")
def hil_strategy(hil_runtime) -> BenchStrategy:
    """The bench strategy: prepare_running, wait_for, trend, safe_state."""
    return hil_runtime.strategy


@pytest.fixture
def hil_check(hil_runtime, request):
    """Run a check from Python: ``hil_check(type, limits={...}, params={...}, dut=Dut(...))``; fails the test
    when a measurement is outside its limits."""
    from hilbench.core.measurement import Limits
    from hilbench.plans.checks import Dut

    def run(kind: str, *, limits: dict, params: dict | None = None, dut: Dut | None = None, check_id: str = ""):
        spec = REGISTRY[kind]
        merged = {**spec.params, **(params or {})}
        parsed = {name: Limits.from_plan(value, f"{request.node.nodeid}: {name}") for name, value in limits.items()}
        dut = dut or Dut("DUT", 97.5, 30, 400.0, 50.0, 5.0, 100.0)
        plan = Plan(request.node.name, "", str(request.node.path), dut, [])
        item = PlanCheck(check_id or kind, kind, merged, parsed, request.node.nodeid, 0)
        ctx = run_check(hil_runtime, plan, item, request.node.user_properties)
        failed = [m for m in ctx.measured if m.verdict in (FAIL, ERROR)]
        if failed:
            pytest.fail(
                "\n".join(f"{m.name}: {m.value} {m.unit} [{m.verdict}] {m.note}" for m in failed), pytrace=False
            )
        return ctx

    return run
