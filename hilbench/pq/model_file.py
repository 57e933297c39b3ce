"""A vendor's simulated response (a PSCAD or PSS/E export, or ``hilbench fit --export-response``) as read by
``hilbench validate-model`` and the ``validate_model`` check.

Format: ``.csv`` with a header line, or ``.npz`` with one array per column.  Columns: ``time_s`` (seconds from the
event: the model's event is at 0), ``p_w`` (active power, W), optionally ``q_w`` (reactive power, var), ``v_pu``
and ``f_hz`` (the model's own terminal voltage and frequency, shown beside the measured ones), and ``event``
(which of the run's events the row answers: the check id) when the file holds more than one event.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED = ("time_s", "p_w")
OPTIONAL = ("q_w", "v_pu", "f_hz", "event")


class ModelFileError(ValueError):
    """A model file that cannot be read; names the file and, for CSV, the line."""


@dataclass(frozen=True)
class ModelResponse:
    event: str  # the run's check id ("" when the file holds one unnamed event)
    time_s: np.ndarray
    p_w: np.ndarray
    q_w: np.ndarray | None = None
    v_pu: np.ndarray | None = None
    f_hz: np.ndarray | None = None


def read_model_file(path: Path) -> dict[str, ModelResponse]:
    """Every event's response in the file, by event name, each in time order."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    columns = _read_npz(path) if path.suffix.lower() == ".npz" else _read_csv(path)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ModelFileError(f"{path}: missing column(s) {', '.join(missing)}; a model file has time_s, p_w "
                             f"[, q_w, v_pu, f_hz, event]")  # fmt: skip
    events = columns.get("event")
    names = np.array([""] * len(columns["time_s"])) if events is None else np.asarray(events, dtype=str)
    out = {}
    for name in dict.fromkeys(names.tolist()):
        rows = names == name
        order = np.argsort(np.asarray(columns["time_s"], dtype=float)[rows], kind="stable")

        def column(key: str, rows=rows, order=order) -> np.ndarray | None:
            return None if key not in columns else np.asarray(columns[key], dtype=float)[rows][order]

        time = column("time_s")
        if time.size < 2 or np.any(np.diff(time) <= 0):
            raise ModelFileError(f"{path}: event {name or '(unnamed)'}: time_s must hold two or more distinct times")
        out[name] = ModelResponse(name, time, column("p_w"), column("q_w"), column("v_pu"), column("f_hz"))
    return out


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable .npz: {exc}") from None


def _read_csv(path: Path) -> dict[str, list]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ModelFileError(f"{path}: empty file; a model file starts with a header line") from None
        unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
        if unknown:
            raise ModelFileError(f"{path}:1: unknown column(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(REQUIRED + OPTIONAL)}")  # fmt: skip
        columns: dict[str, list] = {h: [] for h in header}
        for number, row in enumerate(reader, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ModelFileError(f"{path}:{number}: {len(row)} cells, the header has {len(header)}")
            for name, cell in zip(header, row, strict=True):
                if name == "event":
                    columns[name].append(cell.strip())
                    continue
                try:
                    value = float(cell)
                except ValueError:
                    raise ModelFileError(f"{path}:{number}: {name} {cell!r} is not a number") from None
                if not np.isfinite(value):
                    raise ModelFileError(f"{path}:{number}: {name} is {cell.strip()}: not a finite number")
                columns[name].append(value)
    return columns
