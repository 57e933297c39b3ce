"""Chroma 63800 load driver, byte for byte.  C1 = Chroma 63800 Series Operation & Programming Manual p.8-13
(``[LOAD:]MODE CURR|POW|VOLT|RES|RLC|RLCP|INRUSH|RECT``; ``[:LOAD]:POW``; ``:LOAD ON|OFF``;
``:MEAS:POW:REAL?``), cross-checked with C2, a public Python driver for the 63802."""

import pytest

from hilbench.core.errors import LimitError
from hilbench.drivers.load.chroma_63800 import Chroma63800
from hilbench.testing import expected_protocol
from hilbench.transports.errors import MalformedReply

NO_ERROR = ("SYST:ERR?", '0,"No error"')


def load(transport):
    return Chroma63800(transport, limits={"max_power_w": 4500.0})


def test_constant_power_setpoint():
    exchanges = [
        ("MODE POW", None),  # C1 p.8-13: constant power is MODE POW (there is no CP mnemonic)
        ("POW 3000.00", None),  # C1 p.8-13: [:LOAD]:POW <W>
        NO_ERROR,
    ]
    with expected_protocol(load, exchanges) as ld:
        ld.set_power(3000.0)


def test_input_on_off_and_reading():
    exchanges = [
        ("LOAD ON", None),  # C1: :LOAD ON|OFF
        NO_ERROR,
        ("MEAS:POW:REAL?", "2.998000E+03"),  # C1: :MEAS:POW:REAL?
        ("LOAD?", "ON"),
        ("LOAD OFF", None),  # safe state: input off
        NO_ERROR,
    ]
    with expected_protocol(load, exchanges) as ld:
        ld.output(True)
        reading = ld.read()
        assert reading.power_w == pytest.approx(2998.0) and reading.input_on
        ld.safe_state()


def test_refusals_send_nothing():
    with expected_protocol(load, []) as ld, pytest.raises(LimitError, match=r"above the bench limit 4500"):
        ld.set_power(4600.0)
        with pytest.raises(ValueError, match=r"negative"):
            ld.set_power(-1.0)


def test_a_garbled_state_reply_names_the_instrument():
    exchanges = [("MEAS:POW:REAL?", "1.0E+03"), ("LOAD?", "MAYBE")]
    with (
        expected_protocol(load, exchanges, name="load") as ld,
        pytest.raises(MalformedReply, match=r"load at .*LOAD\\?.*MAYBE"),
    ):
        ld.read()


def test_identify():
    with expected_protocol(load, [("*IDN?", "Chroma,63804,638040000001,1.00")]) as ld:  # IEEE 488.2 *IDN?
        assert "63804" in ld.identify()
