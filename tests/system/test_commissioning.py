"""The commissioning gate as a lab engineer meets it: a real bench never probed is refused before anything is
opened; `hilbench bench probe` on an external bench (emulators served by `hilbench emulate --export-bench`, reached
as instruments) writes the evidence that lets the same plan run, and a refusal in that evidence refuses it again."""

from __future__ import annotations

import json
import time

import yaml

from tests.conftest import ROOT, hilbench_cli, loopback_lab_bench
from tests.system.conftest import MW2MH, external_bench, run_plan

BOOT_ONLY = """\
plan: boot-only
dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}
checks:
  - {id: boot, type: boot, limits: {boot_time_s: {max: 200}}}
"""


def test_a_lab_bench_never_probed_is_refused_before_anything_is_opened(tmp_path):
    report = tmp_path / "run"
    started = time.monotonic()
    result = run_plan(MW2MH, report, "--accept-overdue-calibration", bench=loopback_lab_bench(tmp_path), timeout=120)
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "PLAN FAILED (refused before anything was energised)" in result.stdout
    assert "analyser:store_record (:STORe:" in said and "never probed on this bench" in said
    assert "check under-frequency-trip needs grid.program_steps" in said  # the lab bench's AC6900
    assert "hilbench bench probe" in said and "--accept-unverified ROLE:FEATURE" in said
    assert time.monotonic() - started < 60  # no connection attempted (its addresses refuse)
    measured = (report / "measurements.jsonl").read_text() if (report / "measurements.jsonl").exists() else ""
    assert '"safe_state"' not in measured and '"measurement"' not in measured


def test_an_emulated_bench_with_the_ac6900_refuses_a_plan_that_needs_a_step_program(tmp_path):
    bench = tmp_path / "ac6900.yaml"
    bench.write_text((ROOT / "instruments" / "emulated.yaml").read_text().replace("ametek-sequoia", "keysight-ac6900"))
    result = run_plan(ROOT / "test_plans" / "ercot_lel_ride_through.yaml", tmp_path / "run", "-k", "reclose",
                      bench=bench, timeout=120)  # fmt: skip
    said = result.stdout + result.stderr
    assert result.returncode == 2, said[-2000:]
    assert "needs grid.program_steps, grid.trigger: the AC6900's step programs are not implemented" in said
    assert "ametek-sequoia" in said


def switch_on(bench_file) -> None:
    """The grid source's output on, through plain pyvisa (OUTPut[:STATe], Sequoia manual p.67)."""
    import pyvisa

    address = yaml.safe_load(bench_file.read_text())["roles"]["grid"]["address"]
    source = pyvisa.ResourceManager("@py").open_resource(address, read_termination="\n", write_termination="\n")
    try:
        source.write("OUTP ON")
        assert source.query("OUTP?").strip() == "1"
    finally:
        source.close()


def test_probe_then_run_on_an_external_bench(tmp_path):
    with external_bench(tmp_path / "external.yaml", time_scale=20) as exported:
        plan = tmp_path / "boot.yaml"
        plan.write_text(BOOT_ONLY)
        refused = run_plan(plan, tmp_path / "refused", bench=exported, timeout=120)
        assert refused.returncode == 2 and "never probed on this bench" in refused.stdout + refused.stderr

        probe = hilbench_cli("bench", "probe", str(exported), timeout=300)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        evidence = yaml.safe_load((tmp_path / "external.probe.yaml").read_text())
        assert evidence["emulated"] is False and evidence["roles"]["analyser"]["identity"].endswith("F1.04")
        assert "grid: output switched off for the probe" in evidence["safe_state"]
        check = hilbench_cli("bench", "check", str(exported), timeout=120)
        assert "verified on this instrument (firmware F1.04, " in check.stdout, check.stdout
        assert "UNVERIFIED: power_unit (MEAS:POW? read as watts): not probed: the unit shows only" in check.stdout

        refused = run_plan(plan, tmp_path / "unsupplied", bench=exported, timeout=120)
        assert "interlock 'PCC voltage within range' does not hold: read 0, 0, 0" in refused.stdout  # left off
        switch_on(exported)  # as the operator does after a probe
        ran = run_plan(plan, tmp_path / "probed", bench=exported, timeout=300)
        assert ran.returncode == 0, ran.stdout[-3000:]
        relied = [r for r in ran.records if r["record"] == "unverified_relied_on"]
        assert relied and relied[0]["emulated"] is False
        assert any(i.startswith("analyser:update_wait") for i in relied[0]["items"])
        assert "commissioning: analyser:store_record" not in ran.stdout  # boot stores no record: not relied on
        assert "commissioning: analyser:update_wait (" in ran.stdout  # hilbench run says what the probe showed
        assert "verified on this instrument (firmware F1.04, " in ran.stdout
        assert not [r for r in ran.records if r["record"] == "unverified_accepted"]

        evidence["roles"]["analyser"]["features"]["update_wait"]["status"] = "refused"
        evidence["roles"]["analyser"]["features"]["update_wait"]["reason"] = "-113 Undefined header"
        (tmp_path / "external.probe.yaml").write_text(yaml.safe_dump(evidence))
        again = run_plan(plan, tmp_path / "again", bench=exported, timeout=120)
        said = again.stdout + again.stderr
        assert again.returncode == 2 and "refused by this instrument (firmware F1.04" in said and "-113" in said
        accepted = run_plan(plan, tmp_path / "accepted", "--accept-unverified", "analyser:update_wait",
                            bench=exported, timeout=300)  # fmt: skip
        assert accepted.returncode == 0, accepted.stdout[-3000:]
        assert "UNVERIFIED COMMAND, accepted by --accept-unverified: analyser:update_wait" in accepted.stdout
        taken = [r for r in accepted.records if r["record"] == "unverified_accepted"]
        assert taken and "refused by this instrument" in json.dumps(taken[0]["items"])
        certificate = (tmp_path / "accepted" / "certificate.html").read_text()
        assert "UNVERIFIED COMMAND, accepted by --accept-unverified: analyser:update_wait" in certificate
