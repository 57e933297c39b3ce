"""The commissioning gate: which unverified commands a plan's checks rely on, and whether the bench's instruments
have shown they accept them (``hilbench bench probe``'s evidence), said before anything is energised.

A check relies on the items of its drivers that cover every use of a role it declares (``roles``), or of the grid
and load (the strategy puts them at nominal before every check), and on the method-specific items of the role
methods it declares in ``uses``.  On a real bench each such item must have been verified by the probe on the
instrument now at that role's address, or accepted by name (``--accept-unverified ROLE:FEATURE``, recorded in the
run like an overdue calibration).  A method its driver refuses outright (``unavailable``) is refused on every
bench.  On an emulated bench the items are listed, not judged: its emulators were written from the same reading of
the manuals as the drivers, so a probe of them is no evidence about an instrument.
"""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.core.unverified import unavailable_methods, unverified_items
from hilbench.drivers import driver_class
from hilbench.spec.bench_file import Bench
from hilbench.spec.probe_file import VERIFIED, ProbeEvidence

#: roles the bench strategy commands before every check when the bench has them (supply_nominal)
STRATEGY_ROLES = ("grid", "load")


@dataclass(frozen=True)
class Reliance:
    check_id: str
    role: str
    driver: str
    feature: str
    commands: str

    @property
    def name(self) -> str:
        return f"{self.role}:{self.feature}"


def _uses(check_type) -> dict[str, set[str]]:
    by_role: dict[str, set[str]] = {}
    for use in check_type.uses:
        role, _, method = use.partition(".")
        by_role.setdefault(role, set()).add(method)
    return by_role


def relied_on(checks, bench: Bench, registry) -> tuple[list[Reliance], list[str]]:
    """(every unverified item a check relies on, a refusal for every unavailable method a check uses)."""
    reliances, refusals = [], []
    for item in checks:
        check_type = registry[item.type]
        uses = _uses(check_type)
        roles = [*check_type.roles, *STRATEGY_ROLES, *uses]
        for role in dict.fromkeys(roles):
            if role not in bench.roles:
                continue
            spec = bench.roles[role]
            cls = driver_class(spec.driver)
            methods = uses.get(role, set())
            refused: dict[str, list[str]] = {}  # one line per reason, naming every method it refuses
            for method, reason in unavailable_methods(cls).items():
                if method in methods:
                    refused.setdefault(reason, []).append(f"{role}.{method}")
            refusals += [f"check {item.id} needs {', '.join(names)}: {why}" for why, names in refused.items()]
            for unverified in unverified_items(cls):
                if unverified.relied_on_by(methods):
                    reliances.append(Reliance(item.id, role, spec.driver, unverified.feature, unverified.commands))
    return reliances, refusals


def item_state(role: str, feature_name: str, bench: Bench, evidence: ProbeEvidence | None) -> tuple[bool, str]:
    """(verified on this instrument, what the evidence says about ``role:feature_name``)."""
    if evidence is None:
        return False, "never probed on this bench"
    if evidence.emulated:
        return False, f"probed only on emulators ({evidence.path}): no evidence for an instrument"
    found = evidence.roles.get(role)
    spec = bench.roles[role]
    if found is None:
        return False, f"the probe file has no {role!r} role"
    if (found.driver, found.address) != (spec.driver, spec.address):
        return False, f"probed on {found.driver} at {found.address}, the bench now has {spec.driver} at {spec.address}"
    feature = found.features.get(feature_name)
    if feature is None:
        return False, "not in the probe file (probed with an older driver)"
    if feature.status == VERIFIED:
        return True, f"verified on this instrument ({found.describe()})"
    if feature.status == "refused":
        return False, f"refused by this instrument ({found.describe()}): {feature.reason}"
    return False, f"not probed: {feature.reason}"


def unsettled(
    reliances: list[Reliance], bench: Bench, evidence: ProbeEvidence | None, accepted: set[str]
) -> tuple[list[str], list[str]]:
    """(problems that refuse the run, items accepted by name): one line per role:feature, naming its checks."""
    by_name: dict[str, list[Reliance]] = {}
    for reliance in reliances:
        by_name.setdefault(reliance.name, []).append(reliance)
    problems, taken = [], []
    for name, group in by_name.items():
        verified, state = item_state(group[0].role, group[0].feature, bench, evidence)
        if verified:
            continue
        checks = ", ".join(dict.fromkeys(r.check_id for r in group))
        line = f"{name} ({group[0].commands}; used by {checks}): {state}"
        (taken if name in accepted else problems).append(line)
    return problems, taken


def refusal_message(bench: Bench, problems: list[str], refusals: list[str]) -> str:
    lines = [f"{bench.path}: nothing was energised; the plan relies on commands this bench has not shown it accepts:"]
    lines += [f"  - {line}" for line in refusals + problems]
    if problems:
        lines.append(
            f"  probe them with: hilbench bench probe {bench.path} [--role ROLE] (safe state, outputs off), or accept "
            "one by name with --accept-unverified ROLE:FEATURE (recorded in the run and printed on its reports)"
        )
    return "\n".join(lines)


def verified_identities(reliances: list[Reliance], bench: Bench, evidence: ProbeEvidence | None) -> dict[str, str]:
    """role -> the identity its verified items were probed on (what the instrument must still say it is); roles
    whose items the run relies on only by acceptance are not held to it."""
    if evidence is None or evidence.emulated:
        return {}
    return {
        r.role: evidence.roles[r.role].identity for r in reliances if item_state(r.role, r.feature, bench, evidence)[0]
    }
