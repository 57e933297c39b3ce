"""Faults to inject into an emulated bench, as data: from the bench file (``faults:``) or from
``--inject-fault ROLE:KIND[@SECONDS]`` on ``hilbench run`` and ``hilbench emulate``.  A leaf module.

SECONDS is plant time after the emulators started (default 0).  A link fault hits the next
``requests`` requests the instrument receives from then on (default 3: one query and both of the
transport's retries), so the check in progress meets it and the instruments answer again for the
safe state and the checks that follow.  ``board-dies`` is for good (one board of the role stops
answering and drawing power); ``ignores-setpoints`` swallows the next ``requests`` power setpoints;
``opens`` opens every emulated interlock contact for good.

    faults:
      - {role: grid, kind: timeout, at_s: 30}
      - {role: controller, kind: ignores-setpoints, at_s: 0, requests: 5}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: faults on the link to an instrument (served through the emulator's fault proxy)
LINK_KINDS = ("delay", "timeout", "drop", "garbage", "modbus-exception", "scpi-error")
#: which kinds each target takes (roles served over SCPI or Modbus take the link kinds their protocol has)
KINDS = {
    "grid": ("delay", "timeout", "drop", "garbage", "scpi-error"),
    "analyser": ("delay", "timeout", "drop", "garbage", "scpi-error"),
    "recorder": ("delay", "timeout", "drop", "garbage", "scpi-error"),
    "load": ("delay", "timeout", "drop", "garbage", "scpi-error"),
    "controller": ("delay", "timeout", "drop", "garbage", "modbus-exception", "ignores-setpoints"),
    "meter": ("delay", "timeout", "drop", "garbage", "modbus-exception"),
    "boards": ("board-dies",),
    "interlock": ("opens",),
}
DEFAULT_REQUESTS = 3
#: how late a 'delay' fault answers: past every transport's timeout (VISA 5 s, Modbus 2 s), so the reply is stale
DEFAULT_DELAY_S = 6.0

_CLI = re.compile(r"^(?P<target>[a-z]+):(?P<kind>[a-z-]+)(?:@(?P<at>[0-9]+(?:\.[0-9]*)?))?$")


class FaultSpecError(ValueError):
    """A fault that cannot be injected; the message names where it was given."""


@dataclass(frozen=True)
class FaultSpec:
    target: str  # a role, or "interlock"
    kind: str
    at_s: float = 0.0  # plant seconds after start
    requests: int = DEFAULT_REQUESTS
    delay_s: float = DEFAULT_DELAY_S

    def describe(self) -> str:
        return f"{self.target}:{self.kind}@{self.at_s:g}"

    @property
    def on_link(self) -> bool:
        return self.kind in LINK_KINDS


def _check(spec: FaultSpec, where: str) -> FaultSpec:
    kinds = KINDS.get(spec.target)
    if kinds is None:
        raise FaultSpecError(f"{where}: no fault target {spec.target!r}; targets: {', '.join(KINDS)}")
    if spec.kind not in kinds:
        raise FaultSpecError(
            f"{where}: {spec.target} cannot be given fault {spec.kind!r}; it takes {', '.join(kinds)}"
            + ("" if spec.target != "boards" else " (the boards' LuxOS link faults are not emulated yet)")
        )
    if spec.at_s < 0 or spec.requests < 1 or spec.delay_s <= 0:
        raise FaultSpecError(f"{where}: at_s must be >= 0, requests >= 1 and delay_s > 0")
    return spec


def parse_fault(text: str) -> FaultSpec:
    """``ROLE:KIND[@SECONDS]`` as given on the command line."""
    match = _CLI.match(text.strip())
    if match is None:
        raise FaultSpecError(f"--inject-fault {text!r}: expected ROLE:KIND[@SECONDS], e.g. grid:timeout@30")
    at = float(match["at"]) if match["at"] else 0.0
    return _check(FaultSpec(match["target"], match["kind"], at), f"--inject-fault {text}")


def parse_faults(raw, where: str) -> tuple[FaultSpec, ...]:
    """The bench file's ``faults:`` list."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FaultSpecError(f"{where}: faults must be a list of {{role, kind, at_s}} mappings")
    faults = []
    for index, item in enumerate(raw):
        here = f"{where}: faults[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("role"), str) or not isinstance(item.get("kind"), str):
            raise FaultSpecError(f"{here} must be a mapping with 'role' and 'kind'")
        unknown = set(item) - {"role", "kind", "at_s", "requests", "delay_s", "__lines__"}
        if unknown:
            raise FaultSpecError(f"{here}: unknown keys {', '.join(sorted(unknown))}")
        try:
            spec = FaultSpec(
                item["role"], item["kind"], float(item.get("at_s", 0.0)), int(item.get("requests", DEFAULT_REQUESTS)),
                float(item.get("delay_s", DEFAULT_DELAY_S)),
            )  # fmt: skip
        except (TypeError, ValueError):
            raise FaultSpecError(f"{here}: at_s, requests and delay_s must be numbers") from None
        faults.append(_check(spec, here))
    return tuple(faults)
