"""Tektronix 5 Series MSO (MSO54/56/58) as the raw-waveform recorder (VISA, SCPI).

Eight channels with long memory, so the three phase voltages and currents of the PCC are wired
permanently (bench settings ``channels``: quantity -> channel number).  Waveform transfer as the
Tektronix programmer manuals give it (MSO4000/DPO4000 Programmer Manual 071-2133, Waveform Transfer
group: DATa:SOUrce/ENCdg/WIDth/STARt/STOP, WFMOutpre:XINcr/XZEro/YMUlt/YOFf/YZEro, CURVe?, and
p.2-484: value = (code - YOFf) x YMUlt + YZEro; the 5 Series keeps the group, Appendix D).  The
horizontal and acquisition commands of the 5 Series were not read: ``UNVERIFIED``.  Errors are read as the
4/5/6 Series report them (Programmer Manual 077-1305-02, section 3 "Status and Events"): ``*ESR?``, then the event
queue ``ALLEv?``; ``SYST:ERR?`` is not in their command set and gets no reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from hilbench.core.roles import SafeStateReport, WaveformCapture
from hilbench.core.unverified import ProbeCall, Query, Unverified
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.error_reporting import EventStatusQueue
from hilbench.transports.errors import InstrumentTimeout, MalformedReply
from hilbench.transports.visa import VisaTransport

QUANTITIES = ("U1", "U2", "U3", "I1", "I2", "I3")
DEFAULT_CHANNELS = {q: n for n, q in enumerate(QUANTITIES, start=1)}
MAX_RECORD = 62_500_000  # points per channel, standard memory (UNVERIFIED: option-dependent)


class TektronixMSO5:
    role = "recorder"
    unverified = (
        Unverified(
            "acquisition",
            ":HORizontal:MODe MANual, :HORizontal:MODe:SAMPLERate, :HORizontal:MODe:RECOrdlength, :ACQuire:STOPAfter "
            "SEQuence, :ACQuire:STATE RUN|STOP|?, :HORizontal:POSition 0, :TRIGger:STATE? READY, :TRIGger FORCe",
            "5 Series pages not read; trigger position and READY from the 5 Series help and the TDS5000B guide "
            "(secondary)",
            probe=(ProbeCall("probe_acquisition"),),
        ),
        Unverified(
            "event_queue",
            "*ESR?, ALLEv? (replies read without headers)",
            "the 4/5/6 Series status section (077-1305-02 section 3); headerless replies not seen on the instrument",
            probe=(Query("*ESR?"), Query("ALLEv?")),
        ),
    )

    def __init__(
        self,
        transport: VisaTransport,
        *,
        channels: dict[str, int] | None = None,
        sample_rate_hz: float = 10_000.0,
        name: str = "recorder",
    ) -> None:
        self.transport, self.name = transport, name
        self.transport.errors = EventStatusQueue()  # *ESR? + ALLEv? (077-1305-02 section 3), never SYST:ERR?
        self.channels = dict(channels or DEFAULT_CHANNELS)
        unknown = set(self.channels) - set(QUANTITIES)
        if unknown or not all(1 <= n <= 8 for n in self.channels.values()):
            raise ValueError(f"{name}: channels maps {', '.join(QUANTITIES)} to 1..8, got {self.channels}")
        self.sample_rate_hz = sample_rate_hz

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> TektronixMSO5:
        transport = VisaTransport(
            spec.role,
            spec.address,
            timeout_s=float(spec.settings.get("timeout_s", 60.0)),
            backend=spec.settings.get("visa_backend", "@py"),
        )
        return cls(
            transport,
            channels=spec.settings.get("channels"),
            sample_rate_hz=float(spec.settings.get("sample_rate_hz", 10_000.0)),
            name=spec.role,
        )

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def acquire(self, duration_s: float, *, during: Callable[[], object] | None = None) -> WaveformCapture:
        """One single-sequence acquisition of ``duration_s`` at the bench's sample rate, started now (forced
        trigger); ``during()`` runs while it records; every wired quantity transferred as 16-bit data."""
        points = round(duration_s * self.sample_rate_hz)
        if not 1 <= points <= MAX_RECORD:
            raise ValueError(f"{self.name}: {points} points per channel; the record holds 1..{MAX_RECORD}")
        self.transport.configure(
            ":ACQuire:STATE STOP",
            ":ACQuire:MODe SAMple",
            ":ACQuire:STOPAfter SEQuence",  # one record, then stop
            ":HORizontal:MODe MANual",
            f":HORizontal:MODe:SAMPLERate {self.sample_rate_hz:.6E}",
            f":HORizontal:MODe:RECOrdlength {points}",
            ":HORizontal:POSition 0",  # the trigger at the record's first point: nothing recorded before during()
        )
        self.transport.write(":ACQuire:STATE RUN")
        self._wait_ready()  # a FORCe before the pre-trigger part has filled is ignored by the scope
        self.transport.write(":TRIGger FORCe")  # start the record now, not on a signal edge
        if during is not None:
            during()
        self._wait_done(duration_s)
        data = {q: self._transfer(n, points) for q, n in self.channels.items()}
        fs = 1.0 / data[next(iter(data))][1]
        t0 = data[next(iter(data))][2]
        empty = np.zeros(points)
        voltage = np.vstack([data[q][0] if q in data else empty for q in ("U1", "U2", "U3")])
        current = np.vstack([data[q][0] if q in data else empty for q in ("I1", "I2", "I3")])
        return WaveformCapture(t0, fs, voltage, current)

    def probe_acquisition(self) -> dict[str, str]:
        """The commissioning probe's try of the acquisition commands: a 20 ms record with nothing connected to
        anything energising (a scope has no output), timed, with its own trigger time."""
        started = time.monotonic()
        capture = self.acquire(0.02)
        return {
            "points": str(capture.voltage.shape[1]),
            "sample_rate_hz": f"{capture.fs:g}",
            "first_point_after_trigger_s": f"{capture.t0 + 0.0:.6g}",  # + 0.0: no "-0"
            "seconds": f"{time.monotonic() - started:.3f}",
        }

    def _wait_ready(self, timeout_s: float = 10.0) -> None:
        """Until the scope takes a trigger (READY): a FORCe while it still fills the pre-trigger part is ignored."""
        self._poll_until(":TRIGger:STATE?", ("READY",), timeout_s)

    def _wait_done(self, duration_s: float) -> None:
        """Until the single sequence is complete (acquisition state 0)."""
        self._poll_until(":ACQuire:STATE?", ("0", "STOP"), 2 * duration_s + 30.0)

    def _poll_until(self, query: str, accepted: tuple[str, ...], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while (reply := self.transport.query(query).strip().upper()) not in accepted:
            if time.monotonic() > deadline:
                raise InstrumentTimeout(
                    self.name, self.transport.resource, query, f"still {reply} after {timeout_s:g} s"
                )
            time.sleep(0.01)

    def _transfer(self, channel: int, points: int) -> tuple[np.ndarray, float, float]:
        """One channel as (values, seconds per point, time of the first point relative to the trigger)."""
        self.transport.configure(
            f":DATa:SOUrce CH{channel}",
            ":DATa:ENCdg SRIbinary",  # signed integers, least significant byte first
            ":DATa:WIDth 2",
            ":DATa:STARt 1",
            f":DATa:STOP {points}",
        )
        xincr = self.transport.query_float(":WFMOutpre:XINcr?")
        xzero = self.transport.query_float(":WFMOutpre:XZEro?")
        ymult = self.transport.query_float(":WFMOutpre:YMUlt?")
        yoff = self.transport.query_float(":WFMOutpre:YOFf?")
        yzero = self.transport.query_float(":WFMOutpre:YZEro?")
        codes = np.asarray(self.transport.query_block(":CURVe?", datatype="h", big_endian=False), dtype=np.float64)
        if len(codes) != points or not xincr > 0:
            raise MalformedReply(
                self.name, self.transport.resource, f"CURVe? CH{channel}", f"{len(codes)} points at {xincr} s"
            )
        if xzero < -xincr:  # the record's own trigger time: it must not start before the trigger
            raise MalformedReply(
                self.name, self.transport.resource, f"WFMOutpre:XZEro? CH{channel}",
                f"the record starts {-xzero:.6g} s before its trigger (trigger position not at 0 %)",
            )  # fmt: skip
        return (codes - yoff) * ymult + yzero, xincr, xzero

    def safe_state(self) -> None:
        """A recorder has no energised output: stop acquiring."""
        self.transport.write(":ACQuire:STATE STOP")

    def read_safe_state(self) -> SafeStateReport:
        state = self.transport.query(":ACQuire:STATE?").strip()
        return SafeStateReport(True, f"measuring instrument, no output; acquisition state {state}")

    def close(self) -> None:
        self.transport.close()
