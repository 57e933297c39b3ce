"""Yokogawa WT5000 power analyser emulator (SCPI over a TCP socket), measuring the plant's PCC.

Command set after the WT5000 communication interface manual (IM WT5000-17EN), groups
COMMunicate, RATE, NUMeric, INTEGrate, HOLD, WAVeform, STATus; elements 1-3 are the
phases, SIGMA their sum.  Numeric data refresh on the update grid (``:RATE``) of plant
time.  Each update completes with the UPD bit of the condition register falling: with
``:STATus:FILTer1 FALL`` it sets bit 0 of the extended event register (``:STATus:EESR?``
reads and clears it) and ``:COMMunicate:WAIT 1`` blocks until it is set, as the WT-series
communication manuals describe (page UNVERIFIED for the WT5000).  ``ITIMe`` is output in whole
seconds, as the WT1600 and WT3000E manuals give it (UNVERIFIED for the WT5000): it is not a clock
for response times.  ``:INTEGrate:RESet`` is refused while integration runs (UNVERIFIED).  Waveforms: the
window of 10 x ``:DISPlay:WAVE:TDIV`` ending at the latest update (frozen by ``:HOLD ON``),
acquired at the bench file's ``capture_rate_hz``; ``:WAVeform:SEND?`` returns the display record
(DISPLAY_POINTS values: min/max pairs per raster) as a definite-length block of float32.

Store function (buffered acquisition): hilbench.emulation.instruments.wt_store (its own selection of items,
the file written only once its access has completed, ACS on bit 6).  The FTP port is published as the role's
``ftp_port``.
"""

from __future__ import annotations

import math
import struct
import time

import numpy as np

from hilbench.emulation.ftp_files import FileServer
from hilbench.emulation.instruments.wt_store import STORE_FUNCTIONS, StoreFunction
from hilbench.emulation.plant import Plant
from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.protocols.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    ScpiCommandError,
    definite_block,
    parse_bool,
    parse_number,
)

FUNCTIONS = ("URMS", "IRMS", "P", "S", "Q", "LAMBDA", "FU", "WP", "ITIME")
FUNCTION_ALIASES = {
    "URMS": "URMS",
    "IRMS": "IRMS",
    "P": "P",
    "S": "S",
    "Q": "Q",
    "LAMB": "LAMBDA",
    "LAMBDA": "LAMBDA",
    "FU": "FU",
    "UFREQ": "FU",
    "WP": "WP",
    "ITIM": "ITIME",
    "ITIME": "ITIME",
}
RATES_S = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
MAX_POINTS = 20_000_000
#: Like the real instrument, long windows are sampled more slowly: at most this many points per record.
RECORD_POINTS = 2_000_000
#: :WAVeform:SEND? returns the display record: min/max pairs per raster (Features Guide IM WT5000-01EN p.11-5)
DISPLAY_RASTERS = 1001
DISPLAY_POINTS = 2 * DISPLAY_RASTERS
MAX_HARMONIC_ORDER = 500  # WT-series list data (UNVERIFIED for the WT5000)


