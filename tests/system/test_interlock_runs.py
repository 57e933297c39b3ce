"""Interlocks through `hilbench run`: a door opened mid-run makes the bench safe at once and stops the run; a
permissive that does not hold at the start energises nothing."""

import re

from tests.conftest import ROOT
from tests.system.conftest import MW2MH, run_plan
from tests.test_interlocks import _bench


def _run(tmp_path, bench, *extra):
    proc = run_plan(MW2MH, tmp_path / "run", "-k", "boot or step", *extra, bench=bench, timeout=240)
    return proc, proc.records


def test_a_door_opened_mid_run_makes_the_bench_safe_at_once_and_stops_the_run(tmp_path):
    proc, records = _run(tmp_path, ROOT / "instruments" / "emulated.yaml", "--inject-fault", "interlock:opens@150")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "PLAN FAILED" in out and "INTERLOCK TRIPPED: cell door closed" in out, out[-3000:]
    tripped = next(r for r in records if r["record"] == "interlock_tripped")
    assert tripped["name"] == "cell door closed" and "read 0, permits 1" in tripped["detail"]
    at_trip = [r for r in records if r["record"] == "safe_state" and r.get("context") == "interlock trip"]
    assert {r["role"] for r in at_trip if r["confirmed"]} >= {"controller", "analyser"}, at_trip
    assert at_trip[-1]["wall_time"] - tripped["wall_time"] < 2.0  # from the monitor's thread, not after the check
    measured = [r for r in records if r["record"] == "measurement"]
    hit = {r["check"] for r in measured if "InterlockTripped" in r["note"]}
    assert len(hit) == 1 and all(r["verdict"] == "error" for r in measured if r["check"] in hit)  # no figure after it
    started = [r["check"] for r in records if r["record"] == "check_start"]
    assert started[-1] in hit  # the run stopped: no check started after the one the trip ended
    final = [r for r in records if r["record"] == "safe_state" and "context" not in r]
    assert all(r["confirmed"] is not False for r in final), final
    print(f"trip -> safe state of every role in {at_trip[-1]['wall_time'] - tripped['wall_time']:.2f} s; "
          f"checks started: {started}")  # fmt: skip


def test_a_permissive_that_does_not_hold_at_start_energises_nothing(tmp_path):
    bench = _bench(tmp_path, {"permissives": [
        {"name": "PCC voltage within range", "reading": {"role": "meter", "quantity": "voltage_v"}, "min": 300.0},
    ]})  # fmt: skip
    proc, records = _run(tmp_path, bench)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-2000:]
    assert re.search(
        r"nothing was energised: interlock .PCC voltage within range. does not hold: read 2\d\d\.\d", out
    ), out[-2000:]
    assert not [r for r in records if r["record"] in ("check_start", "measurement")]
