"""Tektronix 5 Series MSO emulator (SCPI over a TCP socket): a raw-waveform recorder at the PCC.

Keeps the documented limits: one single-sequence record per ``:ACQuire:STATE RUN`` (``STOPAfter
SEQuence``), at most MAX_RECORD points per channel, 16-bit signed data scaled by WFMOutpre
YMUlt/YOFf/YZEro (value = (code - YOFf) x YMUlt + YZEro, MSO4000/DPO4000 Programmer Manual p.2-484), codes
clipped at the channel's full scale as a real front end clips, and ``CURVe?`` refused until the
record is complete.  Channel wiring from the bench file (``channels``: quantity -> channel number).

Errors as the 4/5/6 Series report them (Programmer Manual 077-1305-02, section 3 "Status and Events"): the event
status register (``*ESR?``) and the event queue (``ALLEv?``, ``EVMsg?``, ``EVENT?``; event codes are the SCPI
magnitudes, 0 meaning no event).  ``SYST:ERR?`` is not in their command set: as an undefined header it gets no
reply and puts event 113 in the queue, so a driver that asks it times out here as on the scope.

The trigger as the 5 Series help and the TDS5000B guide describe it (secondary sources, UNVERIFIED on the 5 Series
pages): ``HORizontal:POSition`` (percent of the record before the trigger, 50 by default) sets the pre-trigger
part; after ``:ACQuire:STATE RUN`` the scope fills it (``TRIGger:STATE?`` ARMED) before it takes a trigger
(READY), and a ``TRIGger FORCe`` before then is ignored.  The record then starts the pre-trigger part before the
trigger, which ``WFMOutpre:XZEro?`` reports (time of the first point relative to the trigger).
"""

from __future__ import annotations

import numpy as np

from hilbench.emulation.plant import Plant
from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.protocols.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    SETTINGS_CONFLICT,
    ScpiCommandError,
    definite_block,
    parse_number,
)

MAX_RECORD = 62_500_000
SAMPLE_RATES = (1e3, 6.25e9)  # ASSUMED bounds
QUANTITIES = ("U1", "U2", "U3", "I1", "I2", "I3")


NO_EVENTS = '0,"No events to report - queue empty"'


