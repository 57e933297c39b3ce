"""Interlocks (hilbench.bench.interlocks): permissives read before any energising command and all the time the run
lives; a lost or unreadable permissive makes the bench safe at once, refuses every further command and stops
the run; the bench file's section is checked with file and line."""

import time

import pytest
import yaml

from hilbench.bench.interlocks import InterlockMonitor, InterlockTripped, PermissiveStatus
from hilbench.spec.bench_file import BenchFileError, load_bench, parse_bench
from hilbench.spec.interlock_spec import Interlocks, Permissive, ReadingRange
from tests.conftest import ROOT


def _monitor(holds: dict, trips: list) -> InterlockMonitor:
    permissives = tuple(Permissive(n, ReadingRange("meter", "voltage_v", 200, 250), "b.yaml:3") for n in holds)

    def reader(name):
        def read():
            if holds[name] is None:
                raise TimeoutError("no reply")
            return PermissiveStatus(name, holds[name], f"read {holds[name]}", time.monotonic())

        return read

    return InterlockMonitor(Interlocks(0.05, permissives), {n: reader(n) for n in holds}, on_trip=trips.append)


class _Load:
    def __init__(self):
        self.calls = []

    def output(self, on):
        self.calls.append(("output", on))

    def read(self):
        self.calls.append(("read",))

    def safe_state(self):
        self.calls.append(("safe_state",))


def test_energising_is_refused_when_a_permissive_does_not_hold_and_the_trip_acts_once():
    holds, trips = {"door": True, "breaker": True}, []
    monitor = _monitor(holds, trips)
    monitor.check_now()
    load = _Load()
    guarded = monitor.wrap("load", load)
    guarded.output(True)
    holds["door"] = False
    monitor.check_now()
    monitor.check_now()
    assert len(trips) == 1 and trips[0].name == "door"
    for call in (lambda: guarded.output(True), lambda: guarded.read()):  # commands and reads alike, after a trip
        with pytest.raises(InterlockTripped, match=r"interlock 'door' does not hold: read False; the bench was put"):
            call()
    guarded.safe_state()  # the way to safety stays open
    assert load.calls == [("output", True), ("safe_state",)]


def test_an_unreadable_permissive_is_a_lost_one_and_a_stale_status_is_read_again():
    holds, trips = {"door": True}, []
    monitor = _monitor(holds, trips)
    monitor.check_now()
    monitor.latest["door"] = PermissiveStatus("door", True, "old", time.monotonic() - 60)  # the monitor fell behind
    holds["door"] = None  # and the contact's device no longer answers
    with pytest.raises(InterlockTripped, match="could not be read: TimeoutError: no reply"):
        monitor.wrap("load", _Load()).output(True)  # read afresh before energising, not judged on old news
    assert trips and not trips[0].holds


def _bench(tmp_path, interlocks) -> dict:
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    bench["interlocks"] = interlocks
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "permissive, words",
    [
        ({"name": "x", "reading": {"role": "analyser", "quantity": "urms"}, "min": 1}, "update event register"),
        ({"name": "x", "modbus": {"unit": 1}}, "needs exactly one of discrete_input, coil, holding_register"),
        ({"name": "x", "reading": {"role": "meter", "quantity": "voltage_v"}, "min": 250, "max": 200}, "above max"),
        ({"name": "x", "reading": {"role": "meter", "quantity": "volts"}, "min": 1}, "the meter gives voltage_v"),
        ({"name": "x", "modbus": {"discrete_input": 0}, "reading": {"role": "meter"}}, "exactly one of 'modbus'"),
        ({"name": "x", "modbus": {"discrete_input": 70000}}, "register 70000 must be an integer 0..65535"),
    ],
)
def test_a_bad_interlock_section_names_file_line_and_field(tmp_path, permissive, words):
    path = _bench(tmp_path, {"period_s": 0.2, "permissives": [permissive]})
    with pytest.raises(BenchFileError, match=r"bench\.yaml:\d+: .*") as info:
        parse_bench(load_bench(path))
    assert words in str(info.value)


SERIAL_METER_BENCH = """\
bench: serial-meter
roles:
  meter: {driver: eastron-sdm630, address: rtu:///dev/ttyHILBENCH-NONE}
interlocks:
  permissives:
    - {name: PCC voltage, reading: {role: meter, quantity: voltage_v}, min: 207, max: 253}
"""


def test_a_meter_on_a_serial_bus_is_read_through_the_runs_own_driver(tmp_path):
    """One master per RS-485 bus: the monitor must not open a second connection to the port."""
    from hilbench.core.roles import MeterReading

    path = tmp_path / "bench.yaml"
    path.write_text(SERIAL_METER_BENCH)
    bench = parse_bench(load_bench(path))
    asked = []

    class _Meter:
        def read(self):
            return MeterReading((230.0, 231.0, 199.0), (1.0,) * 3, (100.0,) * 3, 300.0, 50.0, 0.0)

    def run_driver(role):
        asked.append(role)
        return _Meter()

    trips = []
    monitor = InterlockMonitor.for_bench(bench, on_trip=trips.append, run_driver=run_driver)  # opens nothing
    [status] = monitor.check_now()
    assert asked == ["meter"] and not status.holds and "199" in status.detail
    assert trips and trips[0].name == "PCC voltage"


def test_a_time_delayed_permissive_rides_through_a_short_loss_but_not_a_long_one_and_never_at_start():
    """``hold_s``: a PCC under-voltage relay that rides through a ride-through check's sag (lost, then back within
    its delay) and trips on a loss that lasts; before anything is energised any loss refuses the run."""
    holds, trips = {"pcc": True}, []
    permissives = (Permissive("pcc", ReadingRange("meter", "voltage_v", 195, 265), "b.yaml:9", hold_s=0.3),)
    clock = [100.0]

    def read():
        return PermissiveStatus("pcc", holds["pcc"], f"read {holds['pcc']}", clock[0])

    monitor = InterlockMonitor(Interlocks(0.05, permissives), {"pcc": read}, on_trip=trips.append)
    holds["pcc"] = False
    monitor.check_now()
    clock[0] += 0.2
    monitor.check_now()  # lost for 0.2 s of its 0.3 s
    holds["pcc"], clock[0] = True, clock[0] + 0.1
    monitor.check_now()  # back: the delay starts again
    assert trips == []
    holds["pcc"] = False
    for _ in range(5):
        clock[0] += 0.1
        monitor.check_now()
    assert len(trips) == 1 and trips[0].name == "pcc"  # lost for longer than its 0.3 s
    starting = InterlockMonitor(Interlocks(0.05, permissives), {"pcc": read}, on_trip=trips.append)
    starting.check_now(starting=True)
    assert len(trips) == 2  # at start-up nothing rides through
