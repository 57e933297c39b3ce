"""Benches for parallel runs (pytest-xdist): each worker gets a bench of its own.

* A pool file (``--bench-pool FILE``) lists bench files; a worker leases the first one no other process holds.
  The lease is an exclusive ``flock`` on ``<bench file>.lease``: released on every exit path, and by the operating
  system when the holder dies (SIGKILL, power loss), so a stale lease of a dead process is reclaimed by the next
  run without anyone deleting anything.  The lease file names its holder (pid, worker, host) for people.
* Without a pool, an emulated bench is started once per worker, its LuxOS boards moved to a loopback block of
  the worker's own (the other emulators listen on free ports already).

    # bench-pool.yaml
    benches: [instruments/lab-a.yaml, instruments/lab-b.yaml]
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

from hilbench.spec.bench_file import BenchFileError


class PoolError(BenchFileError):
    """A pool file that cannot be used, or no bench left to lease."""


def worker_index(worker_id: str | None) -> int:
    """0 for the controller or ``gw0``, k for ``gwk``."""
    if not worker_id or not worker_id.startswith("gw"):
        return 0
    try:
        return int(worker_id[2:])
    except ValueError:
        return 0


def worker_address_base(index: int, base: str | None = None) -> str:
    """The first LuxOS board address of worker ``index``'s emulated bench: a /16 of loopback each (127.(10 + index)
    .0.2, or ``index`` /16s above ``base``), so a 1,300-board site fits as well as a container."""
    first = ipaddress.IPv4Address(base or "127.10.0.2")
    address = first + index * 65536
    if index < 0 or address not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise PoolError(f"worker index {index}: its emulated bench would start at {address}, outside loopback 127/8")
    return str(address)


def read_pool(path: Path) -> list[Path]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PoolError(f"{path}: cannot read the bench pool: {exc}") from None
    benches = data.get("benches") if isinstance(data, dict) else None
    if not isinstance(benches, list) or not benches or not all(isinstance(b, str) for b in benches):
        raise PoolError(f"{path}: a bench pool is a mapping with 'benches': a list of bench file paths")
    base = Path(path).resolve().parent
    return [(base / b).resolve() if not Path(b).is_absolute() else Path(b) for b in benches]


@dataclass
class Lease:
    bench_file: Path
    _fd: int

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def lease_bench(pool: list[Path], *, worker: str = "") -> Lease:
    """Lease the first bench of ``pool`` nobody holds; PoolError when all are taken."""
    holders = []
    for bench_file in pool:
        lock = bench_file.with_name(bench_file.name + ".lease")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holders.append(f"{bench_file.name} ({os.pread(fd, 200, 0).decode(errors='replace').strip() or 'held'})")
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} worker {worker or '-'} host {socket.gethostname()}\n".encode(), 0)
        return Lease(bench_file, fd)
    raise PoolError(f"every bench of the pool is leased: {', '.join(holders)}")
