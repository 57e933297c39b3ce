"""The WT5000's store: the reader of its stored file (pure logic), and the emulator keeping the rules the sibling
manuals give (through plain pyvisa and ftplib): no file before the store has ended and its access completed, the
columns of the store's own selection, settings it does not model refused by name."""

from __future__ import annotations

import ftplib

import pytest

from hilbench.drivers.analyser.wt_store_file import StoreFileError, column_key, read_store_file

HEADER = '"Model","WT5000"\n"Version","F1.04"\n\n'
COLUMNS = "Store No.,Date,Time,Millisecond,Urms-1,Urms-2,Urms-3,Irms-1,Irms-2,Irms-3,P-1,P-2,P-3,P-Σ,λ-Σ,FU-1,WP-Σ"
ROW = "230,231,229,140,141,139,32000,33000,31000,96000,0.99,50,2.5"


def test_columns_are_read_by_name_in_the_spellings_of_the_sibling_manuals():
    assert column_key("Urms-1") == ("URMS", "1") and column_key('"P-Sigma"') == ("P", "SIGMA")
    assert column_key("λ-Σ") == ("LAMBDA", "SIGMA") and column_key("FreqU-2") == ("FU", "2")
    assert column_key("Date") is None


def test_the_instruments_clock_times_the_samples_and_shows_a_missed_update():
    rows = [f"1,2026/12/07,10:00:00,50,{ROW}", f"2,2026/12/07,10:00:00,100,{ROW}", f"3,2026/12/07,10:00:00,200,{ROW}"]
    stored = read_store_file(HEADER + COLUMNS + "\n" + "\n".join(rows), rate_s=0.05, start=10.0)
    assert [round(r.time, 6) for r in stored.readings] == [10.05, 10.1, 10.2]  # its own clock, not n x RATE
    assert stored.header_block == ['"Model","WT5000"', '"Version","F1.04"', ""]
    assert stored.timed_by.startswith("the instrument's clock") and stored.unused_columns == []


def test_without_a_clock_the_store_number_times_the_samples():
    columns = COLUMNS.replace("Date,Time,Millisecond,", "")
    text = f"{columns}\n1,{ROW}\n3,{ROW}\n"
    stored = read_store_file(text, rate_s=0.05, start=0.0)
    assert [round(r.time, 6) for r in stored.readings] == [0.05, 0.15] and stored.timed_by.startswith("store number")


def test_a_file_without_the_needed_columns_or_with_a_bad_row_is_named():
    with pytest.raises(StoreFileError, match="columns P-SIGMA"):
        read_store_file(COLUMNS.replace(",P-Σ", "") + f"\n1,2026/12/07,10:00:00,0,{ROW}", rate_s=0.05, start=0.0)
    with pytest.raises(StoreFileError, match="line 5: not a stored update"):
        read_store_file(HEADER + COLUMNS + "\n1,2026/12/07,10:00:00,0,garbage", rate_s=0.05, start=0.0)
    with pytest.raises(StoreFileError, match="no column line"):
        read_store_file("HILREC binary header\n\x00\x01", rate_s=0.05, start=0.0)


@pytest.fixture
def emulated_analyser():
    """The WT5000 emulator on its own socket and FTP server, on a plant whose clock the test moves by hand."""
    from hilbench.emulation.instruments.yokogawa_wt5000 import WT5000
    from tests.conftest import scpi_served
    from tests.test_plant import make_plant

    clock, plant = make_plant(boards=3)
    device = WT5000(plant)
    try:
        with scpi_served(device) as analyser:
            yield clock, analyser, device.ftp.port
    finally:
        device.close()


def fetch(port: int, path: str) -> str:
    chunks: list[bytes] = []
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", port, timeout=5)
        ftp.login()
        ftp.retrbinary(f"RETR {path}", chunks.append)
    return b"".join(chunks).decode("ascii")


def configure(analyser, *commands: str) -> None:
    for command in commands:
        analyser.write(command)
    assert analyser.query(":STATus:ERRor?").startswith("0"), commands


def test_the_emulated_store_writes_its_file_only_once_its_access_has_completed(emulated_analyser):
    clock, analyser, ftp_port = emulated_analyser
    configure(analyser, ":RATE 50MS", ":STORe:SMODe MANual", ":STORe:ITEM NUMeric", ":STORe:INTerval 0,0,0",
              ":STORe:COUNt 4", ":STORe:DIRection FILE", ":STORe:FILE:TYPE ASCii", ":FILE:DRIVe RAM",
              ':FILE:CDIRectory "HILBENCH"', ':STORe:FILE:NAME "REC"', ":STORe:NUMeric:NORMal:ELEMent1 ON",
              ":STORe:NUMeric:NORMal:P ON", ":STATus:FILTer7 FALL")  # fmt: skip
    analyser.query(":STATus:EESR?")
    configure(analyser, ":STORe:STARt")
    clock._now = 0.3  # the store's 4 updates (0.05..0.2 s) are over: the file is being written
    assert analyser.query(":STORe:STATe?") == "STOP" and int(analyser.query(":STATus:CONDition?")) & 64
    with pytest.raises(ftplib.error_perm, match="550"):  # no file yet: a driver that does not wait finds none
        fetch(ftp_port, "RAM/HILBENCH/REC.CSV")
    clock._now = 1.0
    assert int(analyser.query(":STATus:EESR?")) & 64  # its access completed (bit 6, filter FALL)
    lines = fetch(ftp_port, "RAM/HILBENCH/REC.CSV").splitlines()
    columns = lines.index(next(line for line in lines if line.startswith("Store No.")))
    assert lines[0] == '"Model","WT5000"' and lines[columns] == "Store No.,Date,Time,Millisecond,P-1"
    assert len(lines) - columns - 1 == 4  # the store's own selection: one item, four updates


def test_the_emulated_store_refuses_what_it_does_not_model_and_a_start_to_memory(emulated_analyser):
    _, analyser, _ = emulated_analyser
    analyser.write(":STORe:DIRection MEMory")
    assert analyser.query(":STATus:ERRor?").startswith("-221")  # settings conflict, named
    analyser.write(":STORe:STARt")  # neither a file direction nor a file type chosen
    error = analyser.query(":STATus:ERRor?")
    assert error.startswith("-221") and "not modelled" in error


def test_a_second_store_waits_for_the_first_files_access_and_replaces_its_file(emulated_analyser):
    clock, analyser, ftp_port = emulated_analyser
    configure(analyser, ":RATE 50MS", ":STORe:COUNt 2", ":STORe:DIRection FILE", ":STORe:FILE:TYPE ASCii",
              ':STORe:FILE:NAME "REC"', ":STORe:NUMeric:NORMal:ELEMent1 ON", ":STORe:NUMeric:NORMal:P ON")  # fmt: skip
    configure(analyser, ":STORe:STARt")
    clock._now = 0.2  # ended; its file still being written
    assert analyser.query(":STORe:STATe?") == "STOP"
    analyser.write(":STORe:RESet")
    assert "still being written" in analyser.query(":STATus:ERRor?")
    clock._now = 1.0
    configure(analyser, ":STORe:RESet", ":STORe:STARt")  # the first file is gone until the second is complete
    with pytest.raises(ftplib.error_perm, match="550"):
        fetch(ftp_port, "RAM/REC.CSV")
