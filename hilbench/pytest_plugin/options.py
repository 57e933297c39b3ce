"""The plugin's command-line options (``--bench``, ``--time-scale``, ``--inject-fault``, ...)."""

from __future__ import annotations

import pytest

from hilbench.plans.plan import DEFAULT_TIME_SCALE
from hilbench.pytest_plugin.progress import MODES as PROGRESS_MODES
from hilbench.spec.bench_file import DEFAULT_BENCH


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
        help=f"plant time scale of an emulated bench (default: the plan's ci_time_scale, else {DEFAULT_TIME_SCALE:g})",
    )
    group.addoption(
        "--accept-overdue-calibration",
        action="store_true",
        default=False,
        help="run although an instrument's calibration is past due (recorded and printed on every report)",
    )
    group.addoption(
        "--accept-unverified",
        action="append",
        default=[],
        metavar="ROLE:FEATURE",
        help="run although ROLE:FEATURE was not verified by hilbench bench probe on this instrument (recorded)",
    )
    group.addoption(
        "--inject-fault",
        action="append",
        default=[],
        metavar="ROLE:KIND[@SECONDS]",
        help="emulated bench only: inject a fault at SECONDS of plant time (see hilbench.spec.fault_spec)",
    )
    group.addoption(
        "--hil-address-base",
        action="store",
        default=None,
        metavar="ADDRESS",
        help="emulated bench only: first loopback address of its LuxOS boards (default: the bench file's; with -n, "
        "127.(10+i).0.2 for worker i)",
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
        "--hil-quiet-pytest",
        action="store_true",
        default=False,
        help="leave pytest's own progress letters, summary line and safe-state lines out: the caller (hilbench run) "
        "prints its own table, safe states and verdict",
    )
    group.addoption(
        "--hil-live-db",
        action="store",
        default=None,
        metavar="URL",
        help="index the run into this results store record by record while it runs, for `hilbench serve`'s live view",
    )
    group.addoption(
        "--hil-report",
        action="store",
        default=None,
        metavar="DIR",
        help="run directory for measurements.jsonl and raw data (default: reports/<time>)",
    )
