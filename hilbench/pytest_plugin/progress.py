"""What a run is doing, while it does it: the current check and its latest phase ("boot t=41.0 s P=62.0 kW",
"flicker: 40 % captured"), the checks done with their verdicts, and an estimate of the time left.

Three modes: ``live`` (a terminal: one status area redrawn in place by rich, erased when the check ends, so
pytest's own output stays clean), ``lines`` (not a terminal, e.g. a CI log: one line when a check starts, its
phases at most every ``PHASE_EVERY_S`` seconds, one line when it ends), ``none`` (``hilbench run --quiet``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

PHASE_EVERY_S = 10.0
MODES = ("live", "lines", "none")


class RunProgress:
    """``terminal()`` gives a context in which output reaches the terminal: pytest captures a test's output, and a
    check runs inside a test, so the plugin passes its capture manager's "disabled" context."""

    def __init__(
        self,
        mode: str,
        write_line: Callable[[str], None],
        total: int = 0,
        terminal: Callable[[], AbstractContextManager] = nullcontext,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r}: one of {', '.join(MODES)}")
        self.mode, self._write_line, self.total, self.terminal = mode, write_line, total, terminal
        self.done: list[tuple[str, str, float]] = []  # (check, worst verdict, seconds)
        self.current: tuple[int, str, str] | None = None
        self.started = 0.0
        self.last_phase, self._phase_printed = "", 0.0
        self._live = None

    # ----- what the run tells it ------------------------------------------------------------------------------
    def start_check(self, check: str, kind: str) -> None:
        self.current = (len(self.done) + 1, check, kind)
        self.started, self.last_phase, self._phase_printed = time.monotonic(), "", time.monotonic()
        if self.mode == "lines":
            self.write_line(f"{self._counter()} {check} ({kind}) started{self._left()}")
        elif self.mode == "live":
            import sys

            from rich.console import Console
            from rich.live import Live

            with self.terminal():  # the console bound to the real terminal, refreshed by this thread only (a
                # refresh thread would write while pytest captures the output)
                console = Console(file=sys.stdout)
                self._live = Live(self._render(), console=console, auto_refresh=False, transient=True,
                                  redirect_stdout=False, redirect_stderr=False)  # fmt: skip
                self._live.start(refresh=True)

    def phase(self, text: str) -> None:
        self.last_phase = text.strip()
        now = time.monotonic()
        if self.mode == "live" and self._live is not None:
            with self.terminal():
                self._live.update(self._render(), refresh=True)
        elif self.mode == "lines" and now - self._phase_printed >= PHASE_EVERY_S:
            self._phase_printed = now
            self.write_line(f"{self._counter()} {self.last_phase}")

    def end_check(self, verdicts: list[str]) -> None:
        if self.current is None:
            return
        _, check, kind = self.current
        seconds = time.monotonic() - self.started
        worst = _worst(verdicts)
        self.done.append((check, worst, seconds))
        if self._live is not None:
            with self.terminal():
                self._live.stop()
            self._live = None
        if self.mode != "none":
            self.write_line(f"{self._counter(len(self.done))} {check} ({kind}): {worst.upper()} in {seconds:.1f} s"
                            f"{self._left()}")  # fmt: skip
        self.current = None

    def write_line(self, text: str) -> None:
        with self.terminal():
            self._write_line(text)

    # ----- rendering ------------------------------------------------------------------------------------------
    def _counter(self, index: int | None = None) -> str:
        index = index if index is not None else (self.current[0] if self.current else len(self.done))
        return f"[{index}/{self.total}]" if self.total else f"[{index}]"

    def _left(self) -> str:
        """Checks left x the mean time of the checks done so far: an estimate, and said to be one."""
        left = self.total - len(self.done)  # the current check included
        if not self.done or self.total <= 0 or left <= 0:
            return ""
        mean = sum(s for _, _, s in self.done) / len(self.done)
        return f"; ~{_duration(mean * left)} left ({left} check(s), estimated from those done)"

    def _render(self):
        from rich.console import Group
        from rich.text import Text

        lines = []
        if self.current is not None:
            _, check, kind = self.current
            elapsed = time.monotonic() - self.started
            lines.append(Text(f"{self._counter()} {check} ({kind})  {_duration(elapsed)}", style="bold"))
            lines.append(Text(f"  {self.last_phase or 'starting'}"))
        if self.done:
            colour = {"pass": "green", "fail": "red", "error": "red", "marginal": "yellow"}
            line = Text("  done: ")
            for check, worst, _ in self.done[-8:]:
                line.append(f"{check} {worst.upper()}  ", style=colour.get(worst, ""))
            lines.append(line)
        left = self._left()
        if left:
            lines.append(Text(f"  {left[2:]}", style="dim"))
        return Group(*lines)


def _worst(verdicts: list[str]) -> str:
    for verdict in ("error", "fail", "marginal", "pass"):
        if verdict in verdicts:
            return verdict
    return "info" if verdicts else "no figures"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
