"""The hilbench pytest plugin (entry point ``pytest11``).

* ``test_plans/*.yaml`` files (or plan files named on the command line) are collected: one test
  item per check, named by its id (``-v`` / ``-k`` friendly).
* One bench per session: the ``--bench`` file (default: the emulated one, started here when it is
  emulated), opened lazily; every exit path returns it to its safe state (time-boxed).
* Measurements are written to ``<report>/measurements.jsonl`` as they are taken; a measurement
  outside its limits fails the item without any ``assert``.
* Fixtures for Python tests: ``hil_bench``, ``hil_session``, ``hil_strategy``, ``hil_run_record`` (the run's
  measurement record), ``hil_check`` and one per role of hilbench.core.roles.ROLE_PROTOCOLS (``hil_grid``,
  ``hil_analyser``, ``hil_recorder``, ``hil_load``, ``hil_controller``, ``hil_meter``, ``hil_boards``,
  ``hil_hashboard``).  None is autouse.
* A programming error inside a check (anything that is not a HilbenchError or an OS-level I/O
  error) is recorded with its traceback as an ``internal_error`` and re-raised, never turned
  into an ordinary measurement error.

The plugin is split by job: ``options``, ``runtime`` (the run's lifecycle), ``signals``, ``collection``,
``execution`` (``run_check``), ``sinks`` (records, allure, JUnit properties, progress), ``fixtures`` and
``xdist``.  pytest reads hooks and fixtures from this module, so they are gathered here.
"""

from hilbench.pytest_plugin.collection import pytest_collect_file, pytest_collection_finish, pytest_report_teststatus
from hilbench.pytest_plugin.execution import run_check
from hilbench.pytest_plugin.fixtures import *  # noqa: F403  (hil_* fixtures, one per role among them)
from hilbench.pytest_plugin.options import pytest_addoption
from hilbench.pytest_plugin.runtime import Runtime, pytest_configure, pytest_sessionfinish, pytest_unconfigure
from hilbench.pytest_plugin.xdist import pytest_configure_node, pytest_xdist_make_scheduler

__all__ = [
    "Runtime",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_report_teststatus",
    "pytest_sessionfinish",
    "pytest_unconfigure",
    "pytest_xdist_make_scheduler",
    "run_check",
]
