"""Instrument I/O overhead: hilbench's drivers/transports vs raw pyvisa / pymodbus, same emulators, one run.

Prints round trips per second of
  * a SCPI query (``*IDN?``) through hilbench's VisaTransport and through a bare pyvisa resource;
  * a Modbus read (13 input registers of the controller) through hilbench's ModbusTransport and a bare
    pymodbus client;
and the analyser trend rate: distinct instrument updates per plant second captured by
``YokogawaWT5000.trend`` (goal >= 20 Hz) at time scale 1.
Goal (issue 4): hilbench's overhead <= 20 % on both protocols.

    python benchmarks/io.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyvisa
from pymodbus.client import ModbusTcpClient

from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.spec.bench_file import read_bench
from hilbench.transports.exchange_log import ExchangeLog
from hilbench.transports.modbus import ModbusTransport
from hilbench.transports.visa import VisaTransport

BENCH = Path(__file__).resolve().parent.parent / "instruments" / "emulated.yaml"


def rate(work, seconds: float) -> float:
    best = 0.0
    for _ in range(3):
        count, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            work()
            count += 1
        best = max(best, count / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with EmulatedBench(read_bench(BENCH), time_scale=1.0) as bench:
        resource = bench.role("grid").address
        ours = VisaTransport("grid", resource, log=ExchangeLog())
        raw = pyvisa.ResourceManager("@py").open_resource(resource, read_termination="\n", write_termination="\n")
        scpi_ours = rate(lambda: ours.query("*IDN?"), args.seconds)
        scpi_raw = rate(lambda: raw.query("*IDN?"), args.seconds)
        raw.close()
        ours.close()

        address = bench.role("controller").address
        host, port = address[len("tcp://") :].rsplit(":", 1)
        mb_ours = ModbusTransport("controller", address, log=ExchangeLog())
        client = ModbusTcpClient(host, port=int(port))
        client.connect()
        modbus_ours = rate(lambda: mb_ours.read_input(0, 13), args.seconds)
        modbus_raw = rate(lambda: client.read_input_registers(0, count=13, device_id=1), args.seconds)
        client.close()
        mb_ours.close()

        analyser = open_driver(bench.role("analyser"))
        analyser.setup()
        samples = analyser.trend(3.0)
        updates_per_s = (len(samples) - 1) / (samples[-1].time - samples[0].time)
        analyser.close()

    def overhead(ours_rate: float, raw_rate: float) -> str:
        return f"{(raw_rate / ours_rate - 1) * 100:+.1f} % time per exchange"

    print(
        f"SCPI *IDN?      : hilbench {scpi_ours:8.0f}/s   raw pyvisa   {scpi_raw:8.0f}/s   "
        f"overhead {overhead(scpi_ours, scpi_raw)}   goal <= 20 %"
    )
    print(
        f"Modbus 13 regs  : hilbench {modbus_ours:8.0f}/s   raw pymodbus {modbus_raw:8.0f}/s   "
        f"overhead {overhead(modbus_ours, modbus_raw)}   goal <= 20 %"
    )
    print(
        f"analyser trend  : {updates_per_s:5.1f} updates per instrument second "
        f"({len(samples)} samples, update rate {analyser.update_rate_s * 1000:.0f} ms)   goal >= 20 Hz"
    )


if __name__ == "__main__":
    main()
