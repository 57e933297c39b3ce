"""Fitted parameters as data: an estimate, its uncertainty, where it came from, and what was not excited."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: how a parameter's value was obtained
FITTED = "fitted"  # least squares of the simulated responses against the stored ones
MEASURED = "measured"  # read off the stored records directly (a mean over a steady stretch)
SELECTED = "selected"  # a discrete choice: the option whose simulation matched the records better
DECLARED = "declared"  # the plan's DUT rating, not measured by the run
NOT_EXCITED = "not excited"  # the run has no record that depends on it: the template's value is kept
NOT_FITTED = "not fitted"  # the run excites it but this version does not fit it: the template's value is kept


@dataclass
class Estimate:
    name: str
    value: object
    unit: str
    status: str
    uncertainty: float | None = None  # one standard deviation, in the parameter's unit
    sources: list[str] = field(default_factory=list)  # the checks (and raw files) it came from
    note: str = ""

    @property
    def kept_default(self) -> bool:
        return self.status in (NOT_EXCITED, NOT_FITTED)

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if isinstance(self.value, float):
            text = f"{self.value:.4g}"
            if self.uncertainty is not None:
                text += f" +- {self.uncertainty:.2g}"
        else:
            text = str(self.value)
        unit = f" {self.unit}" if self.unit else ""
        where = f" from {', '.join(self.sources)}" if self.sources else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.name} = {text}{unit}: {self.status}{where}{note}"
