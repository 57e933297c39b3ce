"""Parallel runs (pytest-xdist): each worker its own bench, one run directory, one record stream; benches leased
from a pool by a lock the operating system releases when the holder dies."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hilbench.bench.pool import PoolError, lease_bench, read_pool, worker_address_base
from tests.conftest import ROOT


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "measurements.jsonl").read_text().splitlines()]


def test_each_worker_gets_its_own_loopback_block():
    assert worker_address_base(0) == "127.10.0.2" and worker_address_base(3) == "127.13.0.2"
    with pytest.raises(PoolError):
        worker_address_base(250)


def _pool(tmp_path) -> Path:
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text("bench: x\n")
    pool = tmp_path / "pool.yaml"
    pool.write_text("benches: [a.yaml, b.yaml]\n")
    return pool


def test_a_pool_leases_each_bench_once_and_names_the_holders(tmp_path):
    benches = read_pool(_pool(tmp_path))
    first, second = lease_bench(benches, worker="gw0"), lease_bench(benches, worker="gw1")
    assert {first.bench_file.name, second.bench_file.name} == {"a.yaml", "b.yaml"}
    with pytest.raises(PoolError, match=r"every bench of the pool is leased: a.yaml \(pid \d+ worker gw0"):
        lease_bench(benches, worker="gw2")
    first.release()
    assert lease_bench(benches, worker="gw2").bench_file.name == "a.yaml"
    with pytest.raises(PoolError, match="a bench pool is a mapping with 'benches'"):
        bad = tmp_path / "bad.yaml"
        bad.write_text("- a.yaml\n")
        read_pool(bad)


def test_the_lease_of_a_killed_process_is_reclaimed(tmp_path):
    pool = _pool(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from hilbench.bench.pool import lease_bench, read_pool; "
         f"l = lease_bench(read_pool({str(pool)!r})[:1], worker='gw9'); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    benches = read_pool(pool)[:1]
    with pytest.raises(PoolError, match="worker gw9"):
        lease_bench(benches)
    os.kill(holder.pid, signal.SIGKILL)  # no release, no clean-up: the OS drops the lock with the process
    holder.wait(timeout=10)
    deadline = time.monotonic() + 5
    while True:
        try:
            lease = lease_bench(benches, worker="gw0")
            break
        except PoolError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert lease.bench_file.name == "a.yaml"
