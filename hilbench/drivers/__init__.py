"""Drivers: one module per instrument model, grouped by role; they know nothing of pytest.

Drivers register through the ``hilbench.drivers`` entry-point group (name -> class), so a
third-party package adds a model without touching hilbench.  Every driver class offers
``from_spec(spec)`` (build it from a bench file's role), ``identify()``, ``safe_state()``
and ``close()``.  No driver contains emulation branches.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from hilbench.bench import RoleSpec

GROUP = "hilbench.drivers"


class UnknownDriverError(LookupError):
    pass


def available() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def driver_class(name: str):
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        raise UnknownDriverError(
            f"no driver {name!r} in entry-point group {GROUP}; installed: {', '.join(sorted(available())) or 'none'}"
        )
    return matches[0].load()


def open_driver(spec: RoleSpec):
    """Build the driver a bench role names, connected to its address."""
    try:
        cls = driver_class(spec.driver)
    except UnknownDriverError as exc:
        raise UnknownDriverError(f"{spec.where}: roles.{spec.role}: {exc}") from None
    return cls.from_spec(spec)
