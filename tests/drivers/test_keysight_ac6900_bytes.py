"""Keysight AC6900 driver, byte for byte, without an emulator.

Sources (docs/references/instrument_commands.md): K1 = Keysight AC6900 Series Operating and Programming
Guide; VOLT/FREQ/OUTP/MEAS rows "likely" (consistent with the AC6800B guide).  Step programs are refused: K1's
table of contents shows no LIST subsystem and its sequence commands could not be read."""

import pytest

from hilbench.core.errors import LimitError
from hilbench.drivers.grid.keysight_ac6900 import KeysightAC6900
from hilbench.testing import expected_protocol

NO_ERROR = ("SYST:ERR?", '+0,"No error"')  # K1, SYSTem:ERRor? (IEEE 488.2 / SCPI error queue)
LIMITS = {"min_voltage_v": 180.0, "max_voltage_v": 265.0, "min_frequency_hz": 45.0, "max_frequency_hz": 65.0}


def grid(transport):
    return KeysightAC6900(transport, limits=LIMITS, nominal_v=230.0, nominal_hz=50.0)


def test_identify():
    with expected_protocol(grid, [("*IDN?", "Keysight Technologies,AC6906L,JPUB1,A.01")]) as g:  # IEEE 488.2 *IDN?
        assert g.identify().startswith("Keysight")


def test_voltage_frequency_output():
    exchanges = [
        ("VOLT 225.0000", None),  # K1: [SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]
        NO_ERROR,
        ("FREQ 50.2000", None),  # K1: [SOURce:]FREQuency[:CW]
        NO_ERROR,
        ("OUTP ON", None),  # K1: OUTPut[:STATe]
        NO_ERROR,
        ("OUTP OFF", None),
        NO_ERROR,
    ]
    with expected_protocol(grid, exchanges) as g:
        g.set_voltage(225.0)
        g.set_frequency(50.2)
        g.output(True)
        g.output(False)


def test_read_measures_voltage_frequency_power():
    exchanges = [
        ("MEAS:VOLT?", "2.301000E+02"),  # K1: MEASure[:SCALar]:VOLTage[:AC]?
        ("MEAS:FREQ?", "5.000000E+01"),  # K1: MEASure[:SCALar]:FREQuency?
        ("MEAS:POW?", "9.750000E+04"),  # K1: MEASure[:SCALar]:POWer[:AC][:REAL]?
    ]
    with expected_protocol(grid, exchanges) as g:
        reading = g.read()
    assert (reading.voltage_v, reading.frequency_hz, reading.power_w) == (230.1, 50.0, 97500.0)


def test_step_programs_are_refused_and_nothing_is_sent():
    """K1 lists no LIST subsystem and its sequence commands could not be read: no 6811C syntax on the wire."""
    from hilbench.drivers.grid.keysight_ac6900 import StepProgramUnavailable

    with expected_protocol(grid, []) as g:  # any write would fail the wire
        for attempt in (
            lambda: g.program_steps([(5.0, 230.0, 49.6), (1.0, 230.0, 50.0)]),
            g.trigger,
            lambda: g.fluctuate(2.0, 2.0, 300.0),
        ):
            with pytest.raises(StepProgramUnavailable, match=r"not implemented.*ametek-sequoia"):
                attempt()
    assert set(KeysightAC6900.unavailable) == {"program_steps", "trigger", "fluctuate"}


def test_safe_state_returns_to_nominal():
    exchanges = [
        ("VOLT 230.0000", None),
        ("FREQ 50.0000", None),
        NO_ERROR,
    ]
    with expected_protocol(grid, exchanges) as g:
        g.safe_state()
        assert g.nominal().voltage_v == 230.0 and g.nominal().frequency_hz == 50.0


def test_setpoints_beyond_the_bench_limits_send_nothing():
    with expected_protocol(grid, []) as g:  # any write would fail the wire
        with pytest.raises(LimitError, match=r"above the bench limit 265"):
            g.set_voltage(266.0)
        with pytest.raises(LimitError, match=r"below the bench limit 45"):
            g.set_frequency(44.0)


def test_an_error_in_the_queue_raises_with_instrument_and_command():
    from hilbench.transports.errors import ScpiError

    exchanges = [("VOLT 225.0000", None), ("SYST:ERR?", '-222,"Data out of range"'), ("SYST:ERR?", '+0,"No error"')]
    with (
        expected_protocol(grid, exchanges, name="grid") as g,
        pytest.raises(ScpiError, match=r"grid at .*VOLT 225.0000.*-222"),
    ):
        g.set_voltage(225.0)


def test_safe_state_is_read_back_from_the_setpoints():
    exchanges = [
        ("VOLT?", "2.300000E+02"),  # K1: [SOURce:]VOLTage? (the setpoint)
        ("FREQ?", "5.000000E+01"),  # K1: [SOURce:]FREQuency?
        ("OUTP?", "1"),  # K1: OUTPut[:STATe]?
    ]
    with expected_protocol(grid, exchanges) as g:
        report = g.read_safe_state()
    assert report.safe and report.detail == "output ON, 230.00 V, 50.000 Hz"


def test_a_source_left_off_nominal_is_not_safe():
    exchanges = [("VOLT?", "230"), ("FREQ?", "49.6"), ("OUTP?", "1")]
    with expected_protocol(grid, exchanges) as g:
        assert not g.read_safe_state().safe
