"""The report's charts, one function per kind, drawn with matplotlib and returned as PNG bytes.

Every chart follows the same rules so a reader can trust it at a glance: values in SI units with engineering
prefixes on the axis ("98.3 kW", "49.8 Hz", never "1.39e+03"), time counted from the start of the record with
the instrument time of that start in the axis label, marks (command, first movement, response) as vertical
lines named in the legend with their times instead of labels on the plot (they never overlap), the legend below
the plot (never on the trace), and limits or envelopes as shaded bands.  The object-oriented API only (no
pyplot state), so charts can be drawn from any thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure  # a bare Figure renders PNG with Agg: no pyplot, no window, no global state
from matplotlib.ticker import EngFormatter, MaxNLocator

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.2, 110
MARK_STYLES = ("--", ":", "-.", (0, (5, 1)), (0, (1, 1)), (0, (3, 1, 1, 1)))
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


@dataclass(frozen=True)
class Mark:
    """A moment on the time axis (instrument time, s) and what happened then."""

    at: float
    label: str


def power_trend(
    title: str,
    t: np.ndarray,
    p_w: np.ndarray,
    *,
    marks: Sequence[Mark] = (),
    band_w: tuple[float, float] | None = None,
    band_label: str = "band",
) -> bytes:
    """Active power at the PCC against time, with command / response marks and the settling band."""
    fig, ax, t0 = _time_figure(title, t)
    ax.plot(t - t0, p_w, color=COLOURS[0], linewidth=1.4, label="P (analyser)")
    if band_w is not None:
        ax.axhspan(min(band_w), max(band_w), color=COLOURS[2], alpha=0.15, label=band_label)
    _axis(ax, "active power", "W")
    _marks(ax, marks, t0)
    return _png(fig, ax)


def frequency_and_power(
    title: str, t: np.ndarray, p_w: np.ndarray, f_hz: np.ndarray, *, marks: Sequence[Mark] = (), target_w=None
) -> bytes:
    """A frequency event: power (left axis) and grid frequency (right axis) on one time axis."""
    fig, ax, t0 = _time_figure(title, t)
    ax.plot(t - t0, p_w, color=COLOURS[0], linewidth=1.4, label="P (analyser)")
    if target_w is not None:
        ax.axhline(target_w, color=COLOURS[2], linewidth=1.0, linestyle="--", label="reduction target")
    _axis(ax, "active power", "W")
    right = ax.twinx()
    right.plot(t - t0, f_hz, color=COLOURS[1], linewidth=1.1, label="frequency")
    _axis(right, "frequency", "Hz", places=3)
    _marks(ax, marks, t0)
    return _png(fig, ax, right)


def envelope(
    title: str,
    t: np.ndarray,
    p_w: np.ndarray,
    lower_w: np.ndarray,
    upper_w: np.ndarray,
    *,
    marks: Sequence[Mark] = (),
    f_hz: np.ndarray | None = None,
) -> bytes:
    """A response judged against an envelope: the allowed region shaded, the trace over it, the first sample
    outside marked; the frequency on the right axis when given."""
    fig, ax, t0 = _time_figure(title, t)
    x = t - t0
    ax.fill_between(x, lower_w, upper_w, step="post", color=COLOURS[2], alpha=0.18, label="allowed (envelope)")
    ax.plot(x, p_w, color=COLOURS[0], linewidth=1.4, label="P (analyser)")
    _axis(ax, "active power", "W")
    axes = [ax]
    if f_hz is not None:
        right = ax.twinx()
        right.plot(x, f_hz, color=COLOURS[1], linewidth=1.0, alpha=0.8, label="frequency")
        _axis(right, "frequency", "Hz", places=3)
        axes.append(right)
    _marks(ax, marks, t0)
    return _png(fig, *axes)


def ride_through(
    title: str, t: np.ndarray, p_percent: np.ndarray, u_pu: np.ndarray, *, marks: Sequence[Mark] = ()
) -> bytes:
    """Power (% of before the disturbance) and PCC voltage (pu) through a disturbance."""
    fig, ax, t0 = _time_figure(title, t)
    ax.plot(t - t0, p_percent, color=COLOURS[0], linewidth=1.4, label="P (% of before)")
    ax.set_ylabel("power (% of before)")
    ax.yaxis.set_major_locator(MaxNLocator(6))
    right = ax.twinx()
    right.plot(t - t0, u_pu, color=COLOURS[1], linewidth=1.1, label="U at the PCC (pu)")
    right.set_ylabel("voltage (pu)")
    right.set_ylim(bottom=0.0)
    _marks(ax, marks, t0)
    return _png(fig, ax, right)


def harmonic_spectrum(title: str, orders: np.ndarray, measured: np.ndarray, limits: np.ndarray, unit: str) -> bytes:
    """Each harmonic order's measured value as a bar beside its limit; bars over their limit in red."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    orders = np.asarray(orders, dtype=int)
    measured, limits = np.asarray(measured, float), np.asarray(limits, float)
    over = measured > limits
    ax.bar(orders - 0.2, limits, width=0.4, color="#bbbbbb", label="limit")
    ax.bar(orders[~over] + 0.2, measured[~over], width=0.4, color=COLOURS[0], label="measured")
    if over.any():
        ax.bar(orders[over] + 0.2, measured[over], width=0.4, color=COLOURS[1], label="measured, over its limit")
    ax.set_xlabel("harmonic order")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=20))
    if unit in ("A", "V"):
        _axis(ax, "harmonic current" if unit == "A" else "harmonic voltage", unit)
    else:
        ax.set_ylabel(unit)
    return _png(fig, ax)


