"""Emulators register like drivers: the ``hilbench.emulators`` entry-point group maps a model name (the
same name as its driver in ``hilbench.drivers``) to a factory ``emulate(plant, role_spec)``.

A factory returns an instrument the emulated-bench runner knows how to serve: a ``ScpiInstrument``
(served on a TCP socket, reached as ``TCPIP::host::port::SOCKET``) or a Modbus device with
``sim_device()`` (served by pymodbus as Modbus TCP).  A third-party package adds a model (driver +
emulator) by declaring both entry points; nothing in hilbench changes.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

GROUP = "hilbench.emulators"


def available() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def emulator_factory(model: str) -> Callable | None:
    """The factory registered for ``model``, or None when no emulator is installed for it."""
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == model]
    return matches[0].load() if matches else None
