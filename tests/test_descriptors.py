"""A site's listeners and the run's own instrument sessions share one process's descriptors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from hilbench.emulation.descriptors import low_descriptors_kept_free


def test_descriptors_opened_while_the_site_starts_leave_the_lowest_ones_free_for_the_run():
    with low_descriptors_kept_free(64):
        listener = socket.socket()  # what a board's listener gets: above the held block
    try:
        after = os.open(os.devnull, os.O_RDONLY)  # what the run's first instrument session gets afterwards
        os.close(after)
        assert after < listener.fileno()
    finally:
        listener.close()


def test_a_site_the_hard_limit_cannot_hold_is_refused_with_the_numbers():
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 1024))\n"
        "from hilbench.emulation.descriptors import DescriptorLimitError, ensure_descriptor_limit\n"
        "ensure_descriptor_limit(100)\n"  # fits under the hard limit: the soft limit is raised
        "assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 100 + 256 + 512\n"
        "try:\n"
        "    ensure_descriptor_limit(5000)\n"
        "except DescriptorLimitError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "5000 boards needs 5768 open files; this process may open 1024" in result.stdout
