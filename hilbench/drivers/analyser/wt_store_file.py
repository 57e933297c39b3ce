"""Reading a WT-series stored numeric file (CSV): by column name, whatever header block precedes the columns.

The layout is the sibling manuals' (WT500 IM 760201-01E p.9-10: stored data as CSV; WT1800E, WT3000: a header
block, then the column line) and a public parser's (``StoreNo, Date, Time, Millisecond, <function>-<element>``),
UNVERIFIED for the WT5000 until ``hilbench bench probe`` has stored a record and kept its header.  So the reader
finds the column line (its first cell is the store number), keeps the header block as it is, reads only the
columns it needs, and names the ones it does not use.  When the rows carry the instrument's own clock (date,
time, millisecond) the samples are timed by it; otherwise by store number x update period.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from hilbench.core.roles import AnalyserReading

#: the columns a reading needs: (function, element) as the reader normalises them
NEEDED = {
    "urms": [("URMS", "1"), ("URMS", "2"), ("URMS", "3")],
    "irms": [("IRMS", "1"), ("IRMS", "2"), ("IRMS", "3")],
    "p": [("P", "1"), ("P", "2"), ("P", "3")],
    "p_total": [("P", "SIGMA")],
    "power_factor": [("LAMBDA", "SIGMA")],
    "frequency": [("FU", "1")],
    "energy_wh": [("WP", "SIGMA")],
}
_FUNCTION_SPELLINGS = {"UR": "URMS", "URMS": "URMS", "IRMS": "IRMS", "P": "P", "LAMBDA": "LAMBDA", "Λ": "LAMBDA",
                       "PF": "LAMBDA", "FU": "FU", "FREQU": "FU", "UFREQ": "FU", "WP": "WP"}  # fmt: skip
_ELEMENT_SPELLINGS = {"SIGMA": "SIGMA", "Σ": "SIGMA", "SIGMAA": "SIGMA"}
_NUMBER_CELLS = ("STORENO", "STORENO.", "NO.")  # as _normal gives them (upper case, no spaces)


class StoreFileError(ValueError):
    """A stored file the reader cannot use; the message says what it found."""


@dataclass
class StoredRecord:
    readings: list[AnalyserReading]
    header_block: list[str]  # the lines before the column line, as the instrument wrote them
    column_line: str
    unused_columns: list[str] = field(default_factory=list)
    timed_by: str = "store number x update period"


def _normal(cell: str) -> str:
    return cell.strip().strip('"').upper().replace(" ", "")


def _is_number_cell(cell: str) -> bool:
    """The column line's first cell: the store number ('Store No.', 'StoreNo')."""
    return _normal(cell) in _NUMBER_CELLS


def column_key(cell: str) -> tuple[str, str] | None:
    """'Urms-1' -> ('URMS', '1'); 'P-Sigma' or 'P-Σ' -> ('P', 'SIGMA'); None for a cell that names no item."""
    name = _normal(cell)
    function, sep, element = name.rpartition("-")
    if not sep:
        return None
    function = _FUNCTION_SPELLINGS.get(function, function)
    element = _ELEMENT_SPELLINGS.get(element, element)
    return function, element


def read_store_file(text: str, *, rate_s: float, start: float) -> StoredRecord:
    """The readings of a stored file; ``start`` is the stamp of the update read just before the store started, so
    stored update n is at ``start`` + n x ``rate_s`` (or by the instrument's clock from the first row)."""
    lines = text.splitlines()
    rows = list(csv.reader(io.StringIO(text)))
    at = next((k for k, row in enumerate(rows) if row and _is_number_cell(row[0])), None)
    if at is None:
        raise StoreFileError(f"no column line (first cell 'Store No.') in {len(lines)} lines; first: {lines[:2]}")
    columns = rows[at]
    keys = [column_key(c) for c in columns]
    index = {key: k for k, key in enumerate(keys) if key is not None}
    missing = [f"{f}-{e}" for need in NEEDED.values() for f, e in need if (f, e) not in index]
    if missing:
        raise StoreFileError(f"columns {', '.join(missing)} are not in the store's item selection: {rows[at][:8]}")
    used = {index[key] for need in NEEDED.values() for key in need}
    position = {_normal(c): k for k, c in enumerate(columns)}
    clock = all(c in position for c in ("DATE", "TIME", "MILLISECOND"))  # whole seconds alone: coarser than n x RATE
    unused = [c.strip() for k, c in enumerate(columns) if k not in used and k != 0 and keys[k] is not None]
    readings: list[AnalyserReading] = []
    first: tuple[int, dt.datetime] | None = None  # the first row's store number and clock: the offsets' origin
    for line_no, row in enumerate(rows[at + 1 :], start=at + 2):
        if not row or not "".join(row).strip():
            continue
        try:
            number = int(float(row[0]))
            cell = {name: [float(row[index[key]]) for key in need] for name, need in NEEDED.items()}
        except (ValueError, IndexError):
            raise StoreFileError(f"line {line_no}: not a stored update: {row[:4]}") from None
        offset = number * rate_s  # stored update 1 is the first after the read that gave ``start``
        if clock:
            stamp = _clock(row, position, line_no)
            first = first or (number, stamp)
            offset = first[0] * rate_s + (stamp - first[1]).total_seconds()
        readings.append(
            AnalyserReading(
                start + offset,
                tuple(cell["urms"]),
                tuple(cell["irms"]),
                tuple(cell["p"]),
                cell["p_total"][0],
                cell["power_factor"][0],
                cell["frequency"][0],
                cell["energy_wh"][0] * 3600.0,
            )
        )
    if not readings:
        raise StoreFileError("the file holds no stored update")
    timed_by = "the instrument's clock (date, time, millisecond)" if clock else "store number x update period"
    raw_at = next((k for k, line in enumerate(lines) if _is_number_cell(line.split(",")[0])), at)
    return StoredRecord(readings, lines[:raw_at], lines[raw_at], unused, timed_by)


def _clock(row: list[str], position: dict[str, int], line_no: int) -> dt.datetime:
    try:
        date, clock = row[position["DATE"]].strip(), row[position["TIME"]].strip()
        stamp = dt.datetime.strptime(f"{date} {clock}", "%Y/%m/%d %H:%M:%S")
        return stamp + dt.timedelta(milliseconds=int(row[position["MILLISECOND"]]))
    except (ValueError, IndexError, KeyError):
        raise StoreFileError(f"line {line_no}: the instrument's clock is not read as Y/m/d H:M:S: {row[1:4]}") from None