def pinst_series(title: str, t: np.ndarray, pinst: np.ndarray, *, pst: Sequence[float] = ()) -> bytes:
    """Instantaneous flicker sensation against time, with each 10-minute Pst as a level."""
    fig, ax, t0 = _time_figure(title, t)
    ax.plot(t - t0, pinst, color=COLOURS[0], linewidth=0.8, label="Pinst (phase 1)")
    for k, value in enumerate(pst):
        ax.hlines(value, k * 600, (k + 1) * 600, color=COLOURS[1], linewidth=2.0, label="Pst" if k == 0 else None)
    ax.set_ylabel("Pinst")
    ax.yaxis.set_major_locator(MaxNLocator(6))
    return _png(fig, ax)


def overlay(title: str, traces: Sequence[tuple[str, np.ndarray, np.ndarray]], *, quantity: str, unit: str) -> bytes:
    """The same quantity from several runs, each against the time from the start of its own record."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    for k, (label, t, y) in enumerate(traces):
        t = np.asarray(t, dtype=float)
        ax.plot(t - (t[0] if t.size else 0.0), y, color=COLOURS[k % len(COLOURS)], linewidth=1.2, label=label)
    ax.set_xlabel("time (s) from the start of each record")
    ax.grid(True, alpha=0.3)
    _axis(ax, quantity, unit)
    return _png(fig, ax)


# ----- shared layout ------------------------------------------------------------------------------------------------
def _time_figure(title: str, t: np.ndarray):
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    t = np.asarray(t, dtype=float)
    t0 = float(t[0]) if t.size else 0.0
    ax.set_xlabel(f"time (s) from instrument time {t0:.2f} s")
    ax.xaxis.set_major_formatter(EngFormatter(places=None, sep=""))
    ax.xaxis.set_major_locator(MaxNLocator(8))
    ax.grid(True, alpha=0.3)
    return fig, ax, t0


def _axis(ax, quantity: str, unit: str, places: int | None = None) -> None:
    """Engineering ticks ("98.3 kW") with no offset or exponent, and the quantity as the label."""
    ax.yaxis.set_major_formatter(EngFormatter(unit=unit, places=places))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.set_ylabel(quantity)


def _marks(ax, marks: Sequence[Mark], t0: float) -> None:
    for k, mark in enumerate(m for m in marks if m.at is not None and np.isfinite(m.at)):
        ax.axvline(
            mark.at - t0,
            color="#444444",
            linewidth=1.0,
            linestyle=MARK_STYLES[k % len(MARK_STYLES)],
            label=f"{mark.label} at {mark.at - t0:.3g} s",
        )


def _png(fig: Figure, *axes) -> bytes:
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(handles)), fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def model_validation(
    title: str,
    t: np.ndarray,
    measured: np.ndarray,
    simulated_t: np.ndarray,
    simulated: np.ndarray,
    *,
    windows: Sequence[tuple[str, float, float, bool | None]],
    worst: tuple[float, float, float] | None,
) -> bytes:
    """Measured and simulated power of one event, each window shaded (green within its tolerances, red not, grey
    not judged) and the worst difference marked."""
    fig, ax, t0 = _time_figure(title, t)
    ax.plot(t - t0, measured, color=COLOURS[0], linewidth=1.3, label="measured")
    inside = (simulated_t >= t[0]) & (simulated_t <= t[-1])
    ax.plot(simulated_t[inside] - t0, simulated[inside], color=COLOURS[1], linewidth=1.1, label="model")
    shades = {True: "#2ca02c", False: "#d62728", None: "#999999"}
    for name, start, end, passed in windows:
        ax.axvspan(start - t0, end - t0, color=shades[passed], alpha=0.12)
        ax.text((start + end) / 2 - t0, 1.0, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=8)  # fmt: skip
    if worst is not None:
        at, meas, sim = worst
        ax.annotate("", xy=(at - t0, sim), xytext=(at - t0, meas), arrowprops={"arrowstyle": "<->", "color": "#000"})
        ax.plot([], [], color="#000", label=f"worst difference {abs(sim - meas) / 1000:.3g} kW at {at - t0:.3g} s")
    _axis(ax, "active power", "W")
    return _png(fig, ax)
