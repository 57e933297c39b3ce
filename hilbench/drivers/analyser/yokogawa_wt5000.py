"""Yokogawa WT5000 precision power analyser at the PCC (VISA, SCPI).

Command set: WT5000 Communication Interface User's Manual, IM WT5000-17EN (COMMunicate, RATE,
NUMeric, INTEGrate, HOLD, WAVeform, STATus groups), with what the manual's own pages could not be
read for taken from the WT-series communication manuals (docs/references/instrument_commands.md)
and listed in ``UNVERIFIED``.  Elements 1-3 are wired to the three phases; SIGMA is their sum.
Waveforms are not read from here: ``:WAVeform:SEND?`` returns the display record (about 2002 points,
min/max pairs per raster: Features Guide IM WT5000-01EN p.11-5), not samples; raw records come from
the bench's recorder role.

Time stamps come from the instrument's update clock, not from the integration timer (whole
seconds in ASCII on the WT-series, so useless for response times): each ``read()`` waits for the
next data update (``:STATus:FILTer1 FALL`` + ``:COMMunicate:WAIT 1``, in one compound message with
the event-register clear and the value query) and stamps it ``update count x :RATE`` from setup.
If the host falls behind, the integration time (whole seconds) shows it: the count is resynchronised
and ``missed_updates`` counts the updates the trend lost.
"""

from __future__ import annotations

import ftplib
import math
import time
from collections.abc import Callable

import numpy as np

from hilbench.core.roles import AnalyserReading, HarmonicReading, SafeStateReport
from hilbench.core.unverified import ProbeCall, Query, Unverified
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.errors import InstrumentConnectionError, InstrumentError, MalformedReply
from hilbench.transports.visa import VisaTransport

#: commands whose syntax or behaviour on the WT5000 was taken from sibling manuals, for the probe to settle
UNVERIFIED = (
    Unverified(
        "update_wait",
        ":STATus:FILTer1 FALL, :COMMunicate:WAIT 1, :STATus:EESR? (one wait per data update)",
        "the WT-series pattern (WT1800E, WT3000); the WT5000's own pages not read",
        probe=(Query(":STATus:FILTer1?"), ProbeCall("probe_update_period")),
    ),
    Unverified(
        "integration",
        ":INTEGrate:STOP before :INTEGrate:RESet, :INTEGrate:STARt, ITIMe in whole seconds",
        "refused while running and whole-second ITIMe on the WT1600 and WT3000E; not read for the WT5000",
        probe=(Query(":INTEGrate:STATe?"), ProbeCall("probe_integration_time")),
    ),
    Unverified(
        "store_record",
        ":STORe:INTerval/COUNt/FILE:NAME/STARt/STATe? and the stored file's layout (fetched over FTP)",
        "the WT500/WT1800 pattern; the WT5000's store pages not read",
        methods=("record",),
        probe=(ProbeCall("probe_store"),),
    ),
    Unverified(
        "harmonic_list",
        ":NUMeric:LIST:ORDer/SELect/NUMber/ITEM/VALue? and its reply layout (total, DC, 1..N per item)",
        "the WT-series list-data pattern; not read for the WT5000",
        methods=("harmonics",),
        probe=(Query("*OPT?"), Query(":NUMeric:LIST:ORDer?"), Query(":NUMeric:LIST:SELect?")),
    ),
)

ITEMS = [
    ("ITIMe", "1"),
    ("URMS", "1"),
    ("URMS", "2"),
    ("URMS", "3"),
    ("IRMS", "1"),
    ("IRMS", "2"),
    ("IRMS", "3"),
    ("P", "1"),
    ("P", "2"),
    ("P", "3"),
    ("P", "SIGMA"),
    ("LAMBda", "SIGMA"),
    ("FU", "1"),
    ("WP", "SIGMA"),
]


