"""A plan whose checks need a role the bench file lacks is refused before anything is energised (exit 2), naming
the role, the checks that need it and the bench file."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT, hilbench_cli


def test_a_bench_without_the_controller_is_refused_before_anything_starts(tmp_path):
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    del bench["roles"]["controller"]
    bench_file = tmp_path / "no-controller.yaml"
    bench_file.write_text(yaml.safe_dump(bench, sort_keys=False))
    report = tmp_path / "run"
    result = hilbench_cli("run", "test_plans/mw2mh_100kw.yaml", "--bench", str(bench_file), "--report", str(report),
                          timeout=120)  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[-3000:]
    assert f"{bench_file}: the bench has no role 'controller' (needed by boot, " in out, out[-3000:]
    assert "emergency-stop" in out and "Nothing was energised" in out
    record = report / "measurements.jsonl"
    assert not record.exists() or '"run_start"' not in record.read_text()  # no bench was started
    assert "PLAN PASSED" not in out
