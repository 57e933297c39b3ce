"""Plans validate on load (file:line:field), measurements judge themselves, the recorder keeps everything."""

import json
import textwrap

import pytest

from hilbench.core.measurement import ERROR, FAIL, MARGINAL, NOT_APPLICABLE, PASS, Limits, judge
from hilbench.plans.plan import PlanError, load_plan
from hilbench.report.record_writer import RecordWriter
from tests.conftest import ROOT


@pytest.mark.parametrize("plan", sorted((ROOT / "test_plans").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_plans_load(plan):
    loaded = load_plan(plan)
    assert loaded.checks and all(c.limits for c in loaded.checks)


GOOD = """\
plan: t
dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}
checks:
  - id: stop
    type: shutdown
    params: {mode: emergency}
    limits:
      emergency_time_s: {max: 2.0}
"""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("type: shutdown", "type: teleport"), "plan.yaml:5: stop.type 'teleport' is not a check"),
        (("params: {mode: emergency}", "params: {mood: emergency}"), "plan.yaml:6: stop.params.mood: not a parameter"),
        (("emergency_time_s:", "warp_s:"), "plan.yaml:8: stop.limits.warp_s: shutdown measures"),
        (("{max: 2.0}", "{max: fast}"), "plan.yaml:8: stop.limits.emergency_time_s: max must be a number"),
        (("{max: 2.0}", "{min: 3, max: 2}"), "min 3 is above max 2"),
        (("rated_kw: 97.5", "rated_kw: -1"), "dut.rated_kw must be a positive number"),
        (("id: stop", "id: Stop Now"), "plan.yaml:4: checks[0].id must match"),
        (("    limits:\n      emergency_time_s: {max: 2.0}\n", ""), "stop declares no limits"),
        (("checks:", "checks: [\n"), "plan.yaml:"),
    ],
)
def test_bad_plans_name_file_line_and_field(tmp_path, edit, message):
    path = tmp_path / "plan.yaml"
    path.write_text(GOOD.replace(*edit))
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_plan(path)


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(GOOD + textwrap.indent("- id: stop\n  type: boot\n  limits: {boot_time_s: {max: 90}}\n", "  "))
    with pytest.raises(PlanError, match="used twice"):
        load_plan(path)


def test_limits_verdicts():
    limits = Limits(low=1.0, high=3.0, marginal=0.1)
    assert limits.verdict(2.0) == PASS
    assert limits.verdict(2.9) == MARGINAL and limits.verdict(1.1) == MARGINAL
    assert limits.verdict(3.0) == MARGINAL and limits.verdict(3.0001) == FAIL
    assert limits.verdict(None) == ERROR
    assert Limits(high=2.0, high_inclusive=False).verdict(2.0) == FAIL
    assert Limits(low=0.95).verdict(0.9) == FAIL
    assert judge("c", "x", None, "s", None).verdict == NOT_APPLICABLE
    assert judge("c", "x", 5.0, "s", Limits(high=2.0)).verdict == FAIL


def test_recorder_writes_each_measurement_at_once(tmp_path):
    recorder = RecordWriter(tmp_path)
    recorder.event("check_start", check="c", declared={"x": {"high": 2.0}})
    recorder.record(judge("c", "x", 1.5, "s", Limits(high=2.0)))
    lines = (tmp_path / "measurements.jsonl").read_text().splitlines()  # readable before close: flushed
    assert [json.loads(line)["record"] for line in lines] == ["check_start", "measurement"]
    assert json.loads(lines[1])["verdict"] == PASS
    raw = recorder.save_raw("c", "trend", t=[0, 1], p=[1.0, 2.0])
    assert (tmp_path / raw).exists()
    recorder.close()


def test_no_silent_results():
    """A figure without limits is information, never a pass; a non-finite figure is an error with its reason and
    null on the record; a figure the plan made meaningless is n/a with the reason, never a number."""
    import json
    import math

    from hilbench.core.measurement import ERROR, INFO, NOT_APPLICABLE, Limits, judge

    assert judge("c", "thd", 6.9, "%", None).verdict == INFO
    for bad in (math.nan, math.inf, -math.inf):
        m = judge("c", "pst", bad, "", Limits(high=1.0))
        assert m.verdict == ERROR and m.value is None and "not a finite number" in m.note
        assert json.loads(json.dumps(m.as_dict(), allow_nan=False))["value"] is None
    short = judge("c", "pst", None, "", Limits(high=1.0), not_applicable="record shorter than 10 minutes")
    assert short.verdict == NOT_APPLICABLE and short.value is None and "10 minutes" in short.note


def test_a_record_cut_short_by_a_killed_run_is_reported_not_fatal(tmp_path):
    from hilbench.cli.run import summarise
    from hilbench.core.measurement import Limits, judge
    from hilbench.report.record_writer import RecordWriter, read_records

    recorder = RecordWriter(tmp_path)
    recorder.record(judge("c", "x", 1.5, "s", Limits(high=2.0)))
    recorder.record(judge("c", "y", 0.5, "s", Limits(high=2.0)))
    recorder.close()
    path = tmp_path / "measurements.jsonl"
    with path.open("a", encoding="utf-8") as torn:
        torn.write('{"record": "measurement", "check": "c", "name": "z", "val')  # kill -9 mid-write
    records, note = read_records(path)
    assert [r["name"] for r in records if r["record"] == "measurement"] == ["x", "y"]
    assert "measurements.jsonl:3: the last record was cut short" in note
    summary = summarise(path)
    assert summary["checks"] == 1 and any("cut short" in w for w in summary["warnings"])


def test_every_check_type_declares_the_roles_it_cannot_run_without():
    from hilbench.core.roles import ROLE_PROTOCOLS
    from hilbench.plans.checks import REGISTRY

    #: checks that judge this run's stored records and drive no instrument: they need no role
    record_only = {"validate_model"}
    for name, spec in REGISTRY.items():
        if name in record_only:
            assert spec.roles == (), name
            continue
        assert spec.roles, f"{name} declares no roles: a bench lacking one would be found only mid-run"
        assert set(spec.roles) <= set(ROLE_PROTOCOLS), (name, spec.roles)
