"""`hilbench bench check` on a bench whose instruments do not answer: every role is asked at once, each line says
UNREACHABLE with its address and timeout, and the whole check ends within one timeout (loopback only: a port that
refuses and a listener that accepts and never answers)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from hilbench.cli.bench_check import check_bench


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_listener():
    """A TCP listener that accepts every connection and never says a word (an instrument hung mid-boot)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def write_dead_bench(tmp_path, silent: int, refused: int) -> object:
    bench = tmp_path / "switched-off.yaml"
    bench.write_text(f"""\
bench: switched-off
emulated: false
roles:
  grid:
    driver: keysight-ac6900
    address: TCPIP0::127.0.0.1::{refused}::SOCKET
    settings: {{nominal_voltage_v: 230.0, nominal_frequency_hz: 50.0}}
  analyser:
    driver: yokogawa-wt5000
    address: TCPIP0::127.0.0.1::{silent}::SOCKET
    settings: {{timeout_s: 20}}
  recorder:
    driver: tektronix-mso5
    address: TCPIP0::127.0.0.1::{silent}::SOCKET
    settings: {{timeout_s: 120}}
  controller:
    driver: modbus-map-controller
    address: tcp://127.0.0.1:{silent}
    settings: {{map: reference}}
  meter:
    driver: eastron-sdm630
    address: tcp://127.0.0.1:{refused}
""")
    return bench


def test_a_switched_off_bench_is_reported_role_by_role_within_one_timeout(tmp_path, silent_listener, capsys):
    refused = free_port()  # bound once, then closed: nothing listens there
    bench = write_dead_bench(tmp_path, silent_listener, refused)
    started = time.monotonic()
    status = check_bench(bench, timeout_s=1.5)
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert status == 1 and "bench check FAILED (9 problem(s))" in out, out  # 5 unreachable, 4 without calibration
    assert elapsed < 1.5 + 2.0, (elapsed, out)  # concurrently: one timeout, not five in a row
    lines = [line for line in out.splitlines() if " UNREACHABLE " in line]
    assert len(lines) == 5, out
    identities = [part.splitlines()[0] for part in out.split("identity: ")[1:]]
    assert len(identities) == 5 and all(line.endswith("(timeout 1.5 s)") for line in identities), identities
    assert sum(f"127.0.0.1::{silent_listener}::SOCKET" in line for line in identities) == 2  # analyser, recorder
    assert any(f"tcp://127.0.0.1:{silent_listener}" in line for line in identities)  # controller
    assert sum(str(refused) in line for line in identities) == 2  # grid, meter
