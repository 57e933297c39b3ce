"""Benches shared through labgrid's coordinator, the way a lab already shares its boards: ``--bench labgrid:PLACE``.

The place's ``bench`` tag names the bench file (a path relative to the working directory, e.g.
``instruments/lab-a.yaml``); hilbench acquires the place for the run with ``labgrid-client acquire`` and releases
it on every exit path, so nobody else's run (or ``labgrid-client acquire``) can take the bench meanwhile.  The
coordinator is labgrid's own setting: ``LG_COORDINATOR`` (default 127.0.0.1:20408).  labgrid is optional
(``pip install 'hilbench[labgrid]'``); hilbench talks to it through its documented command line only.

    labgrid-client -p power-bench-1 create
    labgrid-client -p power-bench-1 set-tags bench=instruments/lab-a.yaml kind=ac-power
    hilbench run test_plans/mw2mh_100kw.yaml --bench labgrid:power-bench-1

Or any free bench with the right tags, by reservation (``labgrid-client reserve --wait``; the coordinator allocates
a matching place, hilbench acquires it through the reservation's token, and cancels the reservation at the end):

    hilbench run test_plans/mw2mh_100kw.yaml --bench labgrid:kind=ac-power[,site=lab-a]

A reservation waits for a place at most ``HILBENCH_LABGRID_RESERVE_WAIT_S`` seconds (default 600).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hilbench.spec.bench_file import BenchFileError

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
        target = option[len(PREFIX) :]
        if not target:
            raise LabgridPlaceError("--bench labgrid:PLACE (or labgrid:TAG=VALUE,...) needs a place or tags")
        self.filters = [f for f in target.split(",") if f] if "=" in target else []
        for pair in self.filters:
            if pair.count("=") != 1 or not all(pair.split("=")):
                raise LabgridPlaceError(f"--bench labgrid:{target}: {pair!r} is not TAG=VALUE")
        self.place = "" if self.filters else target  # a reservation's place is known once it is allocated
        self.token: str | None = None
        self.coordinator = os.environ.get("LG_COORDINATOR", "127.0.0.1:20408")
        self.acquired = False

    def _run(self, *args: str, timeout: float = 30.0, on_place: bool = True) -> str:
        where = ["-p", self.place] if on_place else []
        try:
            done = subprocess.run(
                [_client(), "-x", self.coordinator, *where, *args], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise _Timeout(self.coordinator, timeout, exc.stdout) from None
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0 or "Error:" in output:
            message = output.splitlines()[-1] if output else f"exit code {done.returncode}"
            what = f"labgrid place {self.place!r}" if on_place else "labgrid reservation"
            raise LabgridPlaceError(f"{what} at {self.coordinator}: {message}")
        return output

    def _reserve(self) -> None:
        """A reservation for any place with the tags; its token names the place the coordinator allocates."""
        wait = float(os.environ.get("HILBENCH_LABGRID_RESERVE_WAIT_S", "600"))
        wanted = " ".join(self.filters)
        try:
            output = self._run("reserve", "--wait", "--shell", *self.filters, timeout=wait, on_place=False)
        except _Timeout as exc:
            self.token = _token(exc.output)
            self._cancel()
            raise LabgridPlaceError(
                f"labgrid at {self.coordinator}: no free place with tags {wanted} within {wait:g} s "
                "(HILBENCH_LABGRID_RESERVE_WAIT_S)"
            ) from None
        self.token = _token(output)
        if not self.token:
            raise LabgridPlaceError(f"labgrid at {self.coordinator}: reserve {wanted} gave no token: {output[-200:]}")
        self.place = f"+{self.token}"

    def _cancel(self) -> None:
        token, self.token = self.token, None
        if token:
            self._run("cancel-reservation", token, on_place=False)

    def _allocated_name(self) -> None:
        """The reservation's place by its name, for the record (labgrid-client show: ``Place 'NAME':``)."""
        found = re.search(r"Place '([^']+)'", self._run("show"))
        if found:
            self.place = found.group(1)

    def bench_file(self) -> Path:
        """The bench file the place's ``bench`` tag names."""
        for line in self._run("show").splitlines():
            if line.strip().startswith("tags:"):
                # labgrid-client show: "tags: bench=instruments/lab-a.yaml, kind=ac-power"
                tags = dict(re.findall(r"([\w.-]+)=([^\s,]+)", line.split(":", 1)[1]))
                if "bench" in tags:
                    return Path(tags["bench"])
        raise LabgridPlaceError(
            f"labgrid place {self.place!r} at {self.coordinator} has no 'bench' tag "
            f"(labgrid-client -p {self.place} set-tags bench=instruments/<bench>.yaml)"
        )

    def acquire(self) -> None:
        if self.filters:
            self._reserve()
        try:
            self._run("acquire")
        except LabgridPlaceError:
            self._cancel()
            raise
        self.acquired = True
        if self.token:
            self._allocated_name()

    def release(self) -> None:
        try:
            if self.acquired:
                self.acquired = False
                self._run("release")
        finally:
            self._cancel()


class _Timeout(LabgridPlaceError):
    def __init__(self, coordinator: str, seconds: float, output: str | bytes | None) -> None:
        super().__init__(f"labgrid coordinator {coordinator}: no answer within {seconds:g} s")
        self.output = output.decode() if isinstance(output, bytes) else (output or "")


def _token(output: str) -> str | None:
    found = re.search(r"LG_TOKEN=(\S+)", output or "")
    return found.group(1) if found else None
