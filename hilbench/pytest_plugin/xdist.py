"""pytest-xdist: checks spread over workers (PlanScheduling), every worker recording into one run directory."""

from __future__ import annotations

import pytest

from hilbench.pytest_plugin.runtime import run_directory


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadgroup: checks spread over the workers, a same_bench plan kept on one (xdist_scheduling)."""
    if config.getoption("dist") != "loadgroup":
        return None
    from hilbench.pytest_plugin.xdist_scheduling import PlanScheduling

    return PlanScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist, in the controller: every worker records into the same run directory (workers/<id>/)."""
    node.workerinput["hil_run_dir"] = str(run_directory(node.config))
