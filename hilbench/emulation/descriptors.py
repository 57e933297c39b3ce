"""File descriptors for a site: one listener per emulated board.

A 1,300-board site holds 1,300 listening sockets in the process that runs the plan.  Two limits bite: the
process's open-file limit (raised here to what the site needs, up to the hard limit), and ``select()``, which
pyvisa-py's TCPIP SOCKET sessions use and which refuses descriptors at or above FD_SETSIZE (1024).  The
emulator therefore keeps the lowest descriptors free while it starts its listeners, so the run's own
instrument connections, opened later, get descriptors ``select()`` accepts.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

#: Descriptors kept free below the site's listeners for the run's instrument sessions and their server ends.
RESERVED_FOR_SESSIONS = 256
#: Descriptors a bench needs besides its boards' listeners (instrument servers, their connections, files).
BENCH_OVERHEAD = 512


class DescriptorLimitError(OSError):
    """The process may not open as many files as the emulated site needs."""


def ensure_descriptor_limit(listeners: int) -> None:
    """Raise the soft open-file limit so ``listeners`` board sockets fit beside the bench; a clear error if the
    hard limit does not allow it."""
    needed = listeners + RESERVED_FOR_SESSIONS + BENCH_OVERHEAD
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise DescriptorLimitError(
            f"an emulated site of {listeners} boards needs {needed} open files; this process may open {hard} "
            f"(ulimit -Hn): raise the hard limit or split the site over several processes"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@contextmanager
def low_descriptors_kept_free(count: int = RESERVED_FOR_SESSIONS) -> Iterator[None]:
    """While the site starts, hold the ``count`` lowest free descriptors; released afterwards for the run."""
    held = []
    try:
        for _ in range(count):
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
