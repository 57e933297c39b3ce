"""The run into the results store as it ends (``hilbench run``, ``hilbench replay``): the store is a convenience,
so a store that cannot be reached or refuses the run never changes the run's outcome - it is said, with the command
that indexes the run later."""

from __future__ import annotations

from pathlib import Path


def add_store_options(parser) -> None:
    parser.add_argument(
        "--db",
        default=None,
        help="results store the run is indexed into: a file, sqlite:///FILE or postgresql://... "
        "(default: $HILBENCH_DB, else reports/hilbench.db)",
    )
    parser.add_argument("--no-index", action="store_true", help="do not index the run into the results store")


def index_finished_run(run_dir: Path, db: str | None) -> str:
    """One line: where the run was indexed, or why it was not (and how to index it later)."""
    from hilbench.store.database import StoreError, open_store, shown, store_url  # only once a run has ended
    from hilbench.store.index import RunRefused, index_run

    later = f"the run is complete in {run_dir}; index it later with: hilbench db import {run_dir}"
    try:
        url = store_url(db)
        store = open_store(url)
    except StoreError as exc:
        return f"NOT INDEXED: {exc}; {later}"
    except Exception as exc:  # a bug or an unforeseen driver error: the run stands all the same
        return f"NOT INDEXED: {type(exc).__name__}: {exc}; {later}"
    try:
        done = index_run(store, run_dir)
    except (RunRefused, StoreError) as exc:
        return f"NOT INDEXED: {exc}; {later}"
    except Exception as exc:
        return f"NOT INDEXED into {shown(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}; {later}"
    finally:
        store.close()
    return f"indexed: run {done.run_id} in {store.name} ({done.measurements} figures, {done.seconds * 1000:.0f} ms)"
