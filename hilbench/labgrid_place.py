"""Benches shared through labgrid's coordinator, the way a lab already shares its boards: ``--bench labgrid:PLACE``.

The place's ``bench`` tag names the bench file (a path relative to the working directory, e.g.
``instruments/lab-a.yaml``); hilbench acquires the place for the run with ``labgrid-client acquire`` and releases
it on every exit path, so nobody else's run (or ``labgrid-client acquire``) can take the bench meanwhile.  The
coordinator is labgrid's own setting: ``LG_COORDINATOR`` (default 127.0.0.1:20408).  labgrid is optional
(``pip install 'hilbench[labgrid]'``); hilbench talks to it through its documented command line only.

    labgrid-client -p power-bench-1 create
    labgrid-client -p power-bench-1 set-tags bench=instruments/lab-a.yaml
    hilbench run test_plans/mw2mh_100kw.yaml --bench labgrid:power-bench-1
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hilbench.bench import BenchFileError

PREFIX = "labgrid:"


class LabgridPlaceError(BenchFileError):
    """The place cannot be used: labgrid missing, coordinator unreachable, no bench tag, acquired by another."""


def is_labgrid_bench(option: str | os.PathLike | None) -> bool:
    return isinstance(option, str) and option.startswith(PREFIX)


def _client() -> str:
    beside = Path(sys.executable).with_name("labgrid-client")
    found = str(beside) if beside.exists() else shutil.which("labgrid-client")
    if not found:
        raise LabgridPlaceError("--bench labgrid:...: labgrid is not installed (pip install 'hilbench[labgrid]')")
    return found


class LabgridPlace:
    def __init__(self, option: str) -> None:
        self.place = option[len(PREFIX) :]
        if not self.place:
            raise LabgridPlaceError("--bench labgrid:PLACE needs the place's name")
        self.coordinator = os.environ.get("LG_COORDINATOR", "127.0.0.1:20408")
        self.acquired = False

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                [_client(), "-x", self.coordinator, "-p", self.place, *args], capture_output=True, text=True, timeout=30
            )
        except subprocess.TimeoutExpired:
            raise LabgridPlaceError(f"labgrid coordinator {self.coordinator}: no answer within 30 s") from None
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0 or "Error:" in output:
            message = output.splitlines()[-1] if output else f"exit code {done.returncode}"
            raise LabgridPlaceError(f"labgrid place {self.place!r} at {self.coordinator}: {message}")
        return output

    def bench_file(self) -> Path:
        """The bench file the place's ``bench`` tag names."""
        for line in self._run("show").splitlines():
            if line.strip().startswith("tags:"):
                tags = dict(t.split("=", 1) for t in line.split(":", 1)[1].split() if "=" in t)
                if "bench" in tags:
                    return Path(tags["bench"])
        raise LabgridPlaceError(
            f"labgrid place {self.place!r} at {self.coordinator} has no 'bench' tag "
            f"(labgrid-client -p {self.place} set-tags bench=instruments/<bench>.yaml)"
        )

    def acquire(self) -> None:
        self._run("acquire")
        self.acquired = True

    def release(self) -> None:
        if self.acquired:
            self.acquired = False
            self._run("release")
