"""Grid trajectories: voltage and frequency against time, as a plan writes them or a fault recorder exported them,
and the dwell-paced steps a grid source's list mode plays.

A programmable source plays a list of (dwell, volts, hertz) points; a recording has thousands of samples and a
source's list holds a few dozen (the Sequoia's 32, its manual p.164).  ``staircase`` merges consecutive samples
whose voltage and frequency stay within a tolerance of one level (the midrange of the samples it covers), so the
played steps never lie further than the tolerance from the recording, and says how far they did lie; a recording
that still needs more points than the source holds is refused by the check, never thinned beyond the tolerance.
Ramps (e.g. 3 Hz/s) are written as such staircases too, with the step the plan gives.

No instrument here: the plan loader validates a recording before anything runs, the checks build steps from it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIME = "time_s"
VOLTAGE_COLUMNS = ("voltage_pu", "voltage_v")
FREQUENCY = "frequency_hz"


class TrajectoryError(ValueError):
    """A recording or a trajectory that cannot be played; the message names the file and line."""


@dataclass(frozen=True)
class Recording:
    """Samples of a disturbance: each value holds from its time until the next sample's (the last one for the
    median sample interval).  Voltage is in pu of nominal or in volts (``voltage_unit``); frequency may be absent
    (nominal throughout)."""

    source: str
    time_s: np.ndarray  # from 0 (the first sample)
    voltage: np.ndarray
    voltage_unit: str  # "pu" or "V"
    frequency_hz: np.ndarray | None

    def voltage_pu(self, nominal_v: float) -> np.ndarray:
        return self.voltage if self.voltage_unit == "pu" else self.voltage / nominal_v

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] + self.last_dwell_s)

    @property
    def last_dwell_s(self) -> float:
        return float(np.median(np.diff(self.time_s))) if len(self.time_s) > 1 else 1.0


@dataclass(frozen=True)
class Step:
    """One list point: a level held for ``dwell_s`` from ``start_s`` (seconds from the trajectory's start)."""

    start_s: float
    dwell_s: float
    voltage_pu: float
    frequency_hz: float


@dataclass(frozen=True)
class Staircase:
    steps: tuple[Step, ...]
    max_voltage_error_pu: float  # the furthest any recorded sample lies from the step that plays it
    max_frequency_error_hz: float


def load_recording(path: str | Path) -> Recording:
    """A CSV (header ``time_s``, ``voltage_pu`` or ``voltage_v``, optional ``frequency_hz``) or an NPY structured
    array with the same field names.  Times must rise; values must be finite and not negative."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        time_s, voltage, unit, frequency = _from_npy(path)
        where = [f"{path}: element {i}" for i in range(len(time_s))]
    else:
        time_s, voltage, unit, frequency, where = _from_csv(path)
    if len(time_s) < 2:
        raise TrajectoryError(f"{path}: a recording needs at least two samples, has {len(time_s)}")
    for name, values in (("time_s", time_s), (f"voltage_{unit.lower()}", voltage), ("frequency_hz", frequency)):
        if values is None:
            continue
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if bad.size:
            raise TrajectoryError(f"{where[bad[0]]}: {name} {values[bad[0]]:g} is not a finite value >= 0")
    falling = np.flatnonzero(np.diff(time_s) <= 0)
    if falling.size:
        raise TrajectoryError(f"{where[falling[0] + 1]}: time_s {time_s[falling[0] + 1]:g} does not rise")
    return Recording(str(path), time_s - time_s[0], voltage, unit, frequency)


def _from_csv(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TrajectoryError(f"{path}: cannot read recording: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TrajectoryError(f"{path}: not UTF-8 text: a recording is a CSV with a header row, or an NPY") from None
    rows = [(n, row) for n, row in enumerate(csv.reader(text.splitlines()), 1) if row and not row[0].startswith("#")]
    if not rows:
        raise TrajectoryError(f"{path}: empty recording")
    header_line, header = rows[0]
    columns = [c.strip() for c in header]
    unit_column = next((c for c in VOLTAGE_COLUMNS if c in columns), None)
    if TIME not in columns or unit_column is None:
        raise TrajectoryError(
            f"{path}:{header_line}: header {columns} needs {TIME} and one of {', '.join(VOLTAGE_COLUMNS)} "
            f"(and optionally {FREQUENCY})"
        )
    index = {c: columns.index(c) for c in (TIME, unit_column, FREQUENCY) if c in columns}
    values: dict[str, list[float]] = {c: [] for c in index}
    where = []
    for line, row in rows[1:]:
        for column, i in index.items():
            try:
                values[column].append(float(row[i]))
            except (IndexError, ValueError):
                cell = row[i] if i < len(row) else "(missing)"
                raise TrajectoryError(f"{path}:{line}: {column} {cell!r} is not a number") from None
        where.append(f"{path}:{line}")
    frequency = np.asarray(values[FREQUENCY], dtype=float) if FREQUENCY in values else None
    unit = "pu" if unit_column == "voltage_pu" else "V"
    return np.asarray(values[TIME], dtype=float), np.asarray(values[unit_column], dtype=float), unit, frequency, where


def _from_npy(path: Path):
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise TrajectoryError(f"{path}: not a readable NPY file: {exc}") from None
    names = array.dtype.names or ()
    unit_column = next((c for c in VOLTAGE_COLUMNS if c in names), None)
    if array.ndim != 1 or TIME not in names or unit_column is None:
        raise TrajectoryError(
            f"{path}: an NPY recording is a 1-D structured array with fields {TIME}, one of "
            f"{', '.join(VOLTAGE_COLUMNS)} and optionally {FREQUENCY}; got fields {list(names)}, shape {array.shape}"
        )
    frequency = np.asarray(array[FREQUENCY], dtype=float) if FREQUENCY in names else None
    unit = "pu" if unit_column == "voltage_pu" else "V"
    return np.asarray(array[TIME], dtype=float), np.asarray(array[unit_column], dtype=float), unit, frequency


def staircase(
    recording: Recording,
    *,
    nominal_v: float,
    nominal_hz: float,
    voltage_tolerance_pu: float,
    frequency_tolerance_hz: float,
) -> Staircase:
    """The fewest dwell-paced steps (greedy, in time order) that keep every sample within the tolerances."""
    t = recording.time_s
    v = recording.voltage_pu(nominal_v)
    f = recording.frequency_hz if recording.frequency_hz is not None else np.full(len(t), nominal_hz)
    ends = np.append(t[1:], recording.duration_s)
    steps, worst_v, worst_f, i = [], 0.0, 0.0, 0
    while i < len(t):
        j, v_lo, v_hi, f_lo, f_hi = i + 1, v[i], v[i], f[i], f[i]
        while j < len(t):
            nv_lo, nv_hi = min(v_lo, v[j]), max(v_hi, v[j])
            nf_lo, nf_hi = min(f_lo, f[j]), max(f_hi, f[j])
            if nv_hi - nv_lo > 2 * voltage_tolerance_pu or nf_hi - nf_lo > 2 * frequency_tolerance_hz:
                break
            v_lo, v_hi, f_lo, f_hi, j = nv_lo, nv_hi, nf_lo, nf_hi, j + 1
        steps.append(Step(float(t[i]), float(ends[j - 1] - t[i]), (v_lo + v_hi) / 2, (f_lo + f_hi) / 2))
        worst_v, worst_f = max(worst_v, (v_hi - v_lo) / 2), max(worst_f, (f_hi - f_lo) / 2)
        i = j
    return Staircase(tuple(steps), worst_v, worst_f)


def frequency_ramp(from_hz: float, to_hz: float, seconds: float, *, step_s: float) -> list[tuple[float, float]]:
    """A linear frequency ramp as (dwell s, Hz) steps of ``step_s`` (the last one shorter), each step at the ramp's
    value at its end, so the staircase never lags the ramp it stands for."""
    if seconds <= 0 or step_s <= 0:
        raise TrajectoryError(f"a ramp needs a positive duration and step, got {seconds} s in steps of {step_s} s")
    count = max(1, math.ceil(seconds / step_s - 1e-9))
    edges = np.minimum(np.arange(1, count + 1) * step_s, seconds)
    dwells = np.diff(np.concatenate(([0.0], edges)))
    return [(float(d), from_hz + (to_hz - from_hz) * float(e) / seconds) for d, e in zip(dwells, edges, strict=True)]
