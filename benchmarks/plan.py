"""Wall time of the full MW2MH plan on the default emulated bench at the plan's CI time scale.

Goal (issue 5): <= 60 s on a 2-core machine, including 10 minutes of plant time for flicker.
Also prints the plant time the run covered, so the speed-up over real time is visible.

    python benchmarks/plan.py [--time-scale 50]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "hilbench.cli",
            "run",
            str(ROOT / "test_plans" / "mw2mh_100kw.yaml"),
            "--report",
            tmp,
        ]
        if args.time_scale:
            command += ["--time-scale", str(args.time_scale)]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        records = [json.loads(line) for line in (Path(tmp) / "measurements.jsonl").read_text().splitlines()]
    scale = next((r.get("time_scale") for r in records if r["record"] == "run_start"), None)
    checks = {r["check"] for r in records if r["record"] == "measurement"}
    print(
        f"MW2MH plan, {len(checks)} checks, time scale {scale}: {wall:.1f} s wall "
        f"(exit {result.returncode}; goal <= 60 s)"
    )


if __name__ == "__main__":
    main()
