"""``hilbench emulate --workers K``: a site larger than one process serves, as K emulator processes.

One Python process serves about 1,500 boards polled every 2 s (docs/scaling.md); beyond that the site is split
over K processes, each a ``hilbench emulate`` of its own: its share of the boards on its own /16 of loopback
(the base address + k x 65,536), its own instruments on free ports, and its own plant, i.e. each process is one
container with its own controller (a real site of 1.5 MW is several containers too).  Dispatching the K
containers as one resource is the site controller's job, which this does not emulate.

``--export-pool POOL.yaml`` writes each container's bench file beside the pool (``POOL-1.yaml`` ...) and the pool
listing them, so ``hilbench run PLAN -n K --bench-pool POOL.yaml`` runs a plan on every container at once.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from hilbench.spec.bench_file import BenchFileError, load_bench

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
BLOCK = 65_536  # one /16 of loopback per process
STOP_GRACE_S = 20.0
_STDOUT = threading.Lock()  # one relay thread per worker: whole lines, never two interleaved


def _say(record: dict) -> None:
    with _STDOUT:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def split_boards(total: int, workers: int) -> list[int]:
    """``total`` boards over ``workers`` processes, as even as whole boards allow (the first ones take one more)."""
    share, extra = divmod(total, workers)
    return [share + (1 if k < extra else 0) for k in range(workers)]


def worker_base(base: str, index: int) -> str:
    """Worker ``index``'s first board address: ``base`` moved ``index`` /16 blocks up, still on loopback."""
    address = ipaddress.IPv4Address(base) + index * BLOCK
    if address not in LOOPBACK:
        raise BenchFileError(f"--workers: worker {index + 1}'s boards would start at {address}, outside 127/8")
    return str(address)


def _first_group(bench_path: Path) -> tuple[str, int]:
    from hilbench.emulation.site_config import emulated_site_config

    config = emulated_site_config(load_bench(bench_path))
    luxos = [g for g in config.groups if g.protocol == "luxos" and g.role == "boards"]
    if not luxos:
        raise BenchFileError(f"{bench_path}: --workers needs LuxOS boards in roles.boards.emulated.groups")
    return luxos[0].address_base, sum(g.count for g in luxos)


class _Worker:
    def __init__(self, index: int, command: list[str]) -> None:
        self.index = index
        self.ready = threading.Event()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        threading.Thread(target=self._relay, name=f"emulate-worker-{index}", daemon=True).start()
        threading.Thread(target=self._collect_errors, daemon=True).start()

    def _relay(self) -> None:
        """The worker's endpoint lines, tagged with the worker, on this process's stdout."""
        for line in self.process.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("ready"):
                self.ready.set()
                continue
            _say({**record, "worker": self.index})

    def _collect_errors(self) -> None:
        for line in self.process.stderr:
            self.stderr = [*self.stderr[-19:], line.rstrip()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def run_workers(args, stop: threading.Event) -> int:
    """Start ``args.workers`` emulator processes, relay their endpoints, write the pool, serve until stopped."""
    base, bench_boards = _first_group(args.bench)
    total = args.boards if args.boards is not None else bench_boards
    if args.workers > total:
        raise BenchFileError(f"--workers {args.workers}: more processes than boards ({total})")
    base = args.address_base or base
    pool = Path(args.export_pool) if args.export_pool else None
    exported = []
    workers = []
    try:
        for k, count in enumerate(split_boards(total, args.workers)):
            command = [sys.executable, "-m", "hilbench.cli", "emulate", "--bench", str(args.bench)]
            command += ["--boards", str(count), "--time-scale", repr(args.time_scale)]
            command += ["--address-base", worker_base(base, k)]
            if args.duration is not None:
                command += ["--duration", repr(args.duration)]
            for fault in args.inject_fault or ():
                command += ["--inject-fault", fault.describe()]
            if pool is not None:
                exported.append(pool.with_name(f"{pool.stem}-{k + 1}{pool.suffix or '.yaml'}"))
                command += ["--export-bench", str(exported[-1])]
            workers.append(_Worker(k + 1, command))
        for worker in workers:
            while not worker.ready.wait(0.2):
                if worker.process.poll() is not None or stop.is_set():
                    return _failed(worker) if not stop.is_set() else 0
        if pool is not None:
            pool.write_text(
                "# Written by `hilbench emulate --workers`: valid while those emulators run.\n"
                + yaml.safe_dump({"benches": [p.name for p in exported]}, sort_keys=False),
                encoding="utf-8",
            )
        _say({"ready": True, "workers": len(workers), "boards": total})
        while not stop.wait(0.5):
            ended = [w for w in workers if w.process.poll() is not None]
            if ended:
                finished = all(w.process.returncode == 0 for w in ended) and args.duration is not None
                return 0 if finished else _failed(ended[0])
        return 0
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.wait()


def _failed(worker: _Worker) -> int:
    tail = "; ".join(worker.stderr[-3:]) or f"exit code {worker.process.returncode}"
    print(f"hilbench emulate: worker {worker.index} stopped: {tail}", file=sys.stderr, flush=True)
    return 1
