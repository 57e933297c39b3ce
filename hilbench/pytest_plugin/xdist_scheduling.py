"""How `hilbench run -n N` (pytest-xdist, ``--dist loadgroup``) spreads a plan's checks over the workers' benches.

Every check prepares the bench state it needs, so checks go to whichever worker is free; a plan that says
``same_bench: true`` keeps all its checks on one worker, in order.  (xdist's own loadgroup reads an
``xdist_group`` mark by rewriting the item's nodeid, which pytest 9 no longer allows, so the grouping is decided
here, from the plan file the nodeid names.)"""

from __future__ import annotations

from pathlib import Path

from xdist.scheduler.loadscope import LoadScopeScheduling

from hilbench.plans.plan import PlanError, load_plan


class PlanScheduling(LoadScopeScheduling):
    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self._root = Path(config.rootpath)
        self._one_bench: dict[str, bool] = {}
        # a plan outside the root directory gets a nodeid without its path ("::check"): then it is the plan given
        plans = [a.split("::")[0] for a in config.args if a.split("::")[0].endswith((".yaml", ".yml"))]
        self._only_plan = str(Path(plans[0]).resolve()) if len(plans) == 1 else ""

    def _plan_wants_one_bench(self, path: str) -> bool:
        if path not in self._one_bench:
            try:
                self._one_bench[path] = load_plan(self._root / path).same_bench
            except PlanError:  # collection reports the plan's error; scheduling need not
                self._one_bench[path] = False
        return self._one_bench[path]

    def _split_scope(self, nodeid: str) -> str:
        path, sep, _ = nodeid.partition("::")
        path = path or (self._only_plan if sep else "")
        if sep and path.endswith((".yaml", ".yml")) and self._plan_wants_one_bench(path):
            return path  # one scope: one worker, in order
        return nodeid  # every check (and every Python test) its own scope
