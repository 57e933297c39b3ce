"""The hilbench pytest plugin (entry point ``pytest11``).

For now it registers the ``--bench`` option; plan collection, ``hil_*`` fixtures and
reports come with the test-plan issue.  Nothing here is autouse.
"""

from __future__ import annotations

import pytest

from hilbench.bench import DEFAULT_BENCH


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hilbench", "hardware-in-the-loop bench")
    group.addoption(
        "--bench",
        action="store",
        default=None,
        metavar="FILE",
        help=f"bench file describing the instruments (default: {DEFAULT_BENCH.name}, fully emulated)",
    )