class WT5000(ScpiInstrument):
    error_queries = (":STATus:ERRor?", ":SYSTem:ERRor[:NEXT]?")

    def __init__(self, plant: Plant, *, serial: str = "91N000001", capture_rate_hz: float = 10_000.0) -> None:
        super().__init__()
        self.identity = f"YOKOGAWA,WT5000,{serial},F1.04"
        self.plant = plant
        self.capture_rate_hz = capture_rate_hz
        self.ftp = FileServer()
        self.reset()
        self.add(":COMMunicate:HEADer", lambda a, g: setattr(self, "header", parse_bool(a[0])))
        self.add(":COMMunicate:HEADer?", lambda a, g: str(int(self.header)))
        self.add(":COMMunicate:VERBose", lambda a, g: None)
        self.add(":COMMunicate:REMote", lambda a, g: None)
        self.add(":RATE", self._set_rate)
        self.add(":RATE?", lambda a, g: f"{self.rate_s:.3E}")
        self.add(":NUMeric:FORMat", self._set_format)
        self.add(":NUMeric:FORMat?", lambda a, g: self.numeric_format)
        self.add(":NUMeric[:NORMal]:NUMber", self._set_number)
        self.add(":NUMeric[:NORMal]:NUMber?", lambda a, g: str(self.number))
        self.add(":NUMeric[:NORMal]:ITEM<x>", self._set_item)
        self.add(":NUMeric[:NORMal]:ITEM<x>?", self._get_item)
        self.add(":NUMeric[:NORMal]:VALue?", self._values)
        self.add(":INTEGrate:STARt", lambda a, g: self._integrate("start"))
        self.add(":INTEGrate:STOP", lambda a, g: self._integrate("stop"))
        self.add(":INTEGrate:RESet", lambda a, g: self._integrate("reset"))
        self.add(":INTEGrate:STATe?", lambda a, g: self.integ_state)
        self.add(":STATus:FILTer<x>", self._set_filter)
        self.add(":STATus:FILTer<x>?", lambda a, g: self.filters.get(int(g[0] or 1), "NEVER"))
        self.add(":STATus:EESR?", lambda a, g: str(self._read_eesr()))
        self.add(":STATus:EESE", lambda a, g: setattr(self, "eese", int(parse_number(a[0]))))
        self.add(":STATus:CONDition?", lambda a, g: str(self._condition()))
        self.add(":COMMunicate:WAIT", self._wait)
        self.add("*OPT?", lambda a, g: "G6")  # harmonic measurement option installed
        self.add(":NUMeric:LIST:ORDer", self._set_list_order)
        self.add(":NUMeric:LIST:ORDer?", lambda a, g: str(self.list_order))
        self.add(":NUMeric:LIST:SELect", lambda a, g: self._choice("list_select", a, ("ALL", "ODD", "EVEN")))
        self.add(":NUMeric:LIST:SELect?", lambda a, g: self.list_select)
        self.add(":NUMeric:LIST:NUMber", self._set_list_number)
        self.add(":NUMeric:LIST:ITEM<x>", self._set_list_item)
        self.add(":NUMeric:LIST:VALue?", self._list_values)
        self.add(":STORe:STARt", lambda a, g: self._store_start())
        self.add(":STORe:STOP", lambda a, g: self.store.stop(self._store_rows))
        self.add(":STORe:RESet", lambda a, g: self._store_reset())
        self.add(":STORe:COUNt", lambda a, g: self.store.set_count(a))
        self.add(":STORe:COUNt?", lambda a, g: str(self.store.count))
        self.add(":STORe:INTerval", self._set_store_interval)
        self.add(":STORe:SMODe", lambda a, g: self.store.only(a, ("MAN", "MANUAL"), "store mode"))
        self.add(":STORe:ITEM", lambda a, g: self.store.only(a, ("NUM", "NUMERIC"), "store item"))
        self.add(":STORe:DIRection", lambda a, g: self.store.set_direction(a))
        self.add(":STORe:FILE:TYPE", lambda a, g: self.store.set_file_type(a))
        self.add(":STORe:FILE:NAME", lambda a, g: self.store.set_name(a))
        self.add(":STORe:FILE:ANAMing", lambda a, g: self.store.only(a, ("OFF", "0"), "auto naming"))
        self.add(":FILE:DRIVe", lambda a, g: self.store.set_drive(a))
        self.add(":FILE:CDIRectory", lambda a, g: self.store.set_folder(a))
        self.add(":STORe:NUMeric[:NORMal]:ELEMent<x>", lambda a, g: self.store.select("element", g[0], a))
        self.add(":STORe:NUMeric[:NORMal]:SIGMA", lambda a, g: self.store.select("element", "SIGMA", a))
        for function in STORE_FUNCTIONS:
            header = {"LAMBDA": "LAMBda"}.get(function, function)
            self.add(f":STORe:NUMeric[:NORMal]:{header}", lambda a, g, f=function: self.store.select("function", f, a))
        self.add(":STORe:STATe?", lambda a, g: self._store_state())
        self.add(":HOLD", self._hold)
        self.add(":HOLD?", lambda a, g: str(int(self.hold_time is not None)))
        self.add(":DISPlay:WAVE:TDIV", self._set_tdiv)
        self.add(":DISPlay:WAVE:TDIV?", lambda a, g: f"{self.tdiv_s:.3E}")
        self.add(":WAVeform:TRACe", self._set_trace)
        self.add(":WAVeform:TRACe?", lambda a, g: self.trace)
        self.add(":WAVeform:FORMat", lambda a, g: self._choice("wave_format", a, ("ASCII", "FLOAT", "ASC", "FLO")))
        self.add(
            ":WAVeform:BYTeorder", lambda a, g: self._choice("byte_order", a, ("LSBFIRST", "MSBFIRST", "LSBF", "MSBF"))
        )
        self.add(":WAVeform:STARt", lambda a, g: setattr(self, "wave_start", int(parse_number(a[0]))))
        self.add(":WAVeform:STARt?", lambda a, g: str(self.wave_start))
        self.add(":WAVeform:END", lambda a, g: setattr(self, "wave_end", int(parse_number(a[0]))))
        self.add(":WAVeform:END?", lambda a, g: str(self.wave_end))
        self.add(":WAVeform:LENGth?", lambda a, g: str(DISPLAY_POINTS))
        self.add(":WAVeform:SRATe?", lambda a, g: f"{self._rate():.6E}")
        self.add(":WAVeform:SEND?", self._send)

    def reset(self) -> None:
        self.header = True
        self.rate_s = 0.2
        self.numeric_format = "ASCII"
        self.number = 15
        self.items: dict[int, tuple[str, str]] = {i: ("URMS", "1") for i in range(1, 256)}
        self.integ_state = "RESET"
        self.filters: dict[int, str] = {}
        self.eese = 0
        self._eesr_index = self._update_index()
        self._eesr_read_at = self.plant.clock.now()
        self.integ_start: float | None = None
        self.integ_stop: float | None = None
        self.integ_energy0 = 0.0
        self.hold_time: float | None = None
        self.tdiv_s = 0.02
        self.trace = "U1"
        self.wave_format = "FLOAT"
        self.byte_order = "LSBFIRST"
        self.wave_start = 0
        self.wave_end = 0
        self._captured: tuple[float, np.ndarray, np.ndarray] | None = None
        self.list_order = 50
        self.list_select = "ALL"
        self.list_number = 1
        self.list_items: dict[int, tuple[str, str]] = {i: ("U", "1") for i in range(1, 65)}
        self.store = StoreFunction(self.plant.clock, self.ftp.write, self.identity, self.ftp.remove)

    # ----- settings ----------------------------------------------------------------------
    def _choice(self, attr: str, args: list[str], allowed: tuple[str, ...]) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        value = args[0].upper()
        if value not in allowed:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, args[0])
        full = {"ASC": "ASCII", "FLO": "FLOAT", "LSBF": "LSBFIRST", "MSBF": "MSBFIRST"}.get(value, value)
        setattr(self, attr, full)

    def _set_rate(self, args, groups) -> None:
        value = parse_number(args[0])
        if not any(math.isclose(value, r) for r in RATES_S):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"update rate {args[0]}; allowed {RATES_S}")
        self.rate_s = value
        self._eesr_index = self._update_index()  # events count on the new update grid from here

    def _set_format(self, args, groups) -> None:
        self._choice("numeric_format", args, ("ASCII", "FLOAT", "ASC", "FLO"))

    def _set_number(self, args, groups) -> None:
        n = int(parse_number(args[0]))
        if not 1 <= n <= 255:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"NUMber {n}")
        self.number = n

    def _set_item(self, args, groups) -> None:
        index = int(groups[0] or 1)
        if not 1 <= index <= 255:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"ITEM{index}")
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        function = FUNCTION_ALIASES.get(args[0].upper())
        if function is None:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"function {args[0]}")
        element = (args[1] if len(args) > 1 else "1").upper()
        if element not in ("1", "2", "3", "SIGMA", "SIGMA"[:4]):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"element {element}")
        self.items[index] = (function, "SIGMA" if element.startswith("SIGM") else element)

    def _get_item(self, args, groups) -> str:
        function, element = self.items[int(groups[0] or 1)]
        return f"{function},{element}"

    def _set_tdiv(self, args, groups) -> None:
        value = parse_number(args[0])
        if not 1e-5 <= value <= 120.0:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"TDIV {args[0]}")
        self.tdiv_s = value
        self._captured = None

    def _set_trace(self, args, groups) -> None:
        value = args[0].upper()
        if value not in {f"{q}{k}" for q in "UI" for k in "123"}:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"trace {args[0]}")
        self.trace = value

    # ----- time ----------------------------------------------------------------------------
    def _update_time(self) -> float:
        """Plant time of the latest data update (held data stays at the hold instant)."""
        if self.hold_time is not None:
            return self.hold_time
        now = self.plant.clock.now()
        return math.floor(now / self.rate_s) * self.rate_s

    def _integrate(self, action: str) -> None:
        t = self._update_time()
        if action == "start":
            if self.integ_state == "START":
                raise ScpiCommandError(SETTINGS_CONFLICT, "integration already running")
            if self.integ_start is None:
                self.integ_start, self.integ_energy0 = t, self.plant.energy_j(t)
            self.integ_stop = None
            self.integ_state = "START"
        elif action == "stop":
            self.integ_stop = t
            self.integ_state = "STOP"
        else:
            if self.integ_state == "START":
                raise ScpiCommandError(SETTINGS_CONFLICT, "integration running: :INTEGrate:STOP before :RESet")
            self.integ_start = self.integ_stop = None
            self.integ_state = "RESET"

    # ----- harmonic measurement (option /G5, /G6): list data -----------------------------------
    def _set_list_order(self, args, groups) -> None:
        order = int(parse_number(args[0]))
        if not 1 <= order <= MAX_HARMONIC_ORDER:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"order {order}: 1..{MAX_HARMONIC_ORDER}")
        self.list_order = order

    def _set_list_number(self, args, groups) -> None:
        number = int(parse_number(args[0]))
        if not 1 <= number <= 64:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"list NUMber {number}")
        self.list_number = number

    def _set_list_item(self, args, groups) -> None:
        index = int(groups[0] or 1)
        function = args[0].upper() if args else ""
        element = (args[1] if len(args) > 1 else "1").upper()
        if not 1 <= index <= 64 or function not in ("U", "I") or element not in ("1", "2", "3"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"list ITEM{index} {','.join(args)}")
        self.list_items[index] = (function, element)

    def _list_values(self, args, groups) -> str:
        """Per item: total r.m.s., DC (order 0), then orders 1..ORDer (ODD/EVEN selections give 0 for the others)."""
        current, voltage = self.plant.harmonic_components(self._update_time(), self.list_order)
        out = []
        for i in range(1, self.list_number + 1):
            function, element = self.list_items[i]
            values = (current if function == "I" else voltage)[int(element) - 1].copy()
            if self.list_select != "ALL":
                keep = 1 if self.list_select == "ODD" else 0
                values[[h for h in range(1, len(values)) if h % 2 != keep]] = 0.0
            out += [float(np.sqrt(np.sum(values**2))), *values]
        return ",".join(f"{v:.6E}" for v in out)

    # ----- store function ------------------------------------------------------------------
    def _set_store_interval(self, args, groups) -> None:
        values = [int(parse_number(a)) for a in args]
        if values != [0, 0, 0]:
            raise ScpiCommandError(SETTINGS_CONFLICT, "the emulator stores every update only (interval 0,0,0)")

    def _store_reset(self) -> None:
        self.store.progress(self._store_rows)
        self.store.reset()

    def _store_start(self) -> None:
        self.store.progress(self._store_rows)
        now = self.plant.clock.now()
        self.store.start((self._update_index() + 1) * self.rate_s, self.rate_s, self.plant.energy_j(now))

    def _store_state(self) -> str:
        self.store.progress(self._store_rows)
        return self.store.state

    def _store_rows(self, times: np.ndarray) -> list[str]:
        """One CSV row per stored update: its number, the instrument's clock, the store's selected items."""
        if not len(times):
            return []
        series = self.plant.numeric_series(times)
        energy_wh = (self.store.energy0 + np.cumsum(series["p_total"]) * self.rate_s) / 3600
        itime = times - self.integ_start if self.integ_start is not None else np.zeros(len(times))
        rows = []
        for k in range(len(times)):
            numbers = {key: (value[:, k] if np.ndim(value) == 2 else value[k]) for key, value in series.items()}
            cells = [
                self._value(numbers, function, element, float(itime[k]), float(energy_wh[k]))
                for function, element in self.store.columns()
            ]
            rows.append(",".join([str(k + 1), *self.store.clock_cells(float(times[k])), *(f"{v:.6E}" for v in cells)]))
        return rows

    def _condition(self) -> int:
        """Condition register: bit 6 (ACS) while the store's file is being written."""
        self.store.progress(self._store_rows)
        return 64 if self.store.access_busy() else 0

    def published_settings(self) -> dict:
        """Settings the driver needs beyond its address: the FTP port, and how many instrument (plant) seconds pass
        per host second, so it can tell when the host let an update pass unread."""
        return {"ftp_port": self.ftp.port, "clock_scale": float(getattr(self.plant.clock, "time_scale", 1.0))}

    def close(self) -> None:
        self.ftp.close()

    # ----- update events (extended event register bit 0) ------------------------------------
    def _update_index(self) -> int:
        return math.floor(self.plant.clock.now() / self.rate_s + 1e-9)

    def _set_filter(self, args, groups) -> None:
        index = int(groups[0] or 1)
        value = args[0].upper() if args else ""
        if not 1 <= index <= 16 or value not in ("RISE", "FALL", "BOTH", "NEVER", "NEV"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"FILTer{index} {args[0] if args else ''}")
        self.filters[index] = "NEVER" if value.startswith("NEV") else value

    def _pending_eesr(self) -> int:
        """Bit 0 when an update completed since the register was last read, bit 6 when the store's file access
        completed since then (each when its filter catches the fall)."""
        self.store.progress(self._store_rows)
        updated = self.filters.get(1) in ("FALL", "BOTH") and self._update_index() > self._eesr_index
        done = self.store.access_done_at
        accessed = self.filters.get(7) in ("FALL", "BOTH") and done is not None and done > self._eesr_read_at
        return (1 if updated else 0) | (64 if accessed else 0)

    def _read_eesr(self) -> int:
        value = self._pending_eesr()
        self._eesr_index = self._update_index()
        self._eesr_read_at = self.plant.clock.now()
        return value

    def _wait(self, args, groups) -> None:
        """Block until a bit of the mask is set in the extended event register (the next update for bit 0).
        A mask no filter can ever set waits for the client's timeout, as the instrument would; the emulator
        gives up after 30 s of wall time so its worker is not lost."""
        mask = int(parse_number(args[0])) if args else 0
        clock = self.plant.clock
        deadline = time.monotonic() + 30.0
        while not self._pending_eesr() & mask and time.monotonic() < deadline:
            next_update = (self._update_index() + 1) * self.rate_s
            time.sleep(max(next_update - clock.now(), 0.0) / getattr(clock, "time_scale", 1.0) + 1e-5)

    def _hold(self, args, groups) -> None:
        if parse_bool(args[0]):
            if self.hold_time is None:
                self.hold_time = self._update_time()
                self._captured = None
        else:
            self.hold_time = None
            self._captured = None

    # ----- numeric data ------------------------------------------------------------------
    def _values(self, args, groups) -> str | bytes:
        t = self._update_time()
        numbers = self.plant.numeric(t)
        end = self.integ_stop if self.integ_stop is not None else t
        itime = max(0.0, end - self.integ_start) if self.integ_start is not None else 0.0
        energy_wh = (self.plant.energy_j(end) - self.integ_energy0) / 3600 if self.integ_start is not None else 0.0
        values = []
        for i in range(1, self.number + 1):
            function, element = self.items[i]
            values.append(self._value(numbers, function, element, itime, energy_wh))
        if self.numeric_format == "FLOAT":
            return definite_block(struct.pack(f">{len(values)}f", *values))
        return ",".join(f"{v:.6E}" for v in values)

    @staticmethod
    def _value(numbers: dict, function: str, element: str, itime: float, energy_wh: float) -> float:
        if function == "ITIME":
            return float(math.floor(itime))  # whole seconds (WT1600/WT3000E manuals; UNVERIFIED for the WT5000)
        if function == "FU":
            return numbers["frequency"]
        if function == "WP":
            return energy_wh if element == "SIGMA" else energy_wh / 3
        key = {"URMS": "urms", "IRMS": "irms", "P": "p", "S": "s", "Q": "q", "LAMBDA": "lambda"}[function]
        per_phase = numbers[key]
        if element == "SIGMA":
            if function in ("URMS", "IRMS"):
                return float(np.mean(per_phase))
            if function == "LAMBDA":
                s = float(np.sum(numbers["s"]))
                return float(np.sum(numbers["p"])) / s if s else 0.0
            return float(np.sum(per_phase))
        return float(per_phase[int(element) - 1])

    # ----- waveforms ---------------------------------------------------------------------
    def _capture(self) -> tuple[float, np.ndarray, np.ndarray]:
        if self._captured is None:
            end = self._update_time()
            length = self._points()
            start = end - length / self._rate()
            voltage, current = self.plant.pcc_waveforms(start, end, self._rate())
            self._captured = (start, voltage, current)
        return self._captured

    def _rate(self) -> float:
        return min(self.capture_rate_hz, RECORD_POINTS / (10 * self.tdiv_s))

    def _points(self) -> int:
        points = int(round(10 * self.tdiv_s * self._rate()))
        if points > MAX_POINTS:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"record of {points} points exceeds {MAX_POINTS}")
        return points

    def _send(self, args, groups) -> bytes | str:
        """The display record, as the instrument gives it: each of DISPLAY_RASTERS rasters of the window is its
        (min, max) pair, p-p compressed; not samples at :WAVeform:SRATe? (a driver that takes them for samples
        gets wrong figures, as on hardware)."""
        _, voltage, current = self._capture()
        channel = int(self.trace[1]) - 1
        acquired = (voltage if self.trace[0] == "U" else current)[channel]
        rasters = np.array_split(acquired, DISPLAY_RASTERS)
        data = np.column_stack([[r.min() for r in rasters], [r.max() for r in rasters]]).ravel()
        end = self.wave_end if self.wave_end > 0 else len(data) - 1
        if not 0 <= self.wave_start <= end < len(data):
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"points {self.wave_start}..{end} of {len(data)}")
        segment = data[self.wave_start : end + 1]
        if self.wave_format == "ASCII":
            return ",".join(f"{v:.6E}" for v in segment)
        dtype = "<f4" if self.byte_order == "LSBFIRST" else ">f4"
        return definite_block(segment.astype(dtype).tobytes())


def emulate(plant: Plant, spec) -> WT5000:
    """Entry point of the ``hilbench.emulators`` group for the ``yokogawa-wt5000`` model."""
    return WT5000(plant, capture_rate_hz=float(spec.settings.get("capture_rate_hz", 10_000.0)))
