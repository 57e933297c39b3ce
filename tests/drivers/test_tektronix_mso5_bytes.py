"""Tektronix 5 Series MSO recorder driver, byte for byte.  T1 = MSO4000/DPO4000 Series Programmer Manual
071-2133 (Waveform Transfer group; p.2-484: value = (code - YOFf) x YMUlt + YZEro), a group the 5 Series keeps
(its Programmer Manual, Appendix D).  Horizontal and acquisition commands of the 5 Series: UNVERIFIED."""

import struct

import numpy as np
import pytest

from hilbench.drivers.recorder.tektronix_mso5 import TektronixMSO5
from hilbench.testing import expected_protocol
from hilbench.transports.errors import MalformedReply, ScpiError

NO_ERROR = ("*ESR?", "0")  # the event status register: no error bit (077-1305-02 section 3)


ARM = [  # a single-sequence record of 4 points at 1 kS/s, started now
    (":ACQuire:STATE STOP", None),  # UNVERIFIED (5 Series pages)
    (":ACQuire:MODe SAMple", None),
    (":ACQuire:STOPAfter SEQuence", None),
    (":HORizontal:MODe MANual", None),
    (":HORizontal:MODe:SAMPLERate 1.000000E+03", None),
    (":HORizontal:MODe:RECOrdlength 4", None),
    (":HORizontal:POSition 0", None),  # the trigger at the first point (UNVERIFIED page)
    NO_ERROR,
    (":ACQuire:STATE RUN", None),
    (":TRIGger:STATE?", "ARMED"),  # still filling the pre-trigger part: a FORCe now would be ignored
    (":TRIGger:STATE?", "READY"),
    (":TRIGger FORCe", None),  # start now, not on an edge
]


def recorder(transport):
    return TektronixMSO5(transport, channels={"U1": 1, "I1": 4}, sample_rate_hz=1000.0)


def block(codes) -> bytes:
    data = struct.pack(f"<{len(codes)}h", *codes)  # SRIbinary: signed, least significant byte first
    return f"#{len(str(len(data)))}{len(data)}".encode() + data


def transfer(channel: int, codes, ymult: str) -> list:
    return [
        (f":DATa:SOUrce CH{channel}", None),  # T1 Waveform Transfer: DATa:SOUrce
        (":DATa:ENCdg SRIbinary", None),  # T1: signed integer, LSB first
        (":DATa:WIDth 2", None),  # T1: two bytes per point
        (":DATa:STARt 1", None),
        (":DATa:STOP 4", None),
        NO_ERROR,
        (":WFMOutpre:XINcr?", "1.0E-3"),  # T1: seconds per point
        (":WFMOutpre:XZEro?", "0.0E+0"),  # T1: time of the first point from the trigger
        (":WFMOutpre:YMUlt?", ymult),  # T1 p.2-484
        (":WFMOutpre:YOFf?", "0.0E+0"),
        (":WFMOutpre:YZEro?", "0.0E+0"),
        (":CURVe?", block(codes)),  # T1: IEEE 488.2 definite-length block
    ]


def test_identify():
    with expected_protocol(recorder, [("*IDN?", "TEKTRONIX,MSO58,C012345,CF:91.1CT FV:1.30")]) as r:
        assert "MSO58" in r.identify()


def test_one_single_sequence_record_and_the_wired_channels():
    exchanges = [
        *ARM,
        (":ACQuire:STATE?", "1"),
        (":ACQuire:STATE?", "0"),  # the sequence is complete
        *transfer(1, [100, -100, 32767, -32768], "1.0E-2"),
        *transfer(4, [10, 20, 30, 40], "5.0E-2"),
    ]
    with expected_protocol(recorder, exchanges) as r:
        capture = r.acquire(0.004)
    assert capture.fs == pytest.approx(1000.0)
    assert np.allclose(capture.voltage[0], [1.0, -1.0, 327.67, -327.68])
    assert np.allclose(capture.current[0], [0.5, 1.0, 1.5, 2.0]) and not capture.voltage[1].any()


def test_a_short_curve_is_a_malformed_reply():
    exchanges = [
        *ARM,
        (":ACQuire:STATE?", "0"),
        *transfer(1, [1, 2], "1.0E-2"),
    ]
    with expected_protocol(recorder, exchanges, name="recorder") as r, pytest.raises(MalformedReply, match="2 points"):
        r.acquire(0.004)