class MSO5(ScpiInstrument):
    error_queries = ()  # no SYST:ERR?: the event queue below instead

    def __init__(
        self,
        plant: Plant,
        *,
        channels: dict[str, int] | None = None,
        voltage_full_scale_v: float = 600.0,
        current_full_scale_a: float = 3000.0,
        serial: str = "C012345",
    ) -> None:
        super().__init__()
        self.identity = f"TEKTRONIX,MSO58,{serial},CF:91.1CT FV:1.30"
        self.plant = plant
        wiring = channels or {q: n for n, q in enumerate(QUANTITIES, start=1)}
        self.quantity_of = {int(n): q for q, n in wiring.items()}
        self.full_scale = {q: voltage_full_scale_v if q.startswith("U") else current_full_scale_a for q in QUANTITIES}
        self.reset()
        self.add("ALLEv?", lambda a, g: ",".join(self._events()) or NO_EVENTS)
        self.add("EVMsg?", lambda a, g: (self._events(1) or [NO_EVENTS])[0])
        self.add("EVENT?", lambda a, g: (self._events(1) or [NO_EVENTS])[0].split(",", 1)[0])
        self.add(":ACQuire:STATE", self._acquire_state)
        self.add(":ACQuire:STATE?", lambda a, g: "1" if self._running() else "0")
        self.add(":ACQuire:MODe", lambda a, g: self._only(a, ("SAM", "SAMPLE"), "acquisition mode"))
        self.add(":ACQuire:STOPAfter", lambda a, g: self._only(a, ("SEQ", "SEQUENCE"), "stop after"))
        self.add(":HORizontal:MODe", lambda a, g: self._only(a, ("MAN", "MANUAL"), "horizontal mode"))
        self.add(":HORizontal:MODe:SAMPLERate", self._set_rate)
        self.add(":HORizontal:MODe:RECOrdlength", self._set_length)
        self.add(":TRIGger", self._trigger)
        self.add(":TRIGger:STATE?", lambda a, g: self._trigger_state())
        self.add(":HORizontal:POSition", self._set_position)
        self.add(":HORizontal:POSition?", lambda a, g: f"{self.position:g}")
        self.add(":DATa:SOUrce", self._set_source)
        self.add(":DATa:ENCdg", lambda a, g: self._only(a, ("SRI", "SRIBINARY"), "encoding"))
        self.add(":DATa:WIDth", lambda a, g: self._only(a, ("2",), "width"))
        self.add(":DATa:STARt", lambda a, g: setattr(self, "start", int(parse_number(a[0]))))
        self.add(":DATa:STOP", lambda a, g: setattr(self, "stop", int(parse_number(a[0]))))
        self.add(":WFMOutpre:XINcr?", lambda a, g: f"{1 / self.rate:.9E}")
        self.add(":WFMOutpre:XZEro?", lambda a, g: f"{-self.pretrigger_s:.9E}")
        self.add(":WFMOutpre:YMUlt?", lambda a, g: f"{self._ymult():.9E}")
        self.add(":WFMOutpre:YOFf?", lambda a, g: "0.0E+0")
        self.add(":WFMOutpre:YZEro?", lambda a, g: "0.0E+0")
        self.add(":CURVe?", self._curve)

    def _events(self, count: int | None = None) -> list[str]:
        """Queued errors as the scope's events: '<code>,"<message>"' with the SCPI code's magnitude."""
        events = []
        while self._errors and (count is None or len(events) < count):
            code, _, message = self._errors.popleft().partition(",")
            events.append(f"{abs(int(code))},{message}")
        return events

    def reset(self) -> None:
        self.position = 50.0  # percent of the record before the trigger (the scope's default)
        self.pretrigger_s = 0.0  # of the record being (or last) taken
        self.rate = 10_000.0
        self.length = 10_000
        self.armed_at: float | None = None
        self.window: tuple[float, float] | None = None
        self.record: dict[str, np.ndarray] | None = None
        self.source = 1
        self.start, self.stop = 1, 10_000

    @staticmethod
    def _only(args: list[str], allowed: tuple[str, ...], what: str) -> None:
        if not args or args[0].upper() not in allowed:
            raise ScpiCommandError(SETTINGS_CONFLICT, f"{what} {args[0] if args else ''} is not modelled")

    def _set_rate(self, args, groups) -> None:
        rate = parse_number(args[0])
        if not SAMPLE_RATES[0] <= rate <= SAMPLE_RATES[1]:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"sample rate {rate:g}")
        self.rate = rate

    def _set_length(self, args, groups) -> None:
        length = int(parse_number(args[0]))
        if not 1 <= length <= MAX_RECORD:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"record length {length}: 1..{MAX_RECORD}")
        self.length = length

    def _acquire_state(self, args, groups) -> None:
        value = args[0].upper() if args else ""
        if value in ("RUN", "ON", "1"):
            self.armed_at, self.window, self.record = self.plant.clock.now(), None, None
        elif value in ("STOP", "OFF", "0"):
            self.armed_at = None
        else:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, value)

    def _trigger(self, args, groups) -> None:
        if not args or args[0].upper() not in ("FORC", "FORCE"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, "only :TRIGger FORCe is modelled")
        self._force()

    def _set_position(self, args, groups) -> None:
        position = parse_number(args[0]) if args else -1.0
        if not 0.0 <= position <= 100.0:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"horizontal position {position:g} %: 0..100")
        self.position = position

    def _pretrigger(self) -> float:
        return self.position / 100 * self.length / self.rate

    def _trigger_state(self) -> str:
        now = self.plant.clock.now()
        if self.window is not None:
            return "TRIGGER" if self._running() else "SAVE"
        if self.armed_at is None:
            return "SAVE"
        return "READY" if now >= self.armed_at + self._pretrigger() else "ARMED"

    def _force(self) -> None:
        if self.armed_at is None:
            raise ScpiCommandError(SETTINGS_CONFLICT, "not acquiring: :ACQuire:STATE RUN first")
        if self.window is not None or self._trigger_state() != "READY":
            return  # still filling the pre-trigger part (or already triggered): the scope ignores it
        now = self.plant.clock.now()
        self.pretrigger_s = self._pretrigger()
        start = now - self.pretrigger_s
        self.window = (start, start + self.length / self.rate)

    def _running(self) -> bool:
        return self.window is not None and self.record is None and self.plant.clock.now() < self.window[1]

    def _set_source(self, args, groups) -> None:
        name = args[0].upper() if args else ""
        if not name.startswith("CH") or not name[2:].isdigit() or not 1 <= int(name[2:]) <= 8:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"source {name}")
        self.source = int(name[2:])

    def _quantity(self) -> str:
        if self.source not in self.quantity_of:
            raise ScpiCommandError(SETTINGS_CONFLICT, f"CH{self.source} is not wired on this bench")
        return self.quantity_of[self.source]

    def _ymult(self) -> float:
        return 2 * self.full_scale[self._quantity()] / 65536

    def _curve(self, args, groups) -> bytes:
        if self.window is None or self._running():
            raise ScpiCommandError(SETTINGS_CONFLICT, "no complete record (acquisition running or never triggered)")
        if self.record is None:
            t0, t1 = self.window
            voltage, current = self.plant.pcc_waveforms(t0, t1, self.rate)
            self.record = {f"U{k + 1}": voltage[k] for k in range(3)} | {f"I{k + 1}": current[k] for k in range(3)}
        quantity = self._quantity()
        data = self.record[quantity]
        if not 1 <= self.start <= self.stop <= len(data):
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"points {self.start}..{self.stop} of {len(data)}")
        codes = np.clip(np.round(data[self.start - 1 : self.stop] / self._ymult()), -32768, 32767).astype("<i2")
        return definite_block(codes.tobytes())


def emulate(plant: Plant, spec) -> MSO5:
    """Entry point of the ``hilbench.emulators`` group for the ``tektronix-mso5`` model."""
    channels = spec.settings.get("channels")
    return MSO5(
        plant,
        channels=channels,
        voltage_full_scale_v=float(spec.settings.get("voltage_full_scale_v", 600.0)),
        current_full_scale_a=float(spec.settings.get("current_full_scale_a", 3000.0)),
    )
