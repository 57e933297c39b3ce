"""The WT5000 emulator's store function: numeric data of every update kept by the instrument itself and written
to a file, as the WT-series communication manuals describe it (the WT5000's own pages were not read: WT3000
pp.6-105..6-108 primary, WT1800E pp.5-94..5-96 from a secondary summary; docs/references/instrument_commands.md).

What it keeps that a driver must respect:

* the stored columns are the store's own selection (``:STORe:NUMeric:NORMal:ELEMent<x>|SIGMA`` and
  ``:STORe:NUMeric:NORMal:<function>`` ON/OFF), not the numeric display items;
* only ``:STORe:SMODe MANual``, ``:STORe:ITEM NUMeric``, ``:STORe:DIRection FILE`` and ``:STORe:FILE:TYPE
  ASCii`` are modelled (the rest are refused, named); the file goes to ``:FILE:DRIVe`` / ``:FILE:CDIRectory`` /
  ``:STORe:FILE:NAME`` ``.CSV`` on the FTP server;
* the file exists only once the store has ended and its file access has completed: condition register bit 6
  (ACS) is set while the file is written, and its fall sets extended event register bit 6 when
  ``:STATus:FILTer7 FALL`` (``:COMMunicate:WAIT 64`` waits for it); fetching earlier finds no file;
* the file opens with a header block (model, version, store settings, start time), then the column line
  (``Store No.,Date,Time,Millisecond,<function>-<element>...``) and one row per stored update, stamped by the
  instrument's own clock.  The layout follows the sibling manuals and a public parser of WT stored CSV files
  (ASSUMED for the WT5000: the driver's reader reads by column name and names what it does not use).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from hilbench.protocols.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    ScpiCommandError,
    parse_bool,
    parse_number,
)

STORE_MAX_COUNT = 999_999  # WT3000 p.6-105
#: plant seconds the instrument takes to close the file after the store ends, plus per stored row (ASSUMED)
ACCESS_BASE_S, ACCESS_PER_ROW_S = 0.2, 0.0005
STORE_FUNCTIONS = ("URMS", "IRMS", "P", "S", "Q", "LAMBDA", "FU", "WP")
STORE_ELEMENTS = ("1", "2", "3", "SIGMA")
_FUNCTION_NAMES = {"URMS": "Urms", "IRMS": "Irms", "P": "P", "S": "S", "Q": "Q", "LAMBDA": "Lambda", "FU": "FreqU",
                   "WP": "WP"}  # fmt: skip


class StoreFunction:
    """Store settings and state; ``value(numbers, function, element, itime, energy_wh)`` computes one cell."""

    def __init__(
        self, clock, write_file: Callable[[str, str], None], identity: str, remove_file: Callable[[str], None]
    ) -> None:
        self.clock, self.write_file, self.identity, self.remove_file = clock, write_file, identity, remove_file
        self.count = 100
        self.name = "STORE"
        self.drive, self.folder = "RAM", ""
        self.directed_to_file = False
        self.ascii = False
        self.functions: set[str] = set()
        self.elements: set[str] = set()
        self.state = "RESET"  # RESET, START, STOP
        self.times: np.ndarray | None = None
        self.energy0 = 0.0
        self.rows: list[str] = []
        self.access_until: float | None = None  # plant time the file access completes
        self.access_done_at: float | None = None  # when it completed (ACS fell)

    # ----- settings --------------------------------------------------------------------------------------
    def set_count(self, args: list[str]) -> None:
        count = int(parse_number(args[0]))
        if not 1 <= count <= STORE_MAX_COUNT:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"store count {count}: 1..{STORE_MAX_COUNT}")
        self.count = count

    @staticmethod
    def only(args: list[str], accepted: tuple[str, ...], what: str) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        if args[0].upper() not in accepted:
            raise ScpiCommandError(SETTINGS_CONFLICT, f"{what} {args[0]}: the emulator models {accepted[-1]} only")

    def set_direction(self, args: list[str]) -> None:
        self.only(args, ("FILE",), "store direction")
        self.directed_to_file = True

    def set_file_type(self, args: list[str]) -> None:
        self.only(args, ("ASC", "ASCII"), "file type")
        self.ascii = True

    def set_name(self, args: list[str]) -> None:
        name = args[0].strip("'\"") if args else ""
        if not name or not all(c.isalnum() or c in "_-" for c in name) or len(name) > 32:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"file name {args[0] if args else ''!r}")
        self.name = name

    def set_drive(self, args: list[str]) -> None:
        drive = args[0].strip("'\"").upper() if args else ""
        if drive not in ("RAM", "USB"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"drive {args[0] if args else ''!r}")
        self.drive = drive

    def set_folder(self, args: list[str]) -> None:
        folder = args[0].strip("'\"") if args else ""
        if not all(c.isalnum() or c in "_-" for c in folder) or len(folder) > 32:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"folder {args[0] if args else ''!r}")
        self.folder = folder

    def select(self, kind: str, key: str, args: list[str]) -> None:
        chosen = self.elements if kind == "element" else self.functions
        (chosen.add if parse_bool(args[0]) else chosen.discard)(key)

    # ----- running -----------------------------------------------------------------------------------------
    def start(self, first_update_s: float, rate_s: float, energy_j: float) -> None:
        if self.state == "START":
            raise ScpiCommandError(SETTINGS_CONFLICT, "store already running")
        if self.state == "STOP":
            raise ScpiCommandError(SETTINGS_CONFLICT, "store ended: :STORe:RESet before a new one")
        if not (self.directed_to_file and self.ascii):
            raise ScpiCommandError(SETTINGS_CONFLICT, "store to memory or binary files is not modelled")
        if self.access_until is not None:
            raise ScpiCommandError(SETTINGS_CONFLICT, "the last store's file is still being written")
        self.remove_file(self.path())  # a file of the same name from an earlier store is replaced, not read again
        self.times = first_update_s + np.arange(self.count) * rate_s
        self.energy0, self.state, self.access_done_at = energy_j, "START", None

    def stop(self, rows: Callable[[np.ndarray], list[str]]) -> None:
        if self.state == "START":
            assert self.times is not None
            self.times = self.times[self.times <= self.clock.now()]
            self._finish(rows)

    def reset(self) -> None:
        if self.state == "START":
            raise ScpiCommandError(SETTINGS_CONFLICT, "store running: :STORe:STOP before :RESet")
        if self.access_until is not None:
            raise ScpiCommandError(SETTINGS_CONFLICT, "the store's file is still being written")
        self.state, self.times, self.rows = "RESET", None, []

    def progress(self, rows: Callable[[np.ndarray], list[str]]) -> None:
        """Move the store on to plant time now: end it after its last update, complete the file access."""
        now = self.clock.now()
        if self.state == "START" and self.times is not None and now >= self.times[-1]:
            self._finish(rows)
        if self.access_until is not None and now >= self.access_until:
            self.write_file(self.path(), "\n".join(self.rows) + "\n")
            self.access_done_at, self.access_until = self.access_until, None

    def _finish(self, rows: Callable[[np.ndarray], list[str]]) -> None:
        times = self.times if self.times is not None else np.zeros(0)
        self.rows = self._header(times) + rows(times)
        self.state = "STOP"
        self.access_until = self.clock.now() + ACCESS_BASE_S + ACCESS_PER_ROW_S * len(times)

    def columns(self) -> list[tuple[str, str]]:
        return [(f, e) for f in STORE_FUNCTIONS if f in self.functions for e in STORE_ELEMENTS if e in self.elements]

    def _header(self, times: np.ndarray) -> list[str]:
        model, version = self.identity.split(",")[1], self.identity.split(",")[3]
        start = self.wall(times[0]) if len(times) else self.wall(self.clock.now())
        names = [f"{_FUNCTION_NAMES[f]}-{'Sigma' if e == 'SIGMA' else e}" for f, e in self.columns()]
        return [
            f'"Model","{model}"',
            f'"Version","{version}"',
            '"Store Mode","Manual"',
            '"Interval","Every update"',
            f'"Start","{start:%Y/%m/%d %H:%M:%S}"',
            "",
            ",".join(["Store No.", "Date", "Time", "Millisecond", *names]),
        ]

    def wall(self, plant_s: float) -> dt.datetime:
        """The instrument's own clock at plant time ``plant_s`` (it runs with the plant)."""
        return dt.datetime.fromtimestamp(getattr(self.clock, "started_at", 0.0) + plant_s)

    def clock_cells(self, plant_s: float) -> list[str]:
        """Date, time and millisecond of the instrument's clock at plant time ``plant_s``."""
        total_ms = round((getattr(self.clock, "started_at", 0.0) + plant_s) * 1000)
        stamp = dt.datetime.fromtimestamp(total_ms // 1000)
        return [f"{stamp:%Y/%m/%d}", f"{stamp:%H:%M:%S}", str(total_ms % 1000)]

    def path(self) -> str:
        return "/".join(p for p in (self.drive, self.folder, f"{self.name}.CSV") if p)

    def state_reply(self) -> str:
        return self.state

    def access_busy(self) -> bool:
        return self.access_until is not None
