"""The results store on SQLite and on a real PostgreSQL server: its schema against its migrations, import (sealed
runs only, idempotent), a run indexed live and then sealed, the lab's questions, and every bad input the issue
names - a newer schema, a corrupt file, an unreachable server, an edited run - each a clear message."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hilbench.cli import main
from hilbench.cli.indexing import index_finished_run
from hilbench.report.integrity import seal
from hilbench.report.record_writer import RecordWriter
from hilbench.store import schema
from hilbench.store.database import StoreError, open_store
from hilbench.store.index import RunRefused, index_run
from hilbench.store.live import LiveIndexer
from hilbench.store.queries import RunFilter, figure_series, find_runs, live_runs, yields
from hilbench.store.spc import capability
from tests.conftest import closed_port
from tests.store_support import fresh_database, write_run

DAY0 = dt.datetime(2026, 11, 2, 9, 0, 0)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return fresh_database(request.getfixturevalue("postgres_server"))


def count(store, table) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_the_migrations_build_exactly_the_schema_the_code_uses(store_url):
    store = open_store(store_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    store.close()
    assert differences == []


def test_import_indexes_a_sealed_run_once_and_refuses_an_edited_one_by_name(store_url, tmp_path):
    store = open_store(store_url)
    good = write_run(tmp_path / "good", started=DAY0)
    first, again = index_run(store, good), index_run(store, good)
    assert (first.action, again.action, again.run_id) == ("added", "unchanged", first.run_id)
    assert count(store, schema.runs) == 1 and count(store, schema.measurements) == 1
    edited = write_run(tmp_path / "edited", started=DAY0 + dt.timedelta(hours=1))
    text = (edited / "measurements.jsonl").read_text().replace('"value": 80.0', '"value": 70.0')
    (edited / "measurements.jsonl").write_text(text)
    with pytest.raises(RunRefused, match=r"edited.*integrity does not verify.*measurements.jsonl: changed"):
        index_run(store, edited)
    unsealed = write_run(tmp_path / "unsealed", started=DAY0, seal_it=False)
    with pytest.raises(RunRefused, match=r"unsealed.*not sealed"):
        index_run(store, unsealed)
    assert count(store, schema.runs) == 1  # nothing of the refused runs went in
    store.close()


def test_the_command_line_imports_idempotently_and_names_what_it_refuses(store_url, tmp_path, capsys):
    runs = [write_run(tmp_path / f"r{i}", started=DAY0 + dt.timedelta(days=i), serial=f"C-{i:04d}") for i in range(3)]
    (runs[2] / "raw" / "added.npz").write_bytes(b"after the seal")
    assert main(["db", "import", *map(str, runs), "--db", store_url]) == 1
    out = capsys.readouterr().out
    assert (
        out.count("\nadded ") + out.startswith("added ") == 2
        and f"REFUSED  {runs[2].resolve()}" in out
        and "raw/added.npz: added" in out
    )
    assert main(["db", "import", *map(str, runs[:2]), "--db", store_url]) == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    assert main(["db", "query", "runs", "--db", store_url, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["dut_serial"] for r in rows] == ["C-0001", "C-0000"]  # newest first


def test_a_run_indexed_live_is_the_same_run_once_sealed(store_url, tmp_path):
    run_dir = tmp_path / "live-run"
    store = open_store(store_url, read_only=False)  # the lab's store exists (the view reads it read-only below)
    store.close()
    writer = RecordWriter(run_dir)
    live = LiveIndexer(store_url, run_dir)
    writer.listeners.append(live.offer)
    writer.event("run_start", bench="bench-1", emulated=True, time_scale=20.0, schema_version=1, roles={})
    dut = {"name": "X", "serials": ["C-9"]}
    writer.event("plan", name="p", title="p", version="1", path="p.yaml", sha256="", dut=dut)
    writer.event("check_start", plan="p", check="boot", type="boot", params={}, declared={})
    store = open_store(store_url, read_only=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with store.engine.connect() as connection:
            running = [r for r in live_runs(connection) if r["status"] == "running"]
        if running and running[0]["current_check"] == "boot":
            break
        time.sleep(0.05)
    assert running and running[0]["dut_serial"] == "C-9" and running[0]["verdict"] == "running"
    writer.event("check_end", check="boot", verdicts={}, error="stopped by the test")
    writer.event("run_end")
    writer.close()
    live.close()
    assert not live.failed
    seal(run_dir)
    done = index_run(open_store(store_url), run_dir)
    assert done.action == "replaced" and done.run_id == running[0]["id"]
    with store.engine.connect() as connection:
        rows, total = find_runs(connection, RunFilter())
    assert total == 1 and rows[0]["status"] == "ended" and rows[0]["verdict"] == "fail"
    store.close()


def test_the_lab_questions_are_answered_from_the_store(store_url, tmp_path):
    store = open_store(store_url)
    values = [81.0, 84.0, 79.5, 88.0, 83.0, 91.0]  # the last one fails (max 90)
    for i, value in enumerate(values):
        run_dir = write_run(tmp_path / f"r{i}", started=DAY0 + dt.timedelta(days=i), serial=f"C-{i % 3:04d}",
                            figures={("boot", "boot_time_s"): (value, None, 90.0)},
                            firmware=f"fw {1 + i // 3}.0")  # fmt: skip
        index_run(store, run_dir)
    write_run(tmp_path / "other", started=DAY0 + dt.timedelta(hours=1), plan="other_plan", serial="C-0000")
    index_run(store, tmp_path / "other")
    with store.engine.connect() as connection:
        passed, total = find_runs(connection, RunFilter(plan="container_acceptance", verdict="pass"))
        assert total == 5 and {r["dut_firmware"] for r in passed} == {"controller: fw 1.0", "controller: fw 2.0"}
        _, by_serial = find_runs(connection, RunFilter(serial="C-0002"))
        assert by_serial == 2
        _, in_window = find_runs(
            connection, RunFilter(since=DAY0 + dt.timedelta(days=2), until=DAY0 + dt.timedelta(days=4))
        )
        assert in_window == 2
        series = figure_series(connection, "boot", "boot_time_s", plan="container_acceptance")
        assert [p["value"] for p in series.points] == values
        expected = capability(values, None, 90.0)
        assert series.capability.cpk == pytest.approx(expected.cpk) and series.capability.sides == "upper only"
        one = figure_series(connection, "boot", "boot_time_s", plan="container_acceptance", serial="C-0001", last=1)
        assert [p["value"] for p in one.points] == [values[4]]
        rates = {y["plan"]: y for y in yields(connection)}
        # C-0000 first ran at 81 (pass), C-0001 at 84 (pass), C-0002 at 79.5 (pass): 3 of 3 first time
        assert rates["container_acceptance"]["first_pass_yield"] == 1.0 and rates["container_acceptance"]["runs"] == 6
    store.close()


def test_a_store_of_a_newer_schema_is_refused_and_left_as_it_is(store_url):
    store = open_store(store_url)
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.close()
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"revision 9999_future\) is newer than this hilbench knows"):
            open_store(store_url, read_only=read_only)
    check = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with check.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999_future"
    check.dispose()


def test_a_corrupt_sqlite_file_is_named_and_the_run_still_completes(tmp_path):
    corrupt = tmp_path / "hilbench.db"
    corrupt.write_bytes(b"this is not an SQLite database, it was overwritten by accident" * 100)
    with pytest.raises(StoreError, match=rf"{corrupt}: not a readable SQLite database.*hilbench db import"):
        open_store(str(corrupt))
    run_dir = write_run(tmp_path / "run", started=DAY0)
    line = index_finished_run(run_dir, str(corrupt))
    assert line.startswith("NOT INDEXED") and f"hilbench db import {run_dir}" in line
    assert corrupt.read_bytes().startswith(b"this is not")  # left as it was


def test_an_unreachable_postgresql_is_a_clear_message_without_its_password(tmp_path):
    port = closed_port()
    url = f"postgresql://lab:s3cret-password@127.0.0.1:{port}/results"
    began = time.monotonic()
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert time.monotonic() - began < 10
    assert f"127.0.0.1:{port}/results unreachable" in str(caught.value) and "s3cret" not in str(caught.value)
    line = index_finished_run(write_run(tmp_path / "run", started=DAY0), url)
    assert line.startswith("NOT INDEXED") and "s3cret" not in line


def test_a_read_only_view_of_a_store_that_does_not_exist_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreError, match="nothing indexed yet: hilbench db import"):
        open_store(str(tmp_path / "none.db"), read_only=True)
    assert not (tmp_path / "none.db").exists()
