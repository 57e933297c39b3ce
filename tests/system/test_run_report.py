"""Reports people sign (issue 13): the record stream against its JSON Schema and read back as dataclasses, the
acceptance certificate from a run directory alone (HTML and PDF), `--verify` catching an edited figure, and the
comparison of a compliant and a non-compliant container's runs."""

from __future__ import annotations

import hashlib
import json
import subprocess

import jsonschema
import pytest
import yaml

from hilbench.report.records import RECORD_SCHEMA_VERSION, read_run
from tests.conftest import ROOT, hilbench_cli

PLAN = ROOT / "test_plans" / "mw2mh_100kw.yaml"
SCHEMA = json.loads((ROOT / "hilbench" / "data" / "records.schema.json").read_text())


@pytest.fixture(scope="module")
def runs(mw2mh_compliant, mw2mh_noncompliant):
    """The MW2MH plan on the compliant container and on the non-compliant one, whose analyser's calibration is
    overdue (accepted for the run, as a lab may when it says so): the session's shared runs."""
    assert mw2mh_compliant.returncode == 0, mw2mh_compliant.stdout[-3000:]
    assert mw2mh_noncompliant.returncode == 1, mw2mh_noncompliant.stdout[-3000:]
    return mw2mh_compliant.report, mw2mh_noncompliant.report, mw2mh_compliant.stdout


def test_every_record_of_a_run_follows_the_schema_and_reads_back(runs):
    good, _, _ = runs
    records = [json.loads(line) for line in (good / "measurements.jsonl").read_text().splitlines()]
    for record in records:
        jsonschema.validate(record, SCHEMA)
    kinds = {r["record"] for r in records}
    assert {"run_start", "plan", "check_start", "measurement", "chart", "check_end", "safe_state", "run_end"} <= kinds
    run = read_run(good)
    assert run.schema_version == RECORD_SCHEMA_VERSION and run.emulated
    plan = run.plans[0]
    assert plan.name == "mw2mh_100kw" and plan.sha256 == hashlib.sha256(PLAN.read_bytes()).hexdigest()
    assert run.start["roles"]["analyser"]["driver"] == "yokogawa-wt5000"
    assert [c.id for c in run.checks] == [c["id"] for c in yaml.safe_load(PLAN.read_text())["checks"]]
    table = run.table()
    assert len(table) == len(run.measurements) == sum(r["record"] == "measurement" for r in records)
    boot = next(r for r in table if r["name"] == "boot_time_s")
    assert boot["verdict"] == "pass" and boot["high"] is not None and boot["unit"] == "s"
    assert run.verdict() == (True, [])
    assert all(path.exists() and path.suffix == ".png" for _, path in run.charts("boot"))
    broken = dict(records[0], schema_version="one")  # the schema is not a formality
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_the_run_writes_a_self_contained_certificate_and_a_pdf_renders_from_the_directory_alone(runs, tmp_path):
    good, bad, stdout = runs
    assert "certificate: " in stdout and "verify with hilbench report" in stdout
    # not a terminal: a line per check as it starts and ends, with the time left (from inside pytest's capture)
    assert "[1/11] boot (boot) started" in stdout and "[11/11] graceful-stop (shutdown): PASS in" in stdout
    html = (good / "certificate.html").read_text()
    assert "EMULATED BENCH" in html and "Verdict: PASSED" in html
    assert hashlib.sha256(PLAN.read_bytes()).hexdigest() in html and "YOKOGAWA,WT5000" in html
    assert html.count("data:image/png;base64,") >= 3  # every chart embedded
    assert "<script" not in html and "http://" not in html and "https://" not in html  # nothing to fetch
    assert json.loads((good / "integrity.json").read_text())["sha256"] in html
    failed = (bad / "certificate.html").read_text()
    assert "Verdict: FAILED" in failed and 'class="overdue">OVERDUE since 2020-01-01' in failed
    pdf = hilbench_cli("report", str(good), "--format", "pdf", "--output", str(tmp_path / "c.pdf"))
    assert pdf.returncode == 0, pdf.stdout
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF") and (tmp_path / "c.pdf").stat().st_size > 20_000


def test_verify_catches_an_edited_figure_and_an_edited_manifest(runs, tmp_path):
    good, _, _ = runs
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(good), str(copy)], check=True)
    ok = hilbench_cli("report", str(copy), "--verify")
    assert ok.returncode == 0 and "VERIFIED" in ok.stdout, ok.stdout
    record = copy / "measurements.jsonl"
    text = record.read_text()
    edited = text.replace('"verdict": "fail"', '"verdict": "pass"', 1)
    if edited == text:  # the compliant run has no fail: move a figure instead
        line = next(ln for ln in text.splitlines() if '"name": "boot_time_s"' in ln)
        value = json.loads(line)["value"]
        edited = text.replace(line, line.replace(f'"value": {value}', f'"value": {value - 5}'))
    assert edited != text
    record.write_text(edited)
    caught = hilbench_cli("report", str(copy), "--verify")
    assert caught.returncode == 1 and "measurements.jsonl: changed since the run was sealed" in caught.stdout
    record.write_text(text)
    (copy / "raw" / "extra.npz").write_bytes(b"x")
    caught = hilbench_cli("report", str(copy), "--verify")
    assert caught.returncode == 1 and "raw/extra.npz: added after the run was sealed" in caught.stdout
    (copy / "raw" / "extra.npz").unlink()
    manifest = json.loads((copy / "integrity.json").read_text())
    manifest["sha256"] = "0" * 64
    (copy / "integrity.json").write_text(json.dumps(manifest))
    caught = hilbench_cli("report", str(copy), "--verify")
    assert caught.returncode == 1 and "the manifest was edited" in caught.stdout


def test_compare_flags_the_verdicts_that_changed_between_the_containers(runs, tmp_path):
    good, bad, _ = runs
    result = hilbench_cli("compare", str(good), str(bad), "--html", str(tmp_path / "compare.html"))
    assert result.returncode == 0, result.stdout
    changed = [line for line in result.stdout.splitlines() if "VERDICT CHANGED" in line]
    assert any(line.startswith("boot ") and "pass -> fail" in line for line in changed), result.stdout
    summary = result.stdout.strip().splitlines()[-2]
    assert f"{len(changed)} verdict(s) changed" in summary
    page = (tmp_path / "compare.html").read_text()
    assert 'class="changed"' in page and "data:image/png;base64," in page
    only = hilbench_cli("compare", str(good), str(bad), "--changed-only")
    body = only.stdout.splitlines()[3:-1]
    assert body and all("VERDICT CHANGED" in line or "MOVED" in line for line in body)
    assert hilbench_cli("compare", str(good)).returncode == 2
