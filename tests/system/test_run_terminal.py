"""`hilbench run` owns its terminal: under a pseudo-terminal (as a lab engineer sees it) one clean sequence - the
live progress, the table, the safe states once, the verdict last - with none of pytest's own progress letters,
percentages or summary line unless -v asks for them."""

from __future__ import annotations

import os
import pty
import re
import sys

from tests.conftest import ROOT, loopback_block
from tests.system.conftest import MW2MH

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][AB0-2]|\r")


def run_in_a_terminal(*args: str) -> tuple[int, list[str]]:
    """The command on a pseudo-terminal; its exit status and its output lines, escape sequences removed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: hilbench on the terminal
        os.chdir(ROOT)
        os.environ.update(COLUMNS="120", LINES="40", TERM="xterm")
        os.execv(sys.executable, [sys.executable, "-m", "hilbench.cli", *args])
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    return os.waitstatus_to_exitcode(status), [line for line in text.split("\n") if line.strip()]


def test_one_clean_sequence_progress_table_safe_states_verdict(tmp_path):
    code, lines = run_in_a_terminal(
        "run", str(MW2MH), "-k", "emergency", "--report", str(tmp_path / "run"), "--address-base", loopback_block()
    )
    text = "\n".join(lines)
    assert code == 0, text[-3000:]
    assert lines[-1].strip() == "PLAN PASSED", text[-2000:]
    assert not re.search(r"\d+ passed|\[100%\]|^\.+$|warnings summary", text, re.M), text  # pytest kept quiet
    header = next(i for i, line in enumerate(lines) if line.startswith("check ") and "verdict" in line)
    safe = [i for i, line in enumerate(lines) if "safe state" in line]
    roles = [re.match(r"safe state (\w+)", lines[i]).group(1) for i in safe]
    assert len(roles) == len(set(roles)) == 8, [lines[i] for i in safe]  # every role once, from the summary only
    assert header < min(safe) and max(safe) < len(lines) - 1  # table, then the safe states, then the verdict
    assert any("emergency-stop" in line for line in lines[:header])  # the progress came first
    assert not any(line.startswith("safe state:") for line in lines)  # the plugin's own copy is left out


def test_verbose_shows_pytests_own_output_too(tmp_path):
    code, lines = run_in_a_terminal(
        "run", str(MW2MH), "-k", "emergency", "-v", "--report", str(tmp_path / "run"), "--address-base",
        loopback_block(),
    )  # fmt: skip
    text = "\n".join(lines)
    assert code == 0, text[-3000:]
    assert re.search(r"1 passed", text) and "emergency-stop PASSED" in text, text[-2000:]
