"""Probe files: the evidence ``hilbench bench probe`` collected on a bench's instruments, beside its bench file.

``instruments/lab.yaml`` -> ``instruments/lab.probe.yaml``.  Per role: the driver and address probed, the
instrument's identity (firmware is its ``*IDN?`` fourth field), the date, and per unverified feature its status
(``verified``, ``refused``, ``skipped``) with every command sent, its reply and the instrument's error.  It is
evidence, not settings: a run reads it to decide what the instruments have shown they accept, and nothing in it
changes what a driver sends.  Errors name the file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hilbench.core.errors import HilbenchError

VERIFIED, REFUSED, SKIPPED = "verified", "refused", "skipped"
STATUSES = (VERIFIED, REFUSED, SKIPPED)


class ProbeFileError(HilbenchError, ValueError):
    """A probe file that cannot be read; the message names the file and the field."""


@dataclass
class ProbeStepEvidence:
    command: str
    reply: str = ""
    error: str = ""
    seconds: float = 0.0


@dataclass
class FeatureEvidence:
    status: str
    commands: str
    steps: list[ProbeStepEvidence] = field(default_factory=list)
    reason: str = ""  # why refused (the instrument's words) or skipped (the driver's)


@dataclass
class RoleEvidence:
    driver: str
    address: str
    identity: str
    date: str  # ISO 8601, UTC
    features: dict[str, FeatureEvidence] = field(default_factory=dict)

    @property
    def firmware(self) -> str:
        """The fourth field of an IEEE 488.2 identity (manufacturer, model, serial, firmware), else the identity."""
        fields = [f.strip() for f in self.identity.split(",")]
        return fields[3] if len(fields) >= 4 else self.identity

    def describe(self) -> str:
        return f"firmware {self.firmware}, {self.date[:10]}"


@dataclass
class ProbeEvidence:
    bench_file: str
    emulated: bool
    date: str
    safe_state: list[str] = field(default_factory=list)
    roles: dict[str, RoleEvidence] = field(default_factory=dict)
    path: str = ""


def probe_file_for(bench_path: str | Path) -> Path:
    """Where a bench file's probe evidence lives: beside it, ``<stem>.probe.yaml``."""
    bench_path = Path(bench_path)
    return bench_path.with_name(f"{bench_path.stem}.probe.yaml")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def write_probe_file(evidence: ProbeEvidence, path: str | Path) -> Path:
    """Write the evidence (roles already in the file and not probed this time are kept)."""
    path = Path(path)
    if path.exists():
        try:
            previous = read_probe_file(path)
        except ProbeFileError:
            previous = None
        if previous is not None and previous.emulated == evidence.emulated:  # never mix emulators and instruments
            evidence.roles = {**previous.roles, **evidence.roles}
    data = {
        "written_by": "hilbench bench probe (evidence from the instruments; not settings)",
        "bench_file": evidence.bench_file,
        "emulated": evidence.emulated,
        "date": evidence.date,
        "safe_state": evidence.safe_state,
        "roles": {
            name: {
                "driver": role.driver,
                "address": role.address,
                "identity": role.identity,
                "date": role.date,
                "features": {
                    feature: {
                        "status": item.status,
                        "commands": item.commands,
                        "reason": item.reason,
                        "steps": [vars(step) for step in item.steps],
                    }
                    for feature, item in role.features.items()
                },
            }
            for name, role in sorted(evidence.roles.items())
        },
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))
    return path


def read_probe_file(path: str | Path) -> ProbeEvidence:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ProbeFileError(f"{path}: cannot read the probe file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("roles"), dict):
        raise ProbeFileError(f"{path}: not a probe file (no 'roles' mapping); write it with hilbench bench probe")
    roles = {}
    for name, role in data["roles"].items():
        try:
            features = {}
            for feature, item in (role.get("features") or {}).items():
                if item.get("status") not in STATUSES:
                    raise ProbeFileError(
                        f"{path}: roles.{name}.features.{feature}.status must be one of {', '.join(STATUSES)}"
                    )
                steps = []
                for k, step in enumerate(item.get("steps") or []):
                    try:
                        steps.append(ProbeStepEvidence(**step))
                    except TypeError:
                        raise ProbeFileError(
                            f"{path}: roles.{name}.features.{feature}.steps[{k}]: expected command, reply, error, "
                            f"seconds; got {step!r:.80}"
                        ) from None
                features[feature] = FeatureEvidence(
                    item["status"], str(item.get("commands", "")), steps, str(item.get("reason", ""))
                )
            roles[name] = RoleEvidence(
                str(role["driver"]), str(role["address"]), str(role["identity"]), str(role["date"]), features
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProbeFileError(f"{path}: roles.{name}: missing or malformed field ({exc})") from None
    if not isinstance(data.get("emulated", False), bool) or not isinstance(data.get("safe_state") or [], list):
        raise ProbeFileError(f"{path}: 'emulated' must be true or false and 'safe_state' a list")
    return ProbeEvidence(
        str(data.get("bench_file", "")),
        data.get("emulated", False),
        str(data.get("date", "")),
        list(data.get("safe_state") or []),
        roles,
        str(path),
    )


def find_probe_evidence(bench_path: str | Path) -> ProbeEvidence | None:
    """The bench file's probe evidence, or None when it was never probed."""
    path = probe_file_for(bench_path)
    return read_probe_file(path) if path.exists() else None
