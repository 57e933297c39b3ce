"""The run's record, written as it happens: one JSON line per measurement, flushed and fsync'd at once,
raw captures saved beside it.  A crash or a kill keeps everything measured so far."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hilbench.core.measurement import Measurement


def safe_file_name(text: str) -> str:
    """A file name that stays inside the run directory whatever a plan's ids or names contain."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip(".")
    return name or "_"


class RecordWriter:
    """Writes the run's record stream (not to be confused with the bench's ``recorder`` role, a waveform recorder)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        (self.run_dir / "raw").mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / "measurements.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self.measurements: list[Measurement] = []
        #: called with each record once it is on disk (the live results store); must not block or raise
        self.listeners: list[Callable[[dict], None]] = []

    def _write(self, record: dict) -> None:
        line = json.dumps(record, default=_jsonable, allow_nan=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        if self.listeners:
            written = json.loads(line)  # as a reader of the file will see it (the run's key is hashed from this)
            for listener in self.listeners:
                listener(written)

    def event(self, kind: str, **fields) -> None:
        """Run-level records: run start, declared limits, bench identities, check start/end."""
        self._write({"record": kind, "wall_time": time.time(), **fields})

    def record(self, measurement: Measurement) -> Measurement:
        self.measurements.append(measurement)
        self._write({"record": "measurement", "wall_time": time.time(), **measurement.as_dict()})
        return measurement

    def save_raw(self, check: str, name: str, **arrays) -> str:
        """Save arrays as .npz beside the record; returns the path relative to the run directory."""
        relative = Path("raw") / f"{safe_file_name(f'{check}-{name}')}.npz"
        np.savez_compressed(self.run_dir / relative, **{k: np.asarray(v) for k, v in arrays.items()})
        return str(relative)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return str(value)


def read_records(path: Path) -> tuple[list[dict], str]:
    """Every record of a run's ``measurements.jsonl`` and a note on what could not be read.  A last line cut short
    by a killed run (no newline, not JSON) is reported, not fatal: every record before it is complete (each one was
    flushed and fsync'd as it was written)."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    records, note = [], ""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            last = number == len(lines) or all(not rest.strip() for rest in lines[number:])
            if last and not text.endswith("\n"):
                note = f"{path}:{number}: the last record was cut short (the run was killed while writing it)"
            else:
                note = f"{path}:{number}: a record that is not JSON was skipped"
    return records, note
