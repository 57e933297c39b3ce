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

The update event register holds one bit, so the count is exact only while the host asks again within one
update period of the last reply: then the update a wait returns is the next one.  A longer gap (a slow host, a
check busy between reads) may hide one or more updates: the count is advanced by the whole updates the gap
certainly held, and every later stamp carries one more update of ``stamp_slack_s`` (it may be short by that).
The gap is measured on the host's clock and turned into instrument time by ``clock_scale`` (instrument seconds
per host second: 1 on a real bench; an emulated bench publishes its time scale).  If the integration time
(whole seconds) runs ahead of the count, the count is resynchronised and the jump added to the slack too.
A time figure taken across slack beyond its check's resolution is an error (hilbench.plans.stamp_watch): time
it from the instrument's own stored record (``record()``).
"""

from __future__ import annotations

import ftplib
import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from hilbench.core.roles import AnalyserReading, HarmonicReading, SafeStateReport
from hilbench.core.unverified import ProbeCall, Query, Unverified
from hilbench.drivers.analyser.wt_store_file import StoredRecord, StoreFileError, read_store_file
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.errors import InstrumentConnectionError, InstrumentError, InstrumentTimeout, MalformedReply
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
        ":STORe:SMODe/ITEM/INTerval/COUNt/DIRection/FILE:TYPE/FILE:ANAMing/FILE:NAME/NUMeric:NORMal..., :FILE:DRIVe, "
        ":FILE:CDIRectory, :STORe:STARt/STATe?, :COMMunicate:WAIT 64 (file access), the file's layout and FTP path",
        "WT3000 pp.6-105..6-108 (primary) and WT1800E (secondary); the WT5000's store pages not read",
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

#: the functions the store keeps for each of elements 1-3 and SIGMA (its own selection, not the display's)
STORE_FUNCTIONS = ("URMS", "IRMS", "P", "LAMBda", "FU", "WP")

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
        self.missed_updates = 0  # updates the integration time showed the count had lost (resynchronised)
        self.clock_scale = 1.0  # instrument seconds per host second
        self.stamp_slack_s = 0.0
        #: (the stamp at which slack was added, how much, the host gap before it): where in instrument time the
        #: stamps became uncertain, and how sparse the samples were there
        self.slack_events: deque[tuple[float, float, float]] = deque(maxlen=100_000)
        self.slack_events_total = 0  # every event ever added (the deque keeps the latest)
        self.uncertain_updates = 0  # reads after a gap that may have hidden updates
        self.longest_gap_s = 0.0  # the longest host gap before a read, in instrument seconds
        self._answered_at: float | None = None  # host clock when the last update's reply arrived
        self._options: str | None = None
        self._list_order: int | None = None
        self.last_store: StoredRecord | None = None  # the last stored file read (for the probe's evidence)
        self.store_drive, self.store_folder = "RAM", "HILBENCH"
        self.ftp_path = "{drive}/{folder}/{name}.CSV"  # where the FTP server shows the file (UNVERIFIED)

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
        driver.clock_scale = float(spec.settings.get("clock_scale", 1.0))
        driver.store_drive = str(spec.settings.get("store_drive", driver.store_drive))
        driver.store_folder = str(spec.settings.get("store_folder", driver.store_folder))
        driver.ftp_path = str(spec.settings.get("store_ftp_path", driver.ftp_path))
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
            return b"".join(chunks).decode("utf-8", errors="replace")  # a header may spell SIGMA as Σ

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
        self._answered_at = time.monotonic()
        self.transport.check_errors(":INTEGrate:STARt")
        self._count = 0
        self._configured = True

    def _next_update(self, value_query: str, expected: int) -> list[float]:
        """Wait for the next data update, clear its event and read ``value_query`` in one message; the update is
        counted (the time stamp of what it returns is ``_count x :RATE``), with the updates a long host gap may
        have hidden (see the module's docstring)."""
        query = f":COMMunicate:WAIT 1;:STATus:EESR?;{value_query}"
        asked = time.monotonic()
        gap = 0.0 if self._answered_at is None else (asked - self._answered_at) * self.clock_scale
        reply = self.transport.query(query, idempotent=False)  # never retried: a retry lands updates later
        self._answered_at = time.monotonic()
        # a reply slower than one update plus the wait itself may carry a later update: counted as a gap too
        gap += max(0.0, (self._answered_at - asked) * self.clock_scale - 2 * self.update_rate_s)
        try:
            values = [float(x) for x in reply.partition(";")[2].split(",")]
        except ValueError:
            raise MalformedReply(self.name, self.transport.resource, query, f"not numbers: {reply[:60]!r}") from None
        if len(values) != expected:
            raise MalformedReply(
                self.name, self.transport.resource, query, f"expected {expected} values, got {len(values)}"
            )
        self._count += self._counted(gap)
        return values

    def _counted(self, gap_s: float) -> int:
        """Updates to count for a read asked ``gap_s`` (instrument time) after the last reply.  Within one update
        period the wait returns the next update; beyond it, the last update counted came at most one period before
        that reply, so the gap held at least floor(gap / rate) updates (counted) and at most one more (slack)."""
        rate = self.update_rate_s
        if gap_s <= rate:
            return 1
        self.uncertain_updates += 1
        self.longest_gap_s = max(self.longest_gap_s, gap_s)
        self.stamp_slack_s += rate
        counted = max(1, math.floor(gap_s / rate))
        self.slack_events.append(((self._count + counted) * rate, rate, gap_s))
        self.slack_events_total += 1
        return counted

    def read(self) -> AnalyserReading:
        if not self._configured:
            self.setup()
        v = self._next_update(":NUMeric:NORMal:VALue?", len(ITEMS))
        stamp = self._count * self.update_rate_s
        if v[0] > stamp + self.update_rate_s:  # the integration time (whole s) is ahead: updates were missed
            behind = math.ceil(v[0] / self.update_rate_s) - self._count
            self.missed_updates += behind
            self._count += behind
            self.stamp_slack_s += behind * self.update_rate_s  # the stamps before were short by as much
            self.slack_events.append((self._count * self.update_rate_s, behind * self.update_rate_s, 0.0))
            self.slack_events_total += 1
            stamp = self._count * self.update_rate_s
        return AnalyserReading(
            stamp,
            (v[1], v[2], v[3]),
            (v[4], v[5], v[6]),
            (v[7], v[8], v[9]),
            v[10],
            v[11],
            v[12],
            v[13] * 3600.0,
            stamp_slack_s=self.stamp_slack_s,
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

    def _store_settings(self, count: int) -> list[str]:
        """The store configured completely, as the WT-series manuals define it (WT3000 IM pp.6-105..6-108, primary;
        WT1800E pp.5-94..5-96 for :STORe:RESet and :STORe:STATe?, secondary; UNVERIFIED for the WT5000): its own
        item selection (the stored columns), manual start, every update, to an ASCII file at the bench's drive and
        folder, and the file-access event (bit 6, ACS) armed."""
        return [
            ":STORe:STOP",
            ":STORe:RESet",
            ":STORe:SMODe MANual",  # started by :STORe:STARt (WT3000 p.6-108)
            ":STORe:ITEM NUMeric",  # numeric data only (p.6-106)
            ":STORe:INTerval 0,0,0",  # every data update (p.6-106)
            f":STORe:COUNt {count}",  # p.6-105
            ":STORe:DIRection FILE",  # straight to a file (p.6-105)
            ":STORe:FILE:TYPE ASCii",  # text, not binary (p.6-105)
            f":FILE:DRIVe {self.store_drive}",  # where the file goes (p.6-105 names :FILE:DRIVe, :FILE:CDIRectory)
            f':FILE:CDIRectory "{self.store_folder}"',
            ":STORe:FILE:ANAMing OFF",  # the name below, not a numbered one (p.6-105)
            f':STORe:FILE:NAME "{self.store_file}"',
            *(f":STORe:NUMeric:NORMal:ELEMent{k} ON" for k in (1, 2, 3)),  # the store's own items (p.6-107)
            ":STORe:NUMeric:NORMal:SIGMA ON",
            *(f":STORe:NUMeric:NORMal:{function} ON" for function in STORE_FUNCTIONS),
            ":STATus:FILTer7 FALL",  # bit 6 of the extended event register: file access completed (p.7-7)
        ]

    def record(self, duration_s: float, *, during: Callable[[], object] | None = None) -> list[AnalyserReading]:
        """Buffered acquisition: the instrument stores its next ``duration_s`` of updates itself, ``during()`` runs
        meanwhile, and the file is read over FTP once the instrument says its access is complete.  Samples are
        timed by the instrument (its clock in the file, else store number x :RATE) from the analyser stamp read
        just before the store started; their alignment with other stamps is within the store's start latency."""
        if not self._configured:
            self.setup()
        count = max(1, math.ceil(duration_s / self.update_rate_s - 1e-9))
        self.transport.configure(*self._store_settings(count))
        start = self.read().time
        self.transport.write(":STORe:STARt")  # alone, right after the update read: the store starts with the next
        self.transport.check_errors(":STORe:STARt")
        if during is not None:
            during()
        self._wait_store_end(count)  # no update is read meanwhile: a read would clear the file-access event
        self._wait_file_closed()
        path = self.ftp_path.format(drive=self.store_drive, folder=self.store_folder, name=self.store_file)
        try:
            stored = read_store_file(self.fetch_file(path), rate_s=self.update_rate_s, start=start)
            if len(stored.readings) != count:
                raise StoreFileError(f"the store kept {len(stored.readings)} of the {count} updates asked for")
        except StoreFileError as exc:
            raise MalformedReply(self.name, self.transport.resource, f"stored record {path}", str(exc)) from None
        self.last_store = stored
        return stored.readings

    def _wait_store_end(self, count: int) -> None:
        """Until :STORe:STATe? says the store has ended (WT1800E, secondary), within its own length and a margin."""
        limit = (count * self.update_rate_s + 10.0) / self.clock_scale + 5.0
        deadline = time.monotonic() + limit
        while not (state := self.transport.query(":STORe:STATe?").strip().upper()).startswith("STOP"):
            if time.monotonic() > deadline:
                raise InstrumentTimeout(
                    self.name,
                    self.transport.resource,
                    ":STORe:STATe?",
                    f"the store had not ended after {limit:.3g} s: {state}",
                )
            time.sleep(min(0.05, self.update_rate_s / self.clock_scale))

    def _wait_file_closed(self) -> None:
        """Until the instrument has closed the stored file: :COMMunicate:WAIT 64 on the file-access event (WT3000
        p.6-106 waits for it before a converted file is used); no read cleared the event since the store ended."""
        self.transport.query(":COMMunicate:WAIT 64;:STATus:EESR?")

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
        file's header block and column line as the instrument wrote them."""
        started = time.monotonic()
        samples = self.record(seconds)
        stored = self.last_store
        return {
            "samples": str(len(samples)),
            "expected_samples": str(max(1, math.ceil(seconds / self.update_rate_s - 1e-9))),
            "record_and_fetch_s": f"{time.monotonic() - started:.3f}",
            "timed_by": stored.timed_by if stored else "",
            "header_block": " | ".join(stored.header_block) if stored else "",
            "columns": stored.column_line if stored else "",
            "unused_columns": ", ".join(stored.unused_columns) if stored else "",
        }

    def safe_state(self) -> None:
        """A meter has no energised output; leave it measuring, release a hold."""
        self.transport.write(":HOLD OFF")

    def read_safe_state(self) -> SafeStateReport:
        """A measuring instrument: safe whatever it reads; the hold state is reported (W5 HOLD?)."""
        held = self.transport.query(":HOLD?").strip() in ("1", "ON")
        return SafeStateReport(True, f"measuring instrument, no output; hold {'ON' if held else 'OFF'}")

    def close(self) -> None:
        self.transport.close()
