"""Drivers for the grid role."""

from __future__ import annotations

from hilbench.core.roles import SafeStateReport
from hilbench.transports.visa import VisaTransport


def read_source_safe_state(
    transport: VisaTransport, nominal_v: float, nominal_hz: float, *, list_modes: bool = True
) -> SafeStateReport:
    """What a programmable AC source reports after its safe state: output off, or fixed (not list) at the bench
    file's nominal voltage and frequency.  The setpoint and mode queries the AC6900 and Sequoia share (a source
    that never plays lists, ``list_modes=False``, is not asked for its modes)."""
    volts = transport.query_float("VOLT?")
    hertz = transport.query_float("FREQ?")
    on = transport.query("OUTP?").strip() in ("1", "ON")
    modes = ("FIX", "FIX")
    if list_modes:
        modes = transport.query("VOLT:MODE?").strip().upper(), transport.query("FREQ:MODE?").strip().upper()
    nominal = abs(volts - nominal_v) <= 0.005 * nominal_v and abs(hertz - nominal_hz) <= 0.01
    fixed = all(m.startswith("FIX") for m in modes)
    detail = f"output {'ON' if on else 'OFF'}, {volts:.2f} V, {hertz:.3f} Hz"
    if list_modes:
        detail += f", modes {modes[0]}/{modes[1]}"
    return SafeStateReport(not on or (nominal and fixed), detail)
