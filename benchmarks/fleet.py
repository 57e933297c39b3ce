"""Fleet emulation: a site of N LuxOS boards (each on its own loopback address) served by `hilbench emulate`, asked
the way a site controller and pyasic ask.  The baseline, measured in the same run, is the 30-board container.

Prints, per site size: start-up time (process start to "ready"), resident memory per board, then
  * raw cgminer `summary` to every board, spread evenly over 2 s: answered, p50/p99/max latency, emulator cores;
  * unmodified pyasic at 16 concurrent: boards detected (get_miner) and read (get_data), get_data p50/p99.
Goals (the scale issue): every board detected and read; raw p99 <= 50 ms at <= 1 core; pyasic get_data
p99 <= 500 ms; start-up <= 10 s.

    python benchmarks/fleet.py [--boards 1300] [--baseline 30] [--skip-pyasic] [--workers K] [--spread 2]

With ``--workers K`` the site is served by K emulator processes (``hilbench emulate --workers K``), and CPU and
memory are summed over them; ``--spread`` is the time the raw summaries are spread over (a site poll period).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def emulator_pids(pid: int) -> list[int]:
    """The emulator process and, with --workers, its worker processes."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [pid, *(int(c) for c in f.read().split())]
    except OSError:
        return [pid]


def start_site(boards: int, address_base: str, workers: int = 1) -> tuple[subprocess.Popen, list[str], float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "emulate", "--boards", str(boards), "--time-scale", "1",
         "--address-base", address_base, "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )  # fmt: skip
    hosts = []
    try:
        for line in proc.stdout:
            entry = json.loads(line)
            if entry.get("ready"):
                break
            if entry.get("protocol") == "luxos-cgminer-rpc":
                hosts.append(entry["address"].rsplit(":", 1)[0])
        else:
            raise RuntimeError(f"the emulator stopped before it was ready (exit code {proc.wait()})")
    except BaseException:
        proc.terminate()  # never leave a site (and its workers) running behind a failed start
        proc.wait(timeout=60)
        raise
    return proc, hosts, time.monotonic() - started


async def summary(host: str) -> float | None:
    t0 = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, 4028), 5)
        writer.write(b'{"command":"summary"}')
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        json.loads(data.rstrip(b"\x00"))
    except (OSError, TimeoutError, ValueError):
        return None
    return time.perf_counter() - t0


async def spread_summaries(hosts: list[str], over_s: float) -> list[float | None]:
    async def one(i: int, host: str):
        await asyncio.sleep(over_s * i / len(hosts))
        return await summary(host)

    return await asyncio.gather(*(one(i, h) for i, h in enumerate(hosts)))


async def pyasic_poll(hosts: list[str], concurrent: int) -> tuple[int, list[float]]:
    import pyasic

    gate = asyncio.Semaphore(concurrent)
    latencies: list[float] = []

    async def one(host: str) -> bool:
        async with gate:
            miner = await pyasic.get_miner(host)
            if miner is None:
                return False
            t0 = time.perf_counter()
            data = await miner.get_data()
            latencies.append(time.perf_counter() - t0)
            return data.hashrate is not None

    results = await asyncio.gather(*(one(h) for h in hosts), return_exceptions=True)
    return sum(r is True for r in results), latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def measure(boards: int, address_base: str, skip_pyasic: bool, workers: int = 1, spread_s: float = 2.0) -> None:
    proc, hosts, startup = start_site(boards, address_base, workers)
    try:
        time.sleep(1.0)
        pids = emulator_pids(proc.pid)
        memory = sum(rss_mb(p) for p in pids)
        cpu0, wall0 = sum(cpu_seconds(p) for p in pids), time.monotonic()
        latencies = asyncio.run(spread_summaries(hosts, spread_s))
        cores = (sum(cpu_seconds(p) for p in pids) - cpu0) / (time.monotonic() - wall0)
        ok = [v * 1000 for v in latencies if v is not None]
        per_board_kb = memory / boards * 1000
        processes = f" in {workers} processes" if workers > 1 else ""
        print(f"{boards:5d} boards{processes}: start-up {startup:5.1f} s, RSS {memory:6.0f} MB "
              f"({per_board_kb:5.0f} kB/board)")  # fmt: skip
        worst = max(ok, default=float("nan"))
        print(f"             raw summary over {spread_s:g} s: {len(ok)}/{len(hosts)} answered, "
              f"p50 {pct(ok, 50):6.1f} ms, p99 {pct(ok, 99):7.1f} ms, max {worst:7.1f} ms, "
              f"emulator {cores:4.2f} cores")  # fmt: skip
        if not skip_pyasic:
            cpu0, wall0 = sum(cpu_seconds(p) for p in pids), time.monotonic()
            read, lat = asyncio.run(pyasic_poll(hosts, 16))
            seconds = time.monotonic() - wall0
            cores = (sum(cpu_seconds(p) for p in pids) - cpu0) / seconds
            ms = [v * 1000 for v in lat]
            print(f"             pyasic at 16 concurrent: {read}/{len(hosts)} detected and read in {seconds:5.1f} s,")
            print(f"{'':13}get_data p50 {pct(ms, 50):6.1f} ms, p99 {pct(ms, 99):7.1f} ms, emulator {cores:4.2f} cores")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=1300)
    parser.add_argument("--baseline", type=int, default=30)
    parser.add_argument("--skip-pyasic", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="emulator processes for the site (not the baseline)")
    parser.add_argument("--spread", type=float, default=2.0, help="seconds the raw summaries are spread over")
    args = parser.parse_args()
    print(f"fleet emulation, {os.cpu_count()} cores; baseline {args.baseline} boards, then {args.boards}")
    measure(args.baseline, "127.0.70.2", args.skip_pyasic, spread_s=args.spread)
    measure(args.boards, "127.0.80.2", args.skip_pyasic, workers=args.workers, spread_s=args.spread)


if __name__ == "__main__":
    main()