def test_records_beyond_the_memory_are_refused_before_sending():
    with expected_protocol(recorder, []) as r, pytest.raises(ValueError, match="record holds"):
        r.acquire(1e6)  # 1e9 points at 1 kS/s


def test_safe_state_stops_acquiring():
    with expected_protocol(recorder, [(":ACQuire:STATE STOP", None)]) as r:
        r.safe_state()


def test_an_error_is_read_from_the_event_status_register_and_the_event_queue():
    """077-1305-02 section 3: a command error sets *ESR? bit 5 (32); ALLEv? then lists the events."""
    exchanges = [
        *ARM[:7],
        ("*ESR?", "32"),
        ("ALLEv?", '222,"Data out of range; :HORizontal:MODe:RECOrdlength 4",1,"No events to report - new events"'),
    ]
    refused = pytest.raises(ScpiError, match=r"instrument error 222, 'Data out of range; :HORizontal:MODe:RECO")
    with expected_protocol(recorder, exchanges) as r, refused:
        r.acquire(0.004)


@pytest.fixture
def emulated_scope():
    """The MSO5 emulator on its own socket, on a plant whose clock the test moves by hand; (clock, pyvisa resource)."""
    from hilbench.emulation.instruments.tektronix_mso5 import MSO5
    from tests.conftest import scpi_served
    from tests.test_plant import make_plant

    clock, plant = make_plant(boards=3)
    with scpi_served(MSO5(plant)) as scope:
        yield clock, scope


def test_the_emulated_scope_answers_no_syst_err_and_reports_it_as_an_event(emulated_scope):
    """Through plain pyvisa: SYST:ERR? is not in the 4/5/6 Series' command set, so it gets no reply (a driver that
    asks it times out, as on the scope) and leaves event 113 in the queue, behind *ESR?'s command-error bit."""
    import pyvisa

    _, scope = emulated_scope
    scope.timeout = 500
    with pytest.raises(pyvisa.errors.VisaIOError):
        scope.query("SYST:ERR?")
    scope.timeout = 5000
    assert int(scope.query("*ESR?")) & 32  # command error
    assert scope.query("ALLEv?").startswith('113,"Undefined header')
    assert scope.query("ALLEv?").startswith('0,"No events')
    assert int(scope.query("*ESR?")) == 0


def test_a_record_that_starts_before_its_trigger_is_refused():
    """The record's own trigger time (XZEro) says where the trigger sits: a record starting before it would put
    part of the capture before during() began."""
    exchanges = [*ARM, (":ACQuire:STATE?", "0"), *transfer(1, [0, 0, 0, 0], "1.0E-2")]
    exchanges[exchanges.index((":WFMOutpre:XZEro?", "0.0E+0"))] = (":WFMOutpre:XZEro?", "-2.0E-3")
    refused = pytest.raises(MalformedReply, match=r"starts 0.002 s before its trigger")
    with expected_protocol(recorder, exchanges) as r, refused:
        r.acquire(0.004)


def test_the_emulated_scope_ignores_a_force_until_the_pre_trigger_part_has_filled(emulated_scope):
    """Through plain pyvisa on the plant's clock: at the default 50 % position a 2 s record needs 1 s of pre-trigger
    fill (ARMED) before a FORCe counts (READY); the record then starts 1 s before its trigger (XZEro -1 s).  At
    position 0 it is READY at once and the record starts at the trigger."""
    clock, scope = emulated_scope
    clock._now = 10.0
    scope.write(":HORizontal:MODe:SAMPLERate 1000;:HORizontal:MODe:RECOrdlength 2000;:ACQuire:STATE RUN")
    scope.write(":TRIGger FORCe")  # at once: ignored
    assert scope.query(":TRIGger:STATE?") == "ARMED"
    clock._now = 11.0  # the 1 s pre-trigger part filled
    assert scope.query(":TRIGger:STATE?") == "READY"
    scope.write(":TRIGger FORCe")
    assert scope.query(":TRIGger:STATE?") == "TRIGGER"
    clock._now = 12.5
    assert scope.query(":TRIGger:STATE?") == "SAVE" and float(scope.query(":WFMOutpre:XZEro?")) == -1.0
    scope.write(":HORizontal:POSition 0;:ACQuire:STATE RUN")
    assert scope.query(":TRIGger:STATE?") == "READY"
    scope.write(":TRIGger FORCe")
    clock._now = 15.0
    assert float(scope.query(":WFMOutpre:XZEro?")) == 0.0
