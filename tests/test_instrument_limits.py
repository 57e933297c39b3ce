"""The emulators keep the instruments' documented limits, so a driver that misuses an instrument fails in CI
as it would on hardware.  Plain pyvisa against the emulated bench, as any third-party program would talk."""

import itertools
import time

import pytest
import pyvisa

from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.spec.bench_file import read_bench
from tests.conftest import ROOT, loopback_block


@pytest.fixture(scope="module")
def emulated():
    bench = EmulatedBench(
        read_bench(ROOT / "instruments" / "emulated.yaml"), time_scale=10.0, address_base=loopback_block()
    )
    bench.start()
    yield bench
    bench.stop()


@pytest.fixture
def scpi(emulated):
    rm = pyvisa.ResourceManager("@py")
    opened = []

    def open_role(role: str):
        inst = rm.open_resource(
            emulated.resolved.role(role).address, read_termination="\n", write_termination="\n", timeout=5000
        )
        opened.append(inst)
        return inst

    yield open_role
    for inst in opened:
        inst.close()


def error(inst, query="SYST:ERR?") -> int:
    return int(inst.query(query).split(",")[0])


def test_wt5000_refuses_an_integration_reset_while_integrating(scpi):
    wt = scpi("analyser")
    wt.write(":INTEGrate:STOP;:INTEGrate:RESet;:INTEGrate:STARt")
    assert error(wt, ":STATus:ERRor?") == 0
    wt.write(":INTEGrate:RESet")  # still running: refused (stop it first)
    assert error(wt, ":STATus:ERRor?") != 0
    wt.write(":INTEGrate:STOP;:INTEGrate:RESet")
    assert error(wt, ":STATus:ERRor?") == 0


def test_wt5000_integration_time_is_whole_seconds(scpi):
    wt = scpi("analyser")
    wt.write(":INTEGrate:STOP;:INTEGrate:RESet;:INTEGrate:STARt;:NUMeric:NORMal:NUMber 1;:NUMeric:NORMal:ITEM1 ITIMe,1")
    wt.write(":RATE 50MS")
    seen = set()
    deadline = time.monotonic() + 1.0  # 10 s of plant time at x10
    while time.monotonic() < deadline:
        seen.add(float(wt.query(":NUMeric:NORMal:VALue?")))
    assert len(seen) >= 5 and all(value == int(value) for value in seen)  # never a fraction: not a clock


def test_wt5000_waits_for_each_data_update(scpi, emulated):
    wt = scpi("analyser")
    wt.write(":RATE 500MS;:STATus:FILTer1 FALL")
    wt.query(":STATus:EESR?")  # clear
    clock = emulated.clock
    stamps = []
    for _ in range(3):
        wt.write(":COMMunicate:WAIT 1")
        assert wt.query(":STATus:EESR?") == "1"  # the update bit is set once the wait returns, and reads clear
        stamps.append(clock.now())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(0.3 < gap < 0.8 for gap in gaps), gaps  # one update (0.5 s of plant time) per wait
    wt.write(":RATE 50MS")


def test_chroma_refuses_the_cp_mnemonic_the_manual_does_not_have(scpi):
    load = scpi("load")
    load.write("MODE CP")
    assert error(load) == -224  # illegal parameter value: not one of CURR|POW|VOLT|RES|RLC|RLCP|INRUSH|RECT
    load.write("MODE CURR")
    assert error(load) == -221  # a real mode the emulator does not model: refused, never faked
    load.write("MODE POW")
    assert error(load) == 0


def test_wt5000_store_keeps_its_rules_and_serves_the_record_over_ftp(scpi, emulated):
    import ftplib

    wt = scpi("analyser")
    wt.write(':RATE 50MS;:STORe:STOP;:STORe:RESet;:STORe:INTerval 0,0,0;:STORe:COUNt 4;:STORe:FILE:NAME "T1"')
    wt.write(
        ":STORe:DIRection FILE;:STORe:FILE:TYPE ASCii;:STORe:NUMeric:NORMal:ELEMent1 ON;:STORe:NUMeric:NORMal:P ON"
    )
    wt.write(":STORe:STARt")
    assert error(wt, ":STATus:ERRor?") == 0
    wt.write(":STORe:STARt")  # already storing
    assert error(wt, ":STATus:ERRor?") != 0
    wt.write(":STORe:RESet")  # not while storing
    assert error(wt, ":STATus:ERRor?") != 0
    deadline = time.monotonic() + 5
    while (wt.query(":STORe:STATe?") != "STOP" or int(wt.query(":STATus:CONDition?")) & 64) and (
        time.monotonic() < deadline
    ):  # ended, and its file access (condition bit 6) complete
        time.sleep(0.01)
    port = emulated.resolved.role("analyser").settings["ftp_port"]
    lines: list[str] = []
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", port, timeout=5)
        ftp.login()
        ftp.retrlines("RETR RAM/T1.CSV", lines.append)
    columns = next(k for k, line in enumerate(lines) if line.startswith("Store No.,"))
    assert lines[columns].endswith(",P-1") and [line.split(",")[0] for line in lines[columns + 1 :]] == [
        "1",
        "2",
        "3",
        "4",
    ]
    wt.write(":STORe:RESet;:STORe:INTerval 0,0,1")  # the emulator stores every update only: refused, not faked
    assert error(wt, ":STATus:ERRor?") != 0


