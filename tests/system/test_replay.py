"""`hilbench replay`: a stored run judged again against a stricter plan and another harmonics table, without any
instrument (no emulator is running while it replays); the run directory is never modified; what the run did not
measure is never passed."""

import hashlib
import json

import pytest
import yaml

from tests.conftest import ROOT, hilbench_cli

PLAN = ROOT / "test_plans" / "mw2mh_100kw.yaml"


def _digest(run_dir):
    return {
        p.relative_to(run_dir): hashlib.sha256(p.read_bytes()).hexdigest() for p in run_dir.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def stored_run(mw2mh_compliant):
    """The session's MW2MH run on the compliant container (only ever read here)."""
    assert mw2mh_compliant.returncode == 0, mw2mh_compliant.stdout[-3000:]
    return mw2mh_compliant.report


def _stricter_plan(tmp_path, **changes):
    plan = yaml.safe_load(PLAN.read_text())
    for check in plan["checks"]:
        for key, value in changes.get(check["id"], {}).items():
            check.setdefault(key, {}).update(value)
    path = tmp_path / "stricter.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def test_the_run_judged_against_its_own_limits_gives_its_own_verdicts(stored_run, tmp_path):
    before = _digest(stored_run)
    result = hilbench_cli("replay", str(stored_run), "--report", str(tmp_path / "same"))
    assert result.returncode == 0 and "0 verdict(s) changed" in result.stdout and "REPLAY PASSED" in result.stdout
    assert _digest(stored_run) == before  # only read
    certificate = (tmp_path / "same" / "certificate.html").read_text()  # the replay is sealed and certified
    assert f"REPLAY of {stored_run}" in certificate and "Verdict: PASSED" in certificate
    assert hilbench_cli("report", str(tmp_path / "same"), "--verify").returncode == 0


def test_a_stricter_plan_and_another_table_change_the_verdicts_they_should(stored_run, tmp_path):
    before = _digest(stored_run)
    stored = [json.loads(line) for line in (stored_run / "measurements.jsonl").read_text().splitlines()]
    boot = next(r for r in stored if r["record"] == "measurement" and r["name"] == "boot_time_s")
    plan = _stricter_plan(
        tmp_path,
        boot={"limits": {"boot_time_s": {"max": round(boot["value"] - 5, 1)}}},
        **{"harmonics-ieee519": {"params": {"table": "iec61000-3-2"}}},
    )
    result = hilbench_cli("replay", str(stored_run), "--plan", str(plan), "--report", str(tmp_path / "strict"),
                       "--only-failed")  # fmt: skip
    out = result.stdout
    assert result.returncode == 1 and "REPLAY FAILED" in out, out
    assert "boot_time_s" in out and "pass -> fail" in out, out
    assert "recomputed from the stored captures with table changed" in out
    replayed = [json.loads(line) for line in (tmp_path / "strict" / "measurements.jsonl").read_text().splitlines()]
    start = replayed[0]
    assert start["record"] == "run_start" and start["replay"] is True and start["replay_of"] == str(stored_run)
    worst = next(r for r in replayed if r["record"] == "measurement" and r["name"] == "worst_ratio")
    old_worst = next(r for r in stored if r["record"] == "measurement" and r["name"] == "worst_ratio")
    assert worst["value"] != old_worst["value"] and "(iec61000-3-2)" in worst["note"]  # judged per PSU, another table
    assert _digest(stored_run) == before
    print(f"boot {boot['value']:.1f} s: pass -> fail at max {boot['value'] - 5:.1f}; worst ratio "
          f"{old_worst['value']:.3f} (ieee519) -> {worst['value']:.3f} (iec61000-3-2): {worst['verdict']}")  # fmt: skip


def test_new_parameters_the_run_did_not_measure_with_are_errors_not_passes(stored_run, tmp_path):
    plan = _stricter_plan(tmp_path, boot={"params": {"target_percent": 99}})
    result = hilbench_cli("replay", str(stored_run), "--plan", str(plan), "--report", str(tmp_path / "params"))
    replayed = [json.loads(line) for line in (tmp_path / "params" / "measurements.jsonl").read_text().splitlines()]
    boot = [r for r in replayed if r["record"] == "measurement" and r["check"] == "boot"]
    assert boot and all(r["verdict"] == "error" and "target_percent changed" in r["note"] for r in boot), boot
    assert result.returncode == 1


def test_a_replay_is_never_written_into_the_run(stored_run):
    result = hilbench_cli("replay", str(stored_run), "--report", str(stored_run / "again"))
    assert result.returncode == 2 and "never into it" in result.stdout
