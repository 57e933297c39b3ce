"""A vendor's model judged against the measured events of a run (IEC 61400-27-2 as RTE applies it, in
hilbench.pq.model_validation): the one procedure behind the ``validate_model`` check and ``hilbench
validate-model``.

The measured events come from the run's stored records, read back from ``raw/`` (this module touches no
instrument):
- a setpoint step (``step_response``): the event is the command; "during" runs from it until the measured response
  settles in a 5 % band of the change (at least 0.5 s), "post" after;
- a frequency step or excursion (``frequency_event``, ``frequency_response``) and a voltage sag (``ride_through``):
  the event is the supply's first update beyond half of its largest deviation (midway from the update before),
  the clearing its return, likewise.
Active power is judged in per unit of the DUT's rating.  The records hold no reactive power, so Q is not judged
(said in the figures' notes); the model's own V and f are not judged either (they are the event's inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hilbench.pq import model_validation as mv
from hilbench.pq.model_file import ModelResponse

#: the check types whose stored records are events this module can judge, and the raw file each stores
EVENT_RECORDS = {
    "step_response": "trend",
    "frequency_event": "record",
    "frequency_response": "record",
    "ride_through": "record",
}
WINDOWS = ("pre", "during", "post")
STEP_FIGURES = ("reaction_s", "rise_s", "settling_s", "overshoot_percent")
MIN_DURING_S = 0.5


class EventError(ValueError):
    """A run event the method cannot judge (no stored record, no visible event)."""


@dataclass
class MeasuredEvent:
    check: str
    kind: str  # setpoint step | frequency | voltage
    time: np.ndarray
    p_w: np.ndarray
    event_s: float
    clearing_s: float
    raw: str  # the raw file it came from, relative to the run directory


@dataclass
class Figure:
    """One measurement of the validation: a value in its unit with its limit (a maximum), or why it has none."""

    name: str
    value: float | None
    unit: str
    high: float | None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if self.value is None or self.high is None:
            return None
        return self.value <= self.high


def measured_event(run_dir: Path, check: str, check_type: str) -> MeasuredEvent:
    what = EVENT_RECORDS.get(check_type)
    if what is None:
        raise EventError(f"{check}: a {check_type} check stores no event this method judges "
                         f"(judged: {', '.join(EVENT_RECORDS)})")  # fmt: skip
    relative = f"raw/{check}-{what}.npz"
    path = Path(run_dir) / relative
    if not path.is_file():
        raise EventError(f"{check}: no stored record {relative} in {run_dir}")
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    time, p = np.asarray(data["time"], float), np.asarray(data["p_total"], float)
    if check_type == "step_response":
        event = float(data["command"])
        figures = mv.step_figures(time, p, event)
        settled = figures.settling_s if figures.settling_s is not None else time[-1] - 1.0 - event
        clearing = min(event + max(settled, MIN_DURING_S), float(time[-1]) - 0.1)
        return MeasuredEvent(check, "setpoint step", time, p, event, clearing, relative)
    if "voltage_pu" in data and np.ptp(data["voltage_pu"]) > 0.05:
        signal, kind = np.asarray(data["voltage_pu"], float), "voltage"
    else:
        signal, kind = np.asarray(data["frequency"], float), "frequency"
    event, clearing = disturbance(time, signal)
    if event is None:
        raise EventError(f"{check}: the stored record shows no {kind} event")
    return MeasuredEvent(check, kind, time, p, event, clearing, relative)


def disturbance(time: np.ndarray, signal: np.ndarray) -> tuple[float | None, float]:
    nominal = float(np.median(signal[: max(3, signal.size // 20)]))
    deviation = np.abs(signal - nominal)
    if deviation.max() <= 0:
        return None, float(time[-1])
    beyond = deviation > 0.5 * deviation.max()
    first = int(np.flatnonzero(beyond)[0])
    if first == 0:
        return None, float(time[-1])
    event = 0.5 * (time[first] + time[first - 1])
    back = np.flatnonzero(~beyond[first:])
    clearing = float(time[-1]) - 0.1 if back.size == 0 else 0.5 * (time[first + back[0]] + time[first + back[0] - 1])
    return float(event), float(clearing)


def judge_event(
    event: MeasuredEvent,
    model: ModelResponse,
    *,
    rated_w: float,
    reference: str = "field_test",
    tolerance_override: dict[str, dict[str, float]] | None = None,
    step_tolerance: dict[str, float] | None = None,
    insertion_exclusion_s: float = 0.020,
    clearing_exclusion_s: float = 0.060,
) -> list[Figure]:
    """Per window MXE / ME / MAE of active power (pu of ``rated_w``) and, for a setpoint step, the step figures'
    relative errors; each with its limit (the reference's tolerances unless overridden)."""
    verdicts = mv.validate(
        (event.time, event.p_w), (model.time_s, model.p_w),
        event_s=event.event_s, clearing_s=event.clearing_s, simulated_event_s=0.0, base=rated_w,
        reference=reference, insertion_exclusion_s=insertion_exclusion_s, clearing_exclusion_s=clearing_exclusion_s,
        tolerance_override=tolerance_override,
    )  # fmt: skip
    by_window = {v.window.name: v for v in verdicts if v.window is not None}
    figures = []
    for window in WINDOWS:
        verdict = by_window.get(window)
        for stat in ("mxe", "me", "mae"):
            name = f"p_{stat}_{window}"
            if verdict is None:
                figures.append(Figure(name, None, "pu", None, f"{window} window too short to judge in this record"))
                continue
            span = f"{verdict.window.start_s - event.event_s:+.3f}..{verdict.window.end_s - event.event_s:+.3f} s"
            figures.append(
                Figure(
                    name, getattr(verdict.errors, stat), "pu", verdict.limits[stat],
                    "; ".join(n for n in (f"window {span} from the event", verdict.note) if n),
                    {"span": (verdict.window.start_s, verdict.window.end_s)},
                )
            )  # fmt: skip
    if event.kind == "setpoint step":
        measured = mv.step_figures(event.time, event.p_w, event.event_s)
        shifted = model.time_s + event.event_s
        simulated = mv.step_figures(shifted, model.p_w, event.event_s)
        errors = mv.step_figure_errors(measured, simulated)
        limits = step_tolerance or mv.step_tolerances()
        for figure in STEP_FIGURES:
            meas, sim = getattr(measured, figure), getattr(simulated, figure)
            note = f"measured {_fmt(meas)}, model {_fmt(sim)}"
            figures.append(Figure(f"{figure.rsplit('_', 1)[0]}_error", errors[figure], "", limits[figure], note))
    return figures


def _fmt(value) -> str:
    return "none" if value is None else f"{value:.4g}"


def event_chart_data(event: MeasuredEvent, model: ModelResponse) -> dict:
    """What the chart shows besides the windows: the model on the record's time, the worst difference's instant."""
    simulated_time = model.time_s + event.event_s
    inside = (simulated_time >= event.time[0]) & (simulated_time <= event.time[-1])
    on_measured = np.interp(event.time, simulated_time[inside], model.p_w[inside]) if inside.sum() > 1 else None
    worst = None
    if on_measured is not None:
        k = int(np.argmax(np.abs(on_measured - event.p_w)))
        worst = (float(event.time[k]), float(event.p_w[k]), float(on_measured[k]))
    return {"simulated_time": simulated_time, "worst": worst}
