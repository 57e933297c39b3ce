"""Shared helpers for the test suite (not hardware fixtures; nothing autouse)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# Every `hilbench run` indexes its run into the results store ($HILBENCH_DB, else reports/hilbench.db): the suite's
# runs go to a store of their own, never into the checkout's reports/ (xdist workers inherit the controller's).
if "HILBENCH_DB" not in os.environ:
    os.environ["HILBENCH_DB"] = str(Path(tempfile.mkdtemp(prefix="hilbench-tests-")) / "hilbench.db")


def hilbench_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``hilbench ARGS`` in a subprocess from the repository root, as a lab engineer would type it."""
    return subprocess.run(
        [sys.executable, "-m", "hilbench.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


# ----- loopback blocks: one allocator for the whole suite, unique per xdist worker --------------------------------
# Emulated boards each listen on their own loopback address (pyasic dials port 4028 only).  Every test that starts
# boards takes its block here, so two tests (or two xdist workers) never bind the same address.  Worker k owns the
# second octets 100 + 50k .. 149 + 50k; each block is a /24 (253 boards) or more, handed out once per session.
# 127.10-127.99 stay free for what hilbench itself picks (``hilbench run -n N`` puts worker i on 127.(10 + i)).
_BLOCK_OCTETS_PER_WORKER = 50
_next_block = [0]


def worker_number() -> int:
    """0 outside xdist, k for xdist worker gwk."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def loopback_block(boards: int = 250) -> str:
    """The first address of a loopback block of this worker's that no other test of the session uses."""
    blocks = max(1, -(-(boards + 2) // 256))
    first = _next_block[0]
    _next_block[0] += blocks
    second = 100 + _BLOCK_OCTETS_PER_WORKER * worker_number() + first // 256
    if second + (first % 256 + blocks) // 256 >= 100 + _BLOCK_OCTETS_PER_WORKER * (worker_number() + 1):
        raise RuntimeError("this worker's loopback blocks are spent; raise _BLOCK_OCTETS_PER_WORKER")
    return f"127.{second}.{first % 256}.2"


@pytest.fixture
def loopback_base() -> str:
    """A loopback block of its own for this test's emulated boards (first address)."""
    return loopback_block()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): a connection there is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback_lab_bench(tmp_path: Path) -> Path:
    """instruments/lab-example.yaml with every network address moved to a refusing loopback port: a test of a real
    bench's paths never dials the example's lab addresses (nor any address off this machine)."""
    bench = yaml.safe_load((ROOT / "instruments" / "lab-example.yaml").read_text())
    port = closed_port()
    for spec in bench["roles"].values():
        address = str(spec["address"])
        if address.startswith("TCPIP"):
            spec["address"] = f"TCPIP0::127.0.0.1::{port}::SOCKET"
        elif address.startswith("tcp://"):
            spec["address"] = f"tcp://127.0.0.1:{port}"
        elif address[0].isdigit():  # the boards' IP range
            spec["address"] = "127.0.0.1"
    for permissive in bench.get("interlocks", {}).get("permissives", []):
        if "modbus" in permissive:
            permissive["modbus"]["address"] = f"tcp://127.0.0.1:{port}"
    path = tmp_path / "lab-on-loopback.yaml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    return path


EXAMPLE_MODEL = "example-el1000"  # the third-party instrument model in tests/thirdparty_model


@pytest.fixture(scope="session")
def example_installed() -> None:
    """The example third-party model is installed (the README's test command installs it)."""
    from importlib.metadata import entry_points

    if EXAMPLE_MODEL not in {ep.name for ep in entry_points(group="hilbench.drivers")}:
        pytest.fail("the example third-party model is not installed: pip install ./tests/thirdparty_model")


@pytest.fixture(scope="session")
def bitcoin_vectors() -> dict:
    return json.loads((ROOT / "fixtures" / "bitcoin_vectors.json").read_text())


# tests/labgrid needs labgrid, which the suite's environment does not have (it cannot share it with
# pytest-embedded); `.ci/run` runs it in its own environment with HILBENCH_LABGRID_TESTS=1.
collect_ignore = [] if os.environ.get("HILBENCH_LABGRID_TESTS") else ["labgrid"]


@contextlib.contextmanager
def scpi_served(device):
    """``device`` (an emulated SCPI instrument) on its own loopback socket, reached through plain pyvisa as a lab PC
    would: yields the open resource; the server stops on exit."""
    import pyvisa

    from hilbench.emulation.scpi_server import ScpiSocketServer
    from hilbench.emulation.tcp_server import EventLoopThread

    loop = EventLoopThread()
    server = ScpiSocketServer(device, "127.0.0.1", 0)
    loop.call(server.start())
    resource = pyvisa.ResourceManager("@py").open_resource(
        f"TCPIP0::127.0.0.1::{server.port}::SOCKET", read_termination="\n", write_termination="\n", timeout=5000
    )
    try:
        yield resource
    finally:
        resource.close()
        loop.call(server.stop())
        loop.close()


# ----- a real PostgreSQL server for the results store's tests (one per test session and xdist worker) -------------
@pytest.fixture(scope="session")
def postgres_server():
    """$HILBENCH_TEST_POSTGRES, else a private server started from the distribution's binaries (tests/store_support)."""
    from tests.store_support import PostgresServer

    given = os.environ.get("HILBENCH_TEST_POSTGRES")
    if given:
        yield given
        return
    try:
        server = PostgresServer()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server.start()
    finally:
        server.stop()
