"""The run's lifecycle: one bench per session, opened on first use, made safe and closed on every way out."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from hilbench.bench.interlocks import InterlockMonitor
from hilbench.bench.labgrid_place import LabgridPlace, is_labgrid_bench
from hilbench.bench.pool import Lease, lease_bench, read_pool, worker_address_base, worker_index
from hilbench.bench.session import BenchSession
from hilbench.bench.strategy import BenchStrategy, Heartbeat
from hilbench.drivers import open_driver, unknown_drivers
from hilbench.plans.plan import DEFAULT_TIME_SCALE, missing_roles
from hilbench.pytest_plugin.progress import RunProgress
from hilbench.pytest_plugin.signals import defer_signals, install_stop_handlers, uninstall_stop_handlers
from hilbench.report.merge import WORKERS_DIR, merge_worker_runs, worker_run_dir
from hilbench.report.record_writer import RecordWriter
from hilbench.report.records import bench_identity
from hilbench.spec.bench_file import DEFAULT_BENCH, Bench, BenchFileError, read_bench
from hilbench.spec.fault_spec import FaultSpec, FaultSpecError, parse_fault

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The session's bench, its drivers and the run record; created on first use."""

    config: pytest.Config
    bench: Bench | None = None
    session: BenchSession | None = None
    strategy: BenchStrategy | None = None
    run_record: RecordWriter | None = None
    emulated: object | None = None
    time_scale: float = DEFAULT_TIME_SCALE
    overdue_accepted: list | None = None
    unverified_accepted: list = dataclasses.field(default_factory=list)
    plans_recorded: set = dataclasses.field(default_factory=set)
    progress: RunProgress | None = None
    #: the plan checks this session will run (after -k), so that a bench lacking a role they need is refused first
    selected_checks: list = dataclasses.field(default_factory=list)

    def start(self, time_scale: float | None = None) -> None:
        if self.session is not None:
            return
        option = self.config.getoption("--bench")
        worker = worker_id(self.config)
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
        unverified_accepted, relied = self._commissioning_gate(bench)
        scale = self.config.getoption("--time-scale") or time_scale or DEFAULT_TIME_SCALE
        faults = _injected_faults(self.config, bench)
        if bench.emulated:
            from hilbench.emulation.bench_runner import EmulatedBench

            address_base = self.config.getoption("--hil-address-base")
            if worker:  # one block per worker, counted from the given base (or from 127.10.0.2)
                address_base = worker_address_base(worker_index(worker), address_base)
            self.emulated = EmulatedBench(bench, time_scale=scale, faults=faults, address_base=address_base)
            bench = self.emulated.start()
        self.bench, self.time_scale = bench, scale
        run_dir = run_directory(self.config)
        self.run_record = RecordWriter(worker_run_dir(run_dir, worker) if worker else run_dir)
        self._start_live_store(worker)
        self.run_record.event(
            "run_start",
            labgrid_place=self.place.place if self.place else None,
            labgrid_reserved_by=",".join(self.place.filters) if self.place and self.place.filters else None,
            worker=worker or None,
            bench=bench.name,
            bench_file=bench.path,
            emulated=bench.emulated,
            time_scale=scale if bench.emulated else 1.0,
            plant_started_at=getattr(getattr(self.emulated, "clock", None), "started_at", None),
            **bench_identity(bench),
        )
        for fault in getattr(self.emulated, "fault_specs", ()):
            self.run_record.event("fault_scheduled", fault=fault.describe(), requests=fault.requests)
        self.session = BenchSession(bench)
        self.strategy = BenchStrategy(self.session, progress=progress_sayer(self.config))
        self._start_interlocks(bench)
        self.overdue_accepted = overdue if accepted else []
        self._arm_watchdog(bench)
        if accepted:
            self.run_record.event("calibration_overdue_accepted", roles=overdue)
        self.unverified_accepted = unverified_accepted
        if unverified_accepted:
            self.run_record.event("unverified_accepted", items=unverified_accepted)
        if relied:
            self.run_record.event("unverified_relied_on", emulated=bench.emulated, items=relied)

    def _commissioning_gate(self, bench: Bench) -> tuple[list[str], list[str]]:
        """Before anything is opened: the plan's checks against the probe's evidence (hilbench.plans.reliance);
        on a real bench, the instruments whose items were verified must still be the ones probed.  Returns (the
        items accepted by --accept-unverified, every item relied on) for the run record."""
        from hilbench.plans.checks import REGISTRY
        from hilbench.plans.reliance import item_state, refusal_message, relied_on, unsettled, verified_identities
        from hilbench.spec.probe_file import ProbeFileError, find_probe_evidence

        reliances, refusals = relied_on(self.selected_checks, bench, REGISTRY)
        relied = sorted({f"{r.name} ({r.commands}): listed, not judged (emulated bench)" for r in reliances})
        accepted = set(self.config.getoption("--accept-unverified") or ())
        problems, taken = [], []
        if not bench.emulated:
            try:
                evidence = find_probe_evidence(bench.path)
            except ProbeFileError as exc:
                pytest.exit(f"{exc}; nothing was energised", returncode=2)
            problems, taken = unsettled(reliances, bench, evidence, accepted)
            relied = sorted(
                {f"{r.name} ({r.commands}): {item_state(r.role, r.feature, bench, evidence)[1]}" for r in reliances}
            )
            if not problems and not refusals:
                mismatch = _identity_changes(bench, verified_identities(reliances, bench, evidence))
                if mismatch:
                    pytest.exit(
                        f"{bench.path}: nothing was energised; {'; '.join(mismatch)}: run hilbench bench probe again",
                        returncode=2,
                    )
        if problems or refusals:
            pytest.exit(refusal_message(bench, problems, refusals), returncode=2)
        return taken, relied

    safe_records: list | None = None
    heartbeat: Heartbeat | None = None
    lease: Lease | None = None
    place: LabgridPlace | None = None
    interlocks: InterlockMonitor | None = None
    live_store: object | None = None  # hilbench.store.live.LiveIndexer with --hil-live-db

    def _start_live_store(self, worker: str | None) -> None:
        """``--hil-live-db``: every record also into the results store as it is written (a queue; the run never
        waits for the database, and a store that fails is said once and left)."""
        url = self.config.getoption("--hil-live-db")
        if not url:
            return
        from hilbench.store.database import store_url
        from hilbench.store.live import LiveIndexer

        def warn(line: str) -> None:  # from the indexer's thread: into the record (hilbench run prints it) and the log
            log.warning("%s", line)
            record = self.run_record
            if record is not None:
                record.event("live_store_failed", detail=line)

        self.live_store = LiveIndexer(store_url(url), self.run_record.run_dir, warn=warn)
        self.run_record.listeners.append(self.live_store.offer)

    def _start_interlocks(self, bench: Bench) -> None:
        """Every permissive read once before anything energising is opened, then watched for the whole run."""
        if bench.interlocks is None:
            return
        session = self.session
        self.interlocks = InterlockMonitor.for_bench(bench, on_trip=self._interlock_tripped, run_driver=session.driver)
        statuses = self.interlocks.check_now(starting=True)
        for status in statuses:
            self.run_record.event("interlock", name=status.name, holds=status.holds, detail=status.detail)
        if self.interlocks.tripped is not None:
            message = f"{bench.path}: nothing was energised: {self.interlocks.trip_message()}"
            self.finish()
            pytest.exit(message, returncode=2)
        self.run_record.event("interlocks_armed", period_s=bench.interlocks.period_s, permissives=len(statuses))
        session.set_guard(self.interlocks)
        self.interlocks.start()

    def _interlock_tripped(self, status) -> None:
        """From the monitor's thread: record, and the bench to its safe state now (the check in progress then
        meets InterlockTripped on its next call and the run stops)."""
        self.run_record.event("interlock_tripped", name=status.name, detail=status.detail)
        if self.strategy is not None:
            for record in self.strategy.safe_state():
                self.run_record.event("safe_state", context="interlock trip", **dataclasses.asdict(record))

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
        self.run_record.event("watchdog_armed", watchdog_s=watchdog_s, heartbeat_period_s=period_s)

    def make_safe(self) -> list:
        """Every opened role to its safe state, read back, one ``safe_state`` record each; a second Ctrl-C or a
        SIGTERM/SIGHUP meanwhile is noted and ignored (each role is time-boxed, so this always ends)."""
        if self.session is None:
            return []
        defer_signals(self.config)
        records = self.strategy.safe_state()
        if self.heartbeat is not None:  # after the safe state: the container is safe whatever the watchdog does next
            self.heartbeat.stop()
            self.run_record.event(
                "heartbeat_stopped", beats=self.heartbeat.beats, error=str(self.heartbeat.error or "")
            )
        if self.run_record is not None:
            for record in records:
                self.run_record.event("safe_state", **dataclasses.asdict(record))
            self.run_record.event("identities", identities=self.session.identities)
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
        if self.run_record is not None:
            self.run_record.event("run_end")
            if self.live_store is not None:  # its last records (run_end) in, and its failure, if any, recorded
                self.live_store.close()
                self.live_store = None
            self.run_record.close()
            self.run_record = None
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


