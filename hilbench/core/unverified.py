"""What a driver sends without having read it on the instrument's own manual page, declared as data.

Each driver lists its guesses as ``Unverified`` items: the feature a check relies on (``ROLE:FEATURE`` is what
``--accept-unverified`` names), the commands, why they are a guess, the role methods that use them (none: every
use of the role), and how the commissioning probe (``hilbench bench probe``) tries them without energising
anything: a query, a setting written back at the value the instrument reports, or a driver method that measures
something (the analyser's store).  An item that cannot be tried harmlessly says why in ``skip``.

A driver may also declare methods it refuses outright (``unavailable``: method -> reason), such as a step
program whose command set could not be read at all: a check using one is refused on every bench.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    """Send ``command`` (a query) and keep its reply."""

    command: str


@dataclass(frozen=True)
class SetAtCurrent:
    """Ask ``query``, then write ``setting`` followed by the reply: the instrument is told what it already has."""

    query: str
    setting: str


@dataclass(frozen=True)
class ProbeCall:
    """Call the driver's method ``method`` (no arguments), which returns the evidence as ``{name: value}`` text and
    raises the driver's own error when the instrument refuses."""

    method: str


ProbeStep = Query | SetAtCurrent | ProbeCall


@dataclass(frozen=True)
class Unverified:
    feature: str
    commands: str
    why: str
    methods: tuple[str, ...] = ()
    probe: tuple[ProbeStep, ...] = ()
    skip: str = ""

    def __post_init__(self) -> None:
        if bool(self.probe) == bool(self.skip):
            raise ValueError(f"unverified {self.feature!r}: give probe steps or the reason it is skipped, not both")

    def relied_on_by(self, methods: set[str]) -> bool:
        """Whether a user of the role that declares it calls ``methods`` relies on this item (one without methods
        is relied on by every use of the role)."""
        return not self.methods or bool(set(self.methods) & methods)


def unverified_items(driver_class: type) -> tuple[Unverified, ...]:
    return tuple(getattr(driver_class, "unverified", ()))


def unavailable_methods(driver_class: type) -> dict[str, str]:
    return dict(getattr(driver_class, "unavailable", {}))
