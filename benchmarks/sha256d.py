"""SHA-256d scan throughput: hilbench's scanner vs a plain hashlib loop, measured in one run.

Prints hashes/s of ``scan`` on one core and on all cores, and of the baseline
``hashlib.sha256(hashlib.sha256(h).digest())`` loop (fixed header, nothing else in the loop,
i.e. the cheapest possible Python loop).  Goals (issue 2): scan >= baseline per core;
all cores >= 1.8x one core on a 2-core machine.

    python benchmarks/sha256d.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

from hilbench.hashing import sha256d as core

HEADER = bytes.fromhex(
    "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1e"
    "b942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695"
)


def rate_of(work, seconds: float) -> float:
    """Repeat ``work`` (returns hashes done) for about ``seconds``; best of the repeats, hashes/s."""
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        done = work()
        best = max(best, done / (time.perf_counter() - t0))
    return best


def baseline(n: int = 200_000) -> int:
    sha = hashlib.sha256
    h = HEADER
    for _ in range(n):
        sha(sha(h).digest()).digest()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    target = 0  # nothing qualifies: measures pure hashing, no result building
    chunk = 4_000_000 if core.BACKEND == "native" else 200_000

    plain = rate_of(baseline, args.seconds)
    one = rate_of(lambda: len(core.scan(HEADER, 0, chunk, target)) + chunk, args.seconds)
    every = rate_of(
        lambda: len(core.scan(HEADER, 0, chunk * cores, target, workers=cores)) + chunk * cores, args.seconds
    )
    print(f"scanner backend       : {core.BACKEND}")
    print(f"cores                 : {cores}")
    print(f"hashlib loop, 1 core  : {plain / 1e6:8.3f} MH/s   (baseline)")
    print(f"scan, 1 core          : {one / 1e6:8.3f} MH/s   ({one / plain:.2f}x baseline; goal >= 1.00x)")
    print(
        f"scan, {cores} cores         : {every / 1e6:8.3f} MH/s   ({every / one:.2f}x one core; "
        f"goal >= 1.8x on 2 cores)"
    )


if __name__ == "__main__":
    main()