def _identity_changes(bench: Bench, probed: dict[str, str]) -> list[str]:
    """'role: probed on IDN A, now IDN B' for every role whose instrument is not the one the probe verified (a
    firmware update or a swapped unit); each is connected and identified only, nothing is commanded."""
    from hilbench.bench.session import BenchSession

    changes = []
    session = BenchSession(bench)
    try:
        for role, identity in probed.items():
            try:
                session.driver(role)
                now = session.identities.get(role, "")
            except Exception as exc:  # unreachable: the run would fail there anyway; say it now
                now = f"unreachable ({exc})"
            if now.strip() != identity.strip():
                changes.append(f"{role}: probed on {identity!r}, it now says {now!r}")
    finally:
        session.close()
    return changes


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


def run_directory(config: pytest.Config) -> Path:
    """The run directory: --hil-report, or reports/<time>; one for all xdist workers (the controller's)."""
    if RUN_DIR_KEY not in config.stash:
        option = config.getoption("--hil-report")
        given = getattr(config, "workerinput", {}).get("hil_run_dir")
        config.stash[RUN_DIR_KEY] = Path(
            given or option or Path(config.rootpath) / "reports" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        )
    return config.stash[RUN_DIR_KEY]


def worker_id(config: pytest.Config) -> str:
    """'gw0', 'gw1', ... in a pytest-xdist worker; '' otherwise."""
    return getattr(config, "workerinput", {}).get("workerid", "")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RUNTIME_KEY] = Runtime(config)
    mode = config.getoption("--hil-progress") if not worker_id(config) else "none"  # a worker has no terminal
    config.stash[RUNTIME_KEY].progress = RunProgress(mode, write_line(config), terminal=uncaptured(config))
    config.addinivalue_line("markers", "hil: a check from a hilbench test plan")
    install_stop_handlers(config)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The safe state, read back, before pytest reports; a role not confirmed safe makes the run fail."""
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    if runtime is None or runtime.session is None:
        return
    records = runtime.make_safe()
    unsafe = [r for r in records if r.confirmed is False]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not session.config.getoption("--hil-quiet-pytest"):  # hilbench run prints them in its summary, once
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
        if not worker_id(config) and run_dir is not None and (run_dir / WORKERS_DIR).is_dir():
            _, notes = merge_worker_runs(run_dir)  # the xdist controller, its workers gone: one record stream
            for note in notes:
                log.warning(note)
    finally:
        uninstall_stop_handlers(config)


def write_line(config: pytest.Config):
    def say(message: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message)
        else:
            print(message)

    return say


def uncaptured(config: pytest.Config):
    """A context in which output reaches the terminal although a check (inside a test) is running."""

    def context():
        capture = config.pluginmanager.get_plugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()

    return context


def progress_sayer(config: pytest.Config):
    """Where checks and the strategy say what they are doing: the run's progress display."""

    def say(message: str) -> None:
        config.stash[RUNTIME_KEY].progress.phase(message)

    return say
