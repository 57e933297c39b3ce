"""One run directory from several pytest-xdist workers: each worker records into ``workers/<id>/`` (its own
measurements.jsonl and raw/), and the controller merges them into the run's ``measurements.jsonl`` at the end,
in wall-time order, each record tagged with its worker and its raw paths made relative to the run directory.
allure results and the JUnit file are one set already (allure writes uniquely named files; xdist reports every
test to the controller, which writes the JUnit file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hilbench.report.record_writer import read_records

WORKERS_DIR = "workers"


def worker_run_dir(run_dir: Path, worker_id: str) -> Path:
    return Path(run_dir) / WORKERS_DIR / worker_id


def _rebased(record: dict, worker_id: str) -> dict:
    out = dict(record, worker=worker_id)
    for key in ("raw", "file"):  # a measurement's raw data, a chart's PNG
        if isinstance(out.get(key), str) and out[key]:
            out[key] = f"{WORKERS_DIR}/{worker_id}/{out[key]}"
    return out


def merge_worker_runs(run_dir: Path) -> tuple[int, list[str]]:
    """Write ``run_dir/measurements.jsonl`` from every worker's records; returns (records, notes about torn files)."""
    run_dir = Path(run_dir)
    merged, notes = [], []
    for worker in sorted((run_dir / WORKERS_DIR).glob("*/measurements.jsonl")):
        worker_id = worker.parent.name
        records, note = read_records(worker)
        if note:
            notes.append(note)
        merged.extend(_rebased(r, worker_id) for r in records)
    merged.sort(key=lambda r: r.get("wall_time", 0.0))
    target = run_dir / "measurements.jsonl"
    with open(target, "w", encoding="utf-8") as out:
        for record in merged:
            out.write(json.dumps(record) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return len(merged), notes
