"""Drivers: one module per instrument model, grouped by role; they know nothing of pytest.

Drivers register through the ``hilbench.drivers`` entry-point group (name -> class), so a
third-party package adds a model without touching hilbench.  Every driver class declares
``role = "<role>"`` and implements that role's protocol (hilbench.core.roles), plus
``from_spec(spec)`` to build it from a bench file's role.  ``open_driver`` refuses a class that
does not, naming what is missing.  No driver contains emulation branches.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from hilbench.core.errors import HilbenchError
from hilbench.core.roles import ROLE_PROTOCOLS, missing_methods
from hilbench.spec.role_spec import RoleSpec

GROUP = "hilbench.drivers"


class UnknownDriverError(HilbenchError, LookupError):
    pass


class DriverContractError(HilbenchError, TypeError):
    """A driver class that does not declare a known role or lacks methods of its role's protocol."""


def verify_driver_class(cls: type, *, expected_role: str | None = None) -> None:
    """Raise DriverContractError unless ``cls`` declares a role and satisfies its protocol."""
    name = f"{cls.__module__}.{cls.__qualname__}"
    role = getattr(cls, "role", None)
    if role not in ROLE_PROTOCOLS:
        raise DriverContractError(
            f"driver {name} must declare role = one of {', '.join(ROLE_PROTOCOLS)}; it declares {role!r}"
        )
    if expected_role is not None and role != expected_role:
        raise DriverContractError(f"driver {name} is a {role!r} driver, but the bench uses it as {expected_role!r}")
    missing = missing_methods(cls, role) + ([] if callable(getattr(cls, "from_spec", None)) else ["from_spec"])
    if missing:
        raise DriverContractError(
            f"driver {name} does not satisfy the {role!r} role protocol: missing {', '.join(missing)}"
        )


def available() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def unknown_drivers(specs) -> list[str]:
    """'file:line: roles.grid: no driver 'x' ...' for every role spec whose driver is not installed (checked before a
    run starts, so a typo never gets as far as the first check)."""
    installed = available()
    names = ", ".join(sorted(installed))
    return [
        f"{spec.where}: roles.{spec.role}: no driver {spec.driver!r} installed; installed: {names}"
        for spec in specs
        if spec.driver not in installed
    ]


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
    try:
        verify_driver_class(cls, expected_role=spec.role if spec.role in ROLE_PROTOCOLS else None)
    except DriverContractError as exc:
        raise DriverContractError(f"{spec.where}: roles.{spec.role}: {exc}") from None
    return cls.from_spec(spec)
