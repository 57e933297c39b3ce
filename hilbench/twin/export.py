"""A twin's simulated responses as a model file for ``hilbench validate-model`` (the format a vendor's PSCAD or
PSS/E export is asked for; hilbench.pq.model_file reads it).

One row per sample: ``event`` (the check id of the run's event), ``time_s`` (seconds from the event: the
command or the grid's step), ``p_w`` and ``q_w`` (the twin's displacement reactive power).  ``.csv`` or ``.npz``
(arrays ``event``, ``time_s``, ``p_w``, ``q_w``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hilbench.twin.fit import FitResult
from hilbench.twin.procedures import event_time


def response_rows(result: FitResult) -> dict[str, np.ndarray]:
    pf = float(result.model.value("psu_spectrum")["displacement_pf"]) if result.spectrum is not None else 1.0
    events, times, p, q = [], [], [], []
    for r in result.responses:
        sim = result.simulated[r.check]
        zero = event_time(r)
        events += [r.check] * sim.size
        times.append(r.time - zero)
        p.append(sim)
        q.append(sim * np.tan(np.arccos(min(max(pf, 1e-6), 1.0))))
    return {
        "event": np.array(events, dtype=str),
        "time_s": np.concatenate(times) if times else np.zeros(0),
        "p_w": np.concatenate(p) if p else np.zeros(0),
        "q_w": np.concatenate(q) if q else np.zeros(0),
    }


def write_response_file(result: FitResult, path: Path) -> Path:
    rows = response_rows(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npz":
        np.savez_compressed(path, **rows)
        return path
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: a model response file is .csv or .npz")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event", "time_s", "p_w", "q_w"])
        for event, t, p, q in zip(rows["event"], rows["time_s"], rows["p_w"], rows["q_w"], strict=True):
            writer.writerow([event, f"{t:.6f}", f"{p:.3f}", f"{q:.3f}"])
    return path
