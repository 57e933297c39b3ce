"""Setpoint limits from the bench file: refuse, never clip, before anything is sent."""

from __future__ import annotations

from hilbench.core.errors import LimitError


def check(
    value: float, limits: dict, low_key: str | None, high_key: str | None, what: str, unit: str, instrument: str
) -> float:
    low = limits.get(low_key) if low_key else None
    high = limits.get(high_key) if high_key else None
    if low is not None and value < low:
        raise LimitError(
            f"{instrument}: {what} {value:g} {unit} is below the bench limit {low:g} {unit} "
            f"({low_key}); refused, nothing sent"
        )
    if high is not None and value > high:
        raise LimitError(
            f"{instrument}: {what} {value:g} {unit} is above the bench limit {high:g} {unit} "
            f"({high_key}); refused, nothing sent"
        )
    return value