def test_wt5000_waveform_send_is_the_display_record_not_samples(scpi):
    wt = scpi("analyser")
    wt.write(":DISPlay:WAVE:TDIV 0.02;:WAVeform:FORMat FLOat;:WAVeform:BYTeorder LSBFirst;:WAVeform:TRACe U1")
    assert int(wt.query(":WAVeform:LENGth?")) == 2002  # min/max pairs of 1001 rasters, whatever the window
    points = wt.query_binary_values(":WAVeform:SEND?", datatype="f", is_big_endian=False, container=list)
    assert len(points) == 2002
    pairs = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    assert all(low <= high for low, high in pairs)  # p-p compressed: each raster is (min, max)
    rate = float(wt.query(":WAVeform:SRATe?"))
    assert len(points) != round(10 * 0.02 * rate)  # not the acquisition's samples


def test_mso5_refuses_a_curve_before_its_record_is_complete_and_oversized_records(scpi):
    scope = scpi("recorder")  # its errors are events (EVMsg?: SCPI magnitudes), it has no SYST:ERR?
    scope.write(":HORizontal:MODe:RECOrdlength 70000000")
    assert error(scope, "EVMsg?") == 222  # beyond the memory
    scope.write(":HORizontal:MODe:SAMPLERate 1000;:HORizontal:MODe:RECOrdlength 5000;:HORizontal:POSition 0")
    scope.write(":ACQuire:STATE RUN")
    scope.write(":TRIGger FORCe")  # 5 s of plant time at 1 kS/s
    scope.write(":DATa:SOUrce CH1")
    scope.write(":CURVe?")
    assert error(scope, "EVMsg?") == 221  # still acquiring: no record to transfer
    scope.write(":DATa:SOUrce CH8")  # not wired on this bench
    assert error(scope, "EVMsg?") == 0


def test_mso5_clips_at_full_scale_like_a_real_front_end(emulated):
    from hilbench.emulation.instruments.tektronix_mso5 import MSO5

    scope = MSO5(emulated.plant, voltage_full_scale_v=100.0)  # a 100 V range on a 325 V peak
    assert scope.execute(":HORizontal:MODe:SAMPLERate 10000;:HORizontal:MODe:RECOrdlength 200") is None
    scope.execute(":HORizontal:POSition 0")  # trigger at the first point: a FORCe counts at once
    scope.execute(":ACQuire:STATE RUN")
    scope.execute(":TRIGger FORCe")
    time.sleep(0.05)  # 0.02 s of plant time at x10
    reply = scope.execute(":DATa:SOUrce CH1;:DATa:STARt 1;:DATa:STOP 200;:CURVe?")
    assert reply is not None, scope.next_error()
    data = pyvisa.util.from_ieee_block(reply.rstrip(b"\n"), "h", False, list)
    assert max(data) == 32767 and min(data) == -32768


def test_each_emulated_ftp_server_closes_alone():
    """Several emulated benches in one process: closing one analyser's FTP server leaves the others serving."""
    import ftplib

    from hilbench.emulation.ftp_files import FileServer

    first, second = FileServer(), FileServer()
    try:
        first.close()
        second.write("A.CSV", "x\n")
        lines: list[str] = []
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", second.port, timeout=5)
            ftp.login()
            ftp.retrlines("RETR A.CSV", lines.append)
        assert lines == ["x"]
    finally:
        second.close()


def test_wt5000_harmonic_list_data_follow_the_plant(scpi, emulated):
    wt = scpi("analyser")
    assert "G6" in wt.query("*OPT?")
    wt.write(":NUMeric:LIST:ORDer 7;:NUMeric:LIST:SELect ALL;:NUMeric:LIST:NUMber 1;:NUMeric:LIST:ITEM1 I,1")
    values = [float(v) for v in wt.query(":NUMeric:LIST:VALue?").split(",")]
    assert len(values) == 1 + 8  # total, DC, orders 1..7
    total, dc, fundamental, *harmonics = values
    assert dc == 0.0 and fundamental > 0 and harmonics[1] > 0  # the PSUs' 3rd harmonic
    assert total == pytest.approx((fundamental**2 + sum(h**2 for h in harmonics)) ** 0.5, rel=1e-5)
    wt.write(":NUMeric:LIST:ORDer 501")  # beyond the instrument's range
    assert error(wt, ":STATus:ERRor?") != 0


def test_ac6900_answers_the_6811c_list_syntax_as_headers_it_does_not_know(scpi):
    """The AC6900 guide's contents list no LIST subsystem: the emulator refuses the 6811C step-program commands as
    any unknown header (-113), so a driver that sent them would fail in CI as on the source."""
    from hilbench.emulation.instruments.keysight_ac6900 import AC6900
    from tests.conftest import scpi_served
    from tests.test_plant import make_plant

    _, plant = make_plant(boards=1)
    with scpi_served(AC6900(plant)) as source:
        for command in ("LIST:VOLT 230,207", "VOLT:MODE LIST", "TRIG:TRAN:SOUR BUS", "INIT:TRAN"):
            source.write(command)
            assert source.query("SYST:ERR?").startswith("-113"), command
        source.write("VOLT 230")
        assert source.query("SYST:ERR?").startswith(("0", "+0"))
