"""Whether the analyser's time stamps held for a figure: a time figure whose stamps may be wrong by enough to carry
it across one of its limits is an ``error`` with the reason, never a verdict; otherwise its note says by how much.

The analyser driver keeps ``slack_events``: where in its own time its stamps became uncertain, by how much, and
the host gap that caused it (hilbench.drivers.analyser.yokogawa_wt5000).  A figure with an instrument time spans
``value`` seconds before it (widened by the check's resolution); only events inside that interval can move it.  A
figure without one is held to the events of the whole check.

* A time (unit ``s``) may be off by the summed slack (stamps short by that much) plus the longest gap that ends on
  one of its own samples (no sample there to time it by): an error when that reaches a limit, as the emulator's
  stalls are judged (hilbench.plans.timekeeping).
* A rate per second is taken over a window of samples: an error when the summed slack exceeds the check's
  resolution (its stamps, not its sparseness, move a rate).

Checks that time from the instrument's stored record (``uses`` analyser.record) are not judged here: those
samples carry the store's own update numbers.  This holds on a real bench as on an emulated one.
"""

from __future__ import annotations

from dataclasses import dataclass


def is_time_figure(unit: str) -> bool:
    return unit == "s" or unit.endswith("/s")


@dataclass
class StampWatch:
    session: object  # hilbench.bench.session.BenchSession, duck-typed
    resolution_s: float | None
    start_events: int  # slack events the analyser had added (ever) when the check started

    @classmethod
    def open(cls, session, resolution_s: float | None) -> StampWatch:
        return cls(session, resolution_s, _analyser_attr(session, "slack_events_total", 0))

    @classmethod
    def for_check(cls, session, check_type, resolution_s: float | None = None) -> StampWatch | None:
        """None for a check that times from the analyser's stored record (``uses`` analyser.record): its figures
        carry the store's own update numbers, whatever the host did between its reads; None as well for a check
        that declares no resolution (its figures do not depend on when an instrument answered)."""
        resolution_s = resolution_s or check_type.resolution_s
        if "analyser.record" in check_type.uses or resolution_s is None:
            return None  # no resolution: its figures are redrawn from records at their own stamps (waveforms)
        return cls.open(session, resolution_s)

    def assess(self, value: float, unit: str, limits=None, instrument_time: float | None = None) -> tuple[str, str]:
        """(why the figure cannot be judged, or ""; a note for the record, or "")."""
        if not is_time_figure(unit):
            return "", ""
        new = _analyser_attr(self.session, "slack_events_total", 0) - self.start_events
        kept = list(_analyser_attr(self.session, "slack_events", ()))
        events = kept[max(0, len(kept) - new) :] if new > 0 else []
        margin = self.resolution_s or 0.0
        edges: tuple[float, ...] = ()
        if instrument_time is not None and unit == "s":
            edges = (instrument_time - value, instrument_time)
            events = [e for e in events if edges[0] - margin < e[0] <= edges[1] + margin]
        slack = sum(e[1] for e in events)
        if slack <= 0:
            return "", ""
        # a gap moves a figure only where it ends on one of the figure's own samples (no sample there to time it
        # by); without an instrument time every gap of the check is suspect
        at_edges = [e for e in events if not edges or any(abs(e[0] - edge) <= margin for edge in edges)]
        gap = max((e[2] for e in at_edges), default=0.0)
        detail = (
            f"the analyser's stamps may be short by up to {slack:.3g} s here: the host let updates pass unread "
            f"{len(events)} time(s)"
            + (f", for {gap:.3g} s of instrument time where the figure is timed" if gap else "")
        )
        if unit == "s":
            doubt = slack + gap
            bounds = [b for b in (getattr(limits, "low", None), getattr(limits, "high", None)) if b is not None]
            if any(abs(value - bound) <= doubt for bound in bounds):
                return f"{detail}, enough to carry it across its limit; time it from a stored record", ""
            return "", f"{detail}; the verdict holds with that margin"
        if self.resolution_s is not None and slack > self.resolution_s:
            return f"{detail}, beyond the check's resolution {self.resolution_s:g} s; time it from a stored record", ""
        return "", detail


def _analyser_attr(session, name: str, default):
    analyser = session.opened().get("analyser") if hasattr(session, "opened") else None
    return getattr(analyser, name, default)