class YokogawaWT5000:
    role = "analyser"
    unverified = UNVERIFIED

    def __init__(
        self,
        transport: VisaTransport,
        *,
        update_rate_s: float = 0.05,
        name: str = "analyser",
        fetch_file: Callable[[str], str] | None = None,
        store_file: str = "HILREC",
    ) -> None:
        """``fetch_file(name) -> text`` reads a file the instrument stored (default: its FTP server)."""
        self.transport = transport
        self.fetch_file = fetch_file or self._ftp_fetcher(21)
        self.store_file = store_file
        self.name = name
        self.update_rate_s = update_rate_s
        self._configured = False
        self._count = 0
        self.missed_updates = 0
        self._options: str | None = None
        self._list_order: int | None = None
        self.last_store_header = ""  # the first line of the last stored file read (for the probe's evidence)

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> YokogawaWT5000:
        transport = VisaTransport(
            spec.role,
            spec.address,
            error_query=":STATus:ERRor?",
            timeout_s=float(spec.settings.get("timeout_s", 10.0)),
            backend=spec.settings.get("visa_backend", "@py"),
        )
        driver = cls(transport, update_rate_s=float(spec.settings.get("update_rate_s", 0.05)), name=spec.role)
        driver.fetch_file = driver._ftp_fetcher(int(spec.settings.get("ftp_port", 21)))
        return driver

    def _ftp_fetcher(self, port: int) -> Callable[[str], str]:
        """The instrument's FTP server (anonymous) at the VISA resource's host."""

        def fetch(name: str) -> str:
            parts = self.transport.resource.split("::")
            host = parts[1] if len(parts) > 1 else parts[0]
            chunks: list[bytes] = []
            try:
                with ftplib.FTP() as ftp:
                    ftp.connect(host, port, timeout=10)
                    ftp.login()
                    ftp.retrbinary(f"RETR {name}", chunks.append)
            except (OSError, ftplib.Error) as exc:
                raise InstrumentConnectionError(self.name, f"ftp://{host}:{port}", f"RETR {name}", str(exc)) from exc
            return b"".join(chunks).decode("ascii", errors="replace")

        return fetch

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def setup(self) -> None:
        """Numeric items, update rate, ASCII data, integration restarted, update events armed; time zero."""
        commands = [
            ":COMMunicate:HEADer OFF",
            ":COMMunicate:VERBose OFF",
            ":NUMeric:FORMat ASCii",
            f":RATE {round(self.update_rate_s * 1000)}MS",
            f":NUMeric:NORMal:NUMber {len(ITEMS)}",
        ]
        commands += [f":NUMeric:NORMal:ITEM{i} {fn},{el}" for i, (fn, el) in enumerate(ITEMS, start=1)]
        commands += [":INTEGrate:STOP", ":INTEGrate:RESet", ":STATus:FILTer1 FALL"]
        self.transport.configure(*commands)
        # integration starts and the update events are cleared in one message: update 1 is the first update of
        # the integration, so the count and the (whole-second) integration time share their origin
        self.transport.query(":INTEGrate:STARt;:STATus:EESR?")
        self.transport.check_errors(":INTEGrate:STARt")
        self._count = 0
        self._configured = True

    def _next_update(self, value_query: str, expected: int) -> list[float]:
        """Wait for the next data update, clear its event and read ``value_query`` in one message; the update is
        counted (the time stamp of what it returns is ``_count x :RATE``)."""
        query = f":COMMunicate:WAIT 1;:STATus:EESR?;{value_query}"
        reply = self.transport.query(query)
        try:
            values = [float(x) for x in reply.partition(";")[2].split(",")]
        except ValueError:
            raise MalformedReply(self.name, self.transport.resource, query, f"not numbers: {reply[:60]!r}") from None
        if len(values) != expected:
            raise MalformedReply(
                self.name, self.transport.resource, query, f"expected {expected} values, got {len(values)}"
            )
        self._count += 1
        return values

    def read(self) -> AnalyserReading:
        if not self._configured:
            self.setup()
        v = self._next_update(":NUMeric:NORMal:VALue?", len(ITEMS))
        stamp = self._count * self.update_rate_s
        if v[0] > stamp + self.update_rate_s:  # the integration time (whole s) is ahead: updates were missed
            behind = math.ceil(v[0] / self.update_rate_s) - self._count
            self.missed_updates += behind
            self._count += behind
            stamp = self._count * self.update_rate_s
        return AnalyserReading(
            stamp, (v[1], v[2], v[3]), (v[4], v[5], v[6]), (v[7], v[8], v[9]), v[10], v[11], v[12], v[13] * 3600.0
        )

    def trend(self, duration_s: float, *, on_sample=None) -> list[AnalyserReading]:
        """Every update for ``duration_s`` of instrument time (each read waits for the next update)."""
        first = self.read()
        samples = [first]
        if on_sample:
            on_sample(first)
        while samples[-1].time < first.time + duration_s - 1e-9:
            samples.append(self.read())
            if on_sample:
                on_sample(samples[-1])
        return samples

    def wait_until(self, instrument_time: float) -> AnalyserReading:
        reading = self.read()
        while reading.time < instrument_time - 1e-9:
            reading = self.read()
        return reading

    def harmonics(self, max_order: int = 50) -> HarmonicReading:
        """The instrument's own harmonic measurement (option /G5 or /G6) at the next data update: r.m.s. of
        orders 0..max_order of the three phase currents and voltages, as list data (UNVERIFIED layout)."""
        if not self._configured:
            self.setup()
        if self._options is None:
            self._options = self.transport.query("*OPT?").upper()
        if "G5" not in self._options and "G6" not in self._options:
            raise InstrumentError(
                self.name,
                self.transport.resource,
                "*OPT?",
                "the harmonic measurement option /G5 or /G6 is not installed",
            )
        if self._list_order != max_order:
            items = [("I", k) for k in "123"] + [("U", k) for k in "123"]
            self.transport.configure(
                f":NUMeric:LIST:ORDer {max_order}",
                ":NUMeric:LIST:SELect ALL",
                f":NUMeric:LIST:NUMber {len(items)}",
                *(f":NUMeric:LIST:ITEM{i} {fn},{el}" for i, (fn, el) in enumerate(items, start=1)),
            )
            self._list_order = max_order
        per_item = max_order + 2
        values = np.array(self._next_update(":NUMeric:LIST:VALue?", 6 * per_item))
        rows = values.reshape(6, per_item)[:, 1:]  # drop each item's total: orders 0..N remain
        return HarmonicReading(self._count * self.update_rate_s, 0.0, rows[:3], rows[3:])

    def record(self, duration_s: float, *, during: Callable[[], object] | None = None) -> list[AnalyserReading]:
        """Buffered acquisition: the instrument stores its next ``duration_s`` of updates itself (store function,
        every update), ``during()`` runs meanwhile, and the record is fetched as a file over FTP when it ends.
        Every sample carries the instrument's update period whatever the host's polling speed; times are the
        analyser stamp before the store started + store number x :RATE (their alignment with other stamps is
        within the time the store commands took)."""
        if not self._configured:
            self.setup()
        count = max(1, math.ceil(duration_s / self.update_rate_s - 1e-9))
        start = self.read().time
        # one program message, so the store starts within an update or two of ``start`` (UNVERIFIED: WT-series
        # STORe group; interval 0,0,0 = every data update)
        self.transport.configure(
            f':STORe:STOP;:STORe:RESet;:STORe:INTerval 0,0,0;:STORe:COUNt {count};:STORe:FILE:NAME "{self.store_file}"'
            ";:STORe:STARt"
        )
        if during is not None:
            during()
        self.wait_until(start + (count + 1) * self.update_rate_s)
        state = self.transport.query(":STORe:STATe?").upper()
        for _ in range(count + 200):  # the store ends with its last update; the file is closed then
            if state.startswith("STOP"):
                break
            self.read()
            state = self.transport.query(":STORe:STATe?").upper()
        else:
            raise MalformedReply(self.name, self.transport.resource, ":STORe:STATe?", f"store did not end: {state!r}")
        return self._parse_store(self.fetch_file(f"{self.store_file}.CSV"), start)

    # ----- the commissioning probe's measurements (hilbench bench probe) ---------------------------------------
    def probe_update_period(self, updates: int = 20) -> dict[str, str]:
        """How long ``updates`` waits for the next update take on the host's clock: their mean is the update period
        the instrument keeps (``:RATE``), and the longest shows whether the wait ever slept through an update."""
        self.setup()
        gaps, last = [], time.monotonic()
        for _ in range(updates):
            self.read()
            now = time.monotonic()
            gaps.append(now - last)
            last = now
        return {
            "rate_s": f"{self.update_rate_s:g}",
            "mean_wait_s": f"{sum(gaps[1:]) / (len(gaps) - 1):.4f}",
            "longest_wait_s": f"{max(gaps[1:]):.4f}",
        }

    def probe_integration_time(self, seconds: float = 1.5) -> dict[str, str]:
        """The integration time (ITIMe) as it reads over ``seconds`` of updates: whole seconds or finer."""
        self.setup()
        readings = (self._next_update(":NUMeric:NORMal:VALue?", len(ITEMS)) for _ in self._updates_in(seconds))
        values = sorted({values[0] for values in readings})  # ITIMe is item 1
        whole = all(float(v).is_integer() for v in values)
        resolution = "whole seconds" if whole else "finer than a second"
        return {"itime_values": ", ".join(f"{v:g}" for v in values), "resolution": resolution}

    def _updates_in(self, seconds: float) -> range:
        return range(max(2, math.ceil(seconds / self.update_rate_s)))

    def probe_store(self, seconds: float = 2.0) -> dict[str, str]:
        """A ``seconds`` record through the store, timed from the first store command to the file read, with the
        file's own first line (its header)."""
        started = time.monotonic()
        samples = self.record(seconds)
        return {
            "samples": str(len(samples)),
            "expected_samples": str(max(1, math.ceil(seconds / self.update_rate_s - 1e-9))),
            "record_and_fetch_s": f"{time.monotonic() - started:.3f}",
            "header": self.last_store_header,
        }

    def _parse_store(self, text: str, start: float) -> list[AnalyserReading]:
        rows = [line.split(",") for line in text.strip().splitlines()]
        self.last_store_header = ",".join(rows[0]) if rows else ""
        expected = ["Store No.", *(f"{fn.upper()}-{el.upper()}" for fn, el in ITEMS)]
        if not rows or [c.strip().upper() for c in rows[0]] != [c.upper() for c in expected]:
            raise MalformedReply(
                self.name, self.transport.resource, "stored record", f"unexpected columns {rows[0][:4] if rows else []}"
            )
        readings = []
        for row in rows[1:]:
            try:
                number, v = int(row[0]), [float(x) for x in row[1:]]
            except ValueError:
                raise MalformedReply(self.name, self.transport.resource, "stored record", f"row {row[:3]}") from None
            readings.append(
                AnalyserReading(
                    start + number * self.update_rate_s,
                    (v[1], v[2], v[3]),
                    (v[4], v[5], v[6]),
                    (v[7], v[8], v[9]),
                    v[10],
                    v[11],
                    v[12],
                    v[13] * 3600.0,
                )
            )
        return readings

    def safe_state(self) -> None:
        """A meter has no energised output; leave it measuring, release a hold."""
        self.transport.write(":HOLD OFF")

    def read_safe_state(self) -> SafeStateReport:
        """A measuring instrument: safe whatever it reads; the hold state is reported (W5 HOLD?)."""
        held = self.transport.query(":HOLD?").strip() in ("1", "ON")
        return SafeStateReport(True, f"measuring instrument, no output; hold {'ON' if held else 'OFF'}")

    def close(self) -> None:
        self.transport.close()
