"""A corpus of plans and bench files made the way people mistype them (tests/bad_input): each gets one clear line
naming the file (and the line where there is one), and `hilbench run` exits 2 without a traceback."""

from pathlib import Path

import pytest

from hilbench.plans.plan import PlanError, load_plan
from hilbench.spec.bench_file import BenchFileError, read_bench
from tests.conftest import ROOT

CORPUS = sorted((ROOT / "tests" / "bad_input").glob("*.yaml"))


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 30
    assert {p.name.split("_")[0] for p in CORPUS} == {"plan", "bench"}


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_each_malformed_file_gets_one_clear_line(path: Path):
    loader, error = (load_plan, PlanError) if path.name.startswith("plan_") else (read_bench, BenchFileError)
    with pytest.raises(error) as caught:
        loader(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 400, message
