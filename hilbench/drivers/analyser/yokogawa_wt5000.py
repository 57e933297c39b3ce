"""Yokogawa WT5000 precision power analyser at the PCC (VISA, SCPI).

Command set: WT5000 Communication Interface User's Manual, IM WT5000-17EN (COMMunicate,
RATE, NUMeric, INTEGrate, HOLD, WAVeform, STATus groups).  Elements 1-3 are wired to the
three phases; SIGMA is their sum.  Every sample carries the instrument's own time stamp:
the integration time ``ITIMe`` since ``:INTEGrate:STARt``.
"""

from __future__ import annotations

import time

import numpy as np

from hilbench.role_spec import RoleSpec
from hilbench.roles import AnalyserReading, WaveformCapture
from hilbench.transports.errors import MalformedReply
from hilbench.transports.visa import VisaTransport

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

    def __init__(self, transport: VisaTransport, *, update_rate_s: float = 0.05, name: str = "analyser") -> None:
        self.transport = transport
        self.name = name
        self.update_rate_s = update_rate_s
        self._configured = False

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> YokogawaWT5000:
        transport = VisaTransport(
            spec.role,
            spec.address,
            error_query=":STATus:ERRor?",
            timeout_s=float(spec.settings.get("timeout_s", 10.0)),
            backend=spec.settings.get("visa_backend", "@py"),
        )
        return cls(transport, update_rate_s=float(spec.settings.get("update_rate_s", 0.05)), name=spec.role)

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def setup(self) -> None:
        """Numeric items, update rate, ASCII data; integration (re)started so ITIME runs from zero."""
        commands = [
            ":COMMunicate:HEADer OFF",
            ":COMMunicate:VERBose OFF",
            ":NUMeric:FORMat ASCii",
            f":RATE {round(self.update_rate_s * 1000)}MS",
            f":NUMeric:NORMal:NUMber {len(ITEMS)}",
        ]
        commands += [f":NUMeric:NORMal:ITEM{i} {fn},{el}" for i, (fn, el) in enumerate(ITEMS, start=1)]
        commands += [":INTEGrate:RESet", ":INTEGrate:STARt"]
        self.transport.configure(*commands)
        self._configured = True

    def read(self) -> AnalyserReading:
        if not self._configured:
            self.setup()
        values = self.transport.query_floats(":NUMeric:NORMal:VALue?")
        if len(values) != len(ITEMS):
            raise MalformedReply(
                self.name,
                self.transport.resource,
                ":NUMeric:NORMal:VALue?",
                f"expected {len(ITEMS)} values, got {len(values)}",
            )
        v = values
        return AnalyserReading(
            v[0], (v[1], v[2], v[3]), (v[4], v[5], v[6]), (v[7], v[8], v[9]), v[10], v[11], v[12], v[13] * 3600.0
        )

    def trend(self, duration_s: float, *, poll_wall_s: float = 0.0005, on_sample=None) -> list[AnalyserReading]:
        """Read every update for ``duration_s`` of instrument time (duplicates of one update dropped)."""
        first = self.read()
        samples = [first]
        if on_sample:
            on_sample(first)
        while samples[-1].time < first.time + duration_s:
            time.sleep(poll_wall_s)
            reading = self.read()
            if reading.time > samples[-1].time:
                samples.append(reading)
                if on_sample:
                    on_sample(reading)
        return samples

    def wait_until(self, instrument_time: float, *, poll_wall_s: float = 0.0005) -> AnalyserReading:
        reading = self.read()
        while reading.time < instrument_time:
            time.sleep(poll_wall_s)
            reading = self.read()
        return reading

    def capture(
        self, duration_s: float, traces: tuple[str, ...] = ("U1", "U2", "U3", "I1", "I2", "I3")
    ) -> WaveformCapture:
        """Voltage and current of the three phases over the last ``duration_s`` of instrument time
        (traces not asked for come back as zeros)."""
        start = self.read().time
        self.transport.configure(
            f":DISPlay:WAVE:TDIV {duration_s / 10:.6E}",
            ":WAVeform:FORMat FLOat",
            ":WAVeform:BYTeorder LSBFirst",
            ":WAVeform:STARt 0",
        )
        self.wait_until(start + duration_s)
        self.transport.write(":HOLD ON")
        try:
            end = self.read().time
            fs = self.transport.query_float(":WAVeform:SRATe?")
            length = int(self.transport.query_float(":WAVeform:LENGth?"))
            self.transport.write(f":WAVeform:END {length - 1}")
            data_by_trace: dict[str, np.ndarray] = {}
            for trace in traces:
                self.transport.write(f":WAVeform:TRACe {trace}")
                data = self.transport.query_block(":WAVeform:SEND?", datatype="f", big_endian=False)
                if len(data) != length:
                    raise MalformedReply(
                        self.name,
                        self.transport.resource,
                        ":WAVeform:SEND?",
                        f"{trace}: {len(data)} points, expected {length}",
                    )
                data_by_trace[trace] = np.asarray(data, dtype=np.float64)
        finally:
            self.transport.write(":HOLD OFF")
        self.transport.check_errors("waveform capture")
        empty = np.zeros(length)
        voltage = np.vstack([data_by_trace.get(f"U{k}", empty) for k in (1, 2, 3)])
        current = np.vstack([data_by_trace.get(f"I{k}", empty) for k in (1, 2, 3)])
        return WaveformCapture(end - length / fs, fs, voltage, current)

    def safe_state(self) -> None:
        """A meter has no energised output; leave it measuring, release a hold."""
        self.transport.write(":HOLD OFF")

    def close(self) -> None:
        self.transport.close()
