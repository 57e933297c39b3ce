"""Bench-file errors name what is wrong and are HilbenchErrors (a bug inside a check: tests/system)."""

import pytest

from hilbench.spec.bench_file import BenchFileError, parse_bench
from tests.conftest import ROOT


def test_a_bench_file_with_an_unknown_role_names_the_roles():
    data = {"roles": {"gird": {"driver": "keysight-ac6900", "address": "TCPIP::127.0.0.1::INSTR"}}}
    data["__path__"] = "lab.yaml"
    with pytest.raises(BenchFileError, match=r"lab.yaml: roles.gird: unknown role; roles: load, controller"):
        parse_bench(data)


def test_bench_file_errors_are_hilbench_errors():
    from hilbench.core.errors import HilbenchError

    assert issubclass(BenchFileError, HilbenchError)
    assert ROOT.exists()
