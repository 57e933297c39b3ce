"""Third-party clients with only the documentation: mbpoll on the Modbus devices, plain pyvisa on SCPI.

CI installs mbpoll (Debian package) and sets HILBENCH_REQUIRE_MBPOLL=1, so a missing mbpoll fails
there instead of skipping; on a developer machine without it the mbpoll tests skip with the reason.
"""

import os
import shutil
import subprocess

import pytest
import pyvisa


def mbpoll(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("mbpoll") is None:
        if os.environ.get("HILBENCH_REQUIRE_MBPOLL") == "1":
            pytest.fail("mbpoll is required here (HILBENCH_REQUIRE_MBPOLL=1) but not installed")
        pytest.skip("mbpoll not installed (Debian: apt-get install mbpoll)")
    return subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", "1", "-0", "-1", "-o", "5", *args], capture_output=True, text=True, timeout=20
    )


def host_port(address: str) -> tuple[str, str]:
    host, port = address[len("tcp://") :].rsplit(":", 1)
    return host, port


def values(output: str) -> dict[int, float]:
    return {
        # mbpoll prints e.g. "[4]: 65488 (-48)" for registers above 32767: keep the unsigned value
        int(line.split("]")[0][1:]): float(line.split(":", 1)[1].split()[0])
        for line in output.splitlines()
        if line.startswith("[")
    }


def test_mbpoll_reads_the_controller_map_and_gets_the_exception(hil_bench, hil_driver):
    status = hil_driver("controller").read()
    host, port = host_port(hil_bench.role("controller").address)
    read = mbpoll("-t", "3", "-r", "0", "-c", "13", "-p", port, host)
    assert read.returncode == 0, read.stderr
    regs = values(read.stdout)
    assert regs[12] == status.boards_total and regs[11] == round(status.rated_power_w / 100)
    refused = mbpoll("-t", "4", "-r", "1", "-p", port, host, "9")  # mode 9 does not exist
    assert refused.returncode != 0 and "Illegal data value" in refused.stderr


def test_mbpoll_reads_sdm630_floats(hil_bench, hil_expected):
    host, port = host_port(hil_bench.role("meter").address)
    read = mbpoll("-t", "3:float", "-B", "-r", "70", "-c", "2", "-p", port, host)
    assert read.returncode == 0, read.stderr
    regs = values(read.stdout)
    assert regs[70] == pytest.approx(hil_expected.nominal_hz, abs=0.5) and regs[72] > 0


@pytest.mark.parametrize("role", ["grid", "analyser", "load"])
def test_plain_pyvisa_socket_resource(hil_bench, role):
    resource = hil_bench.role(role).address
    if not resource.upper().startswith("TCPIP"):
        pytest.skip(f"{role} is not a LAN SCPI instrument on this bench ({resource})")
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=5000)
    try:
        assert len(inst.query("*IDN?").split(",")) == 4  # IEEE 488.2: maker, model, serial, firmware
        inst.write("NOT:A:COMMAND")
        error = inst.query("SYST:ERR?")
        assert error.startswith("-113")
        assert inst.query("SYST:ERR?").startswith("0,")
    finally:
        inst.close()
