"""The view's charts, drawn by matplotlib as SVG on the server (no chart script in the page): a figure's trend
across runs with its limits, its individuals control chart, and a run's latest power trace."""

from __future__ import annotations

import io
import threading

import matplotlib
from matplotlib.figure import Figure

from hilbench.store.queries import FigureSeries

_lock = threading.Lock()  # matplotlib's text layout caches are not thread-safe; the server renders from a pool
LIMIT_STYLE = {"color": "#b00020", "linestyle": "--", "linewidth": 1}


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text: a third of the size, and faster
        figure.savefig(out, format="svg")  # fixed margins (_frame): a "tight" box would draw the figure twice
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline in the page: no XML prolog


def trend_svg(series: FigureSeries, *, max_points: int) -> str:
    """Values in run order with the limits: one colour per DUT serial where there are up to 8, else one colour
    (across many DUTs a legend says nothing; the DUT filter shows one)."""
    points = series.points[-max_points:]
    serials = sorted({p["dut_serial"] for p in points})
    groups = serials if len(serials) <= 8 else [None]
    with _lock:
        figure, ax = _frame(9, 3.2)
        for i, serial in enumerate(groups):
            xs = [n for n, p in enumerate(points) if p["value"] is not None and serial in (None, p["dut_serial"])]
            ys = [points[n]["value"] for n in xs]
            ax.plot(xs, ys, ".", color=f"C{i}", markersize=4, label=serial)
        _limits(ax, series.low, series.high)
        ax.set_xlabel(f"run (oldest to newest; {len(points)} shown)")
        ax.set_ylabel(f"{series.name} [{series.unit}]" if series.unit else series.name)
        if len(groups) > 1:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(alpha=0.3)
        return _svg(figure)


def control_svg(series: FigureSeries, *, max_points: int) -> str:
    """The individuals chart: values, centre line, control limits (mean -/+ 2.66 mean moving range)."""
    chart = series.chart
    values = [v for v in series.values][-max_points:]
    with _lock:
        figure, ax = _frame(9, 2.6)
        ax.plot(range(len(values)), values, "-", color="C0", linewidth=0.8)
        if chart is not None:
            for level, style in ((chart.center, {"color": "0.3", "linewidth": 1}), (chart.upper, LIMIT_STYLE),
                                 (chart.lower, LIMIT_STYLE)):  # fmt: skip
                ax.axhline(level, **style)
            offset = len(series.values) - len(values)
            out = [i - offset for i in chart.out_of_control if i >= offset]
            ax.plot(out, [values[i] for i in out], "o", color="#b00020", markersize=5, fillstyle="none")
        ax.set_xlabel("run (oldest to newest)")
        ax.set_ylabel("individual value")
        ax.grid(alpha=0.3)
        return _svg(figure)


def trace_svg(time_s: list[float], power_kw: list[float], title: str) -> str:
    with _lock:
        figure, ax = _frame(7, 2.6, top=0.88)
        ax.plot(time_s, power_kw, "-", color="C0", linewidth=1)
        ax.set_xlabel("time in the check's record [s]")
        ax.set_ylabel("power [kW]")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        return _svg(figure)


def _frame(width: float, height: float, *, top: float = 0.95):
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=0.8 / width, right=1 - 1.3 / width, bottom=0.55 / height, top=top)
    return figure, figure.add_subplot()


def _limits(ax, low: float | None, high: float | None) -> None:
    for level in (low, high):
        if level is not None:
            ax.axhline(level, **LIMIT_STYLE)
