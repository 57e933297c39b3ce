"""A bench shared through labgrid's coordinator (``--bench labgrid:PLACE``): a local coordinator, a place whose
``bench`` tag names the bench file, a plan run on it while hilbench holds the place, and the refusals.

Needs labgrid, so `.ci/run` runs it in the environment that has labgrid installed
(``HILBENCH_LABGRID_TESTS=1 pytest tests/labgrid -p no:labgrid -p no:pytest_embedded``); the main suite does not
collect it (tests/conftest.py)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory):
    port = _free_port()
    state = tmp_path_factory.mktemp("coordinator")  # it keeps places.yaml and resources.yaml in its directory
    proc = subprocess.Popen([str(BIN / "labgrid-coordinator"), "--listen", f"127.0.0.1:{port}"], cwd=state,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def client(coordinator, place, *args, user=None):
    env = {**os.environ, **({"LG_USERNAME": user} if user else {})}
    return subprocess.run([str(BIN / "labgrid-client"), "-x", coordinator, "-p", place, *args],
                          capture_output=True, text=True, env=env, timeout=30)  # fmt: skip


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory) -> str:
    """The default emulated bench, its boards on a loopback block of their own (runs beside the main suite)."""
    text = (
        (ROOT / "instruments" / "emulated.yaml")
        .read_text()
        .replace("address_base: 127.0.0.2", "address_base: 127.0.52.2")
    )
    path = tmp_path_factory.mktemp("bench") / "labgrid-bench.yaml"
    path.write_text(text)
    return str(path)


def run(coordinator, place, report, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "-k", "boot",
         "--bench", f"labgrid:{place}", "--report", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        env={**os.environ, "LG_COORDINATOR": coordinator}, **kw,
    )  # fmt: skip


def run_watching_the_place(coordinator, place, target, report) -> tuple[int, str, bool]:
    """Run the plan on ``--bench labgrid:TARGET``; (exit code, output, whether ``place`` was held meanwhile)."""
    proc = run(coordinator, target, report)
    held = False
    while proc.poll() is None:
        held = held or "acquired: None" not in client(coordinator, place, "show").stdout
        time.sleep(0.3)
    return proc.returncode, proc.stdout.read(), held


def test_a_plan_runs_on_a_bench_held_through_the_coordinator(coordinator, bench_file, tmp_path):
    assert client(coordinator, "power-bench-1", "create").returncode == 0
    assert client(coordinator, "power-bench-1", "set-tags", f"bench={bench_file}").returncode == 0
    code, out, held = run_watching_the_place(coordinator, "power-bench-1", "power-bench-1", tmp_path / "run")
    assert code == 0 and "PLAN PASSED" in out, out[-3000:]
    assert held  # the place was held while the plan ran
    assert "acquired: None" in client(coordinator, "power-bench-1", "show").stdout  # and released after
    start = json.loads((tmp_path / "run" / "measurements.jsonl").read_text().splitlines()[0])
    assert start["labgrid_place"] == "power-bench-1" and start["bench_file"] == bench_file


def test_a_place_someone_else_holds_is_refused_before_anything_starts(coordinator, bench_file, tmp_path):
    assert client(coordinator, "power-bench-2", "create").returncode == 0
    assert client(coordinator, "power-bench-2", "set-tags", f"bench={bench_file}").returncode == 0
    taken = client(coordinator, "power-bench-2", "acquire", user="colleague")
    assert taken.returncode == 0 and "Error" not in taken.stdout + taken.stderr
    proc = run(coordinator, "power-bench-2", tmp_path / "run")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "already acquired by" in out and "colleague" in out, out[-2000:]
    records = tmp_path / "run" / "measurements.jsonl"
    assert not records.exists() or '"check_start"' not in records.read_text()


def test_a_place_without_a_bench_tag_says_how_to_give_it_one(coordinator, tmp_path):
    assert client(coordinator, "bare-bench", "create").returncode == 0
    proc = run(coordinator, "bare-bench", tmp_path / "run")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "has no 'bench' tag" in out and "set-tags bench=" in out, out[-2000:]
    assert "acquired: None" in client(coordinator, "bare-bench", "show").stdout  # released again


def test_any_free_bench_with_the_tags_is_reserved_held_and_given_back(coordinator, bench_file, tmp_path):
    """--bench labgrid:TAG=VALUE: the coordinator allocates a free place with the tags (labgrid-client reserve),
    hilbench holds it through the reservation for the run, then releases it and cancels the reservation."""
    assert client(coordinator, "power-bench-3", "create").returncode == 0
    tags = client(coordinator, "power-bench-3", "set-tags", f"bench={bench_file}", "kind=ac-power")
    assert tags.returncode == 0
    code, out, held = run_watching_the_place(coordinator, "power-bench-3", "kind=ac-power", tmp_path / "run")
    assert code == 0 and "PLAN PASSED" in out, out[-3000:]
    assert held
    assert "acquired: None" in client(coordinator, "power-bench-3", "show").stdout
    start = json.loads((tmp_path / "run" / "measurements.jsonl").read_text().splitlines()[0])
    assert start["labgrid_place"] == "power-bench-3" and start["labgrid_reserved_by"] == "kind=ac-power"
    left = subprocess.run([str(BIN / "labgrid-client"), "-x", coordinator, "reservations"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert "Reservation" not in left.stdout, left.stdout  # cancelled


def test_a_reservation_no_place_can_serve_is_given_up_with_the_tags_named(coordinator, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "-k", "boot",
         "--bench", "labgrid:kind=no-such-bench", "--report", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        env={**os.environ, "LG_COORDINATOR": coordinator, "HILBENCH_LABGRID_RESERVE_WAIT_S": "3"},
    )  # fmt: skip
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "no free place with tags kind=no-such-bench within 3 s" in out, out[-2000:]
    left = subprocess.run([str(BIN / "labgrid-client"), "-x", coordinator, "reservations"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert "no-such-bench" not in left.stdout, left.stdout  # the waiting reservation was cancelled
