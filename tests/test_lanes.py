"""The fast lane stays fast: a test that starts `hilbench run`, `hilbench emulate` or pytest in a subprocess lives
in tests/system/ (marked slow by its conftest), so `pytest -m "not slow"` never pays for one."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

SPAWNS = re.compile(
    r"""["']hilbench\.cli["'],\s*["'](run|emulate)["']"""  # [sys.executable, "-m", "hilbench.cli", "run", ...]
    r"""|hilbench_cli\(\s*["'](run|emulate)["']"""  # the helper in tests/conftest.py
    r"""|["']-m["'],\s*["']pytest["']"""  # a pytest of its own
)


def test_no_test_outside_tests_system_starts_a_run_an_emulator_or_a_pytest():
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        relative = path.relative_to(ROOT / "tests")
        if relative.parts[0] in ("system", "labgrid", "thirdparty_model") or path == Path(__file__):
            continue  # labgrid: its own environment in .ci/run; thirdparty_model: a package, not tests
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SPAWNS.search(line):
                offenders.append(f"tests/{relative}:{number}: {line.strip()}")
    assert not offenders, "move these tests to tests/system/:\n" + "\n".join(offenders)


def test_the_lane_test_sees_what_it_forbids():
    assert SPAWNS.search('[sys.executable, "-m", "hilbench.cli", "run", str(plan)]')
    assert SPAWNS.search('hilbench_cli("emulate", "--boards", "2")')
    assert SPAWNS.search('[sys.executable, "-m", "pytest", "-q"]')
    assert not SPAWNS.search('hilbench_cli("report", str(run))')
