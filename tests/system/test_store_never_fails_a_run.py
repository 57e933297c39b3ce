"""The results store is a convenience: a run whose store cannot be reached still runs, passes on its own figures,
and says it was not indexed (and how to index it later); indexing it later puts the very same run in the store."""

from __future__ import annotations

import json
from pathlib import Path

from hilbench.store.database import open_store
from hilbench.store.queries import RunFilter, find_runs
from tests.conftest import ROOT, closed_port, hilbench_cli
from tests.system.conftest import run_plan

PLAN = ROOT / "test_plans" / "mw2mh_100kw.yaml"


def test_a_run_whose_store_is_unreachable_completes_and_is_indexed_later(tmp_path):
    url = f"postgresql://lab:s3cret-password@127.0.0.1:{closed_port()}/results"
    run = run_plan(PLAN, tmp_path / "run", "-k", "emergency", "--live", "--db", url)
    output = run.stdout + run.stderr
    assert run.returncode == 0 and "PLAN PASSED" in run.stdout, output
    assert "LIVE VIEW NOT UPDATED: live store: not updated any more" in run.stdout, output
    assert f"NOT INDEXED: PostgreSQL store 127.0.0.1:{url.rsplit(':', 1)[1]} unreachable" in run.stdout, output
    assert f"hilbench db import {run.report}" in run.stdout and "s3cret" not in output
    store = tmp_path / "later.db"
    imported = hilbench_cli("db", "import", str(run.report), "--db", str(store))
    assert imported.returncode == 0 and imported.stdout.startswith("added"), imported.stdout + imported.stderr
    start = json.loads(Path(run.report, "measurements.jsonl").read_text().splitlines()[0])
    opened = open_store(str(store), read_only=True)
    with opened.engine.connect() as connection:
        rows, total = find_runs(connection, RunFilter())
    opened.close()
    assert total == 1 and rows[0]["verdict"] == "pass" and rows[0]["started_at"].timestamp() > 0
    assert start["record"] == "run_start"
