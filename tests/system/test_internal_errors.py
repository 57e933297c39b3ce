"""A bug inside a check is not an ordinary measurement error: it is recorded with its traceback as an
internal error, the check's measurements say so, the bench is made safe, and the exception reaches pytest."""

import json
import subprocess
import sys
import textwrap

from tests.conftest import loopback_block

BUGGY_TEST = textwrap.dedent(
    """
    from hilbench.plans.checks.base import check


    @check("buggy_for_test", measurements={"latency_s": "s"}, params={}, resolution_s=None)
    def buggy(ctx, params):
        return {}["a key the author forgot"]


    def test_buggy_check(hil_check):
        hil_check("buggy_for_test", limits={"latency_s": {"max": 1.0}})
    """
)


def test_a_programming_error_in_a_check_is_recorded_as_internal(tmp_path):
    (tmp_path / "test_buggy.py").write_text(BUGGY_TEST)
    report = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_buggy.py"),
         "--hil-report", str(report), "--rootdir", str(tmp_path), "--hil-address-base", loopback_block()],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-2000:]
    assert "KeyError" in result.stdout  # pytest shows the bug itself, not a limit failure
    records = [json.loads(line) for line in (report / "measurements.jsonl").read_text().splitlines()]
    internal = [r for r in records if r["record"] == "internal_error"]
    assert internal, records
    assert "Traceback" in json.dumps(internal[0]) and "a key the author forgot" in json.dumps(internal[0])
    (measured,) = [r for r in records if r.get("record") == "measurement"]
    assert measured["verdict"] == "error" and measured["note"].startswith("not measured: INTERNAL ERROR")
