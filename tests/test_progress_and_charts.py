"""Live progress (pure logic, a fake line writer) and the charts' readability rules (engineering ticks, no
offsets, PNG out)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from hilbench.pytest_plugin.progress import RunProgress
from hilbench.report import charts


def test_lines_mode_says_each_check_its_phases_at_most_every_ten_seconds_and_the_time_left(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("hilbench.pytest_plugin.progress.time.monotonic", lambda: clock[0])
    lines: list[str] = []
    progress = RunProgress("lines", lines.append, total=3)
    progress.start_check("boot", "boot")
    progress.phase("boot t=5.0 s  P=10.0 kW")  # within 10 s of the start: not printed
    clock[0] += 12
    progress.phase("boot t=41.0 s  P=62.0 kW")
    clock[0] += 30
    progress.end_check(["pass", "info"])
    progress.start_check("step", "step")
    clock[0] += 20
    progress.end_check(["pass", "fail"])
    assert lines[0] == "[1/3] boot (boot) started"
    assert lines[1] == "[1/3] boot t=41.0 s  P=62.0 kW"
    assert lines[2].startswith("[1/3] boot (boot): PASS in 42.0 s; ~1 min 24 s left (2 check(s)")
    assert lines[3].startswith("[2/3] step (step) started; ~1 min 24 s left (2 check(s)")
    assert lines[4].startswith("[2/3] step (step): FAIL in 20.0 s; ~31 s left (1 check(s)")


def test_quiet_says_nothing_and_live_mode_runs_without_a_terminal():
    lines: list[str] = []
    quiet = RunProgress("none", lines.append, total=1)
    quiet.start_check("boot", "boot")
    quiet.phase("anything")
    quiet.end_check(["error"])
    assert lines == [] and quiet.done[0][1] == "error"
    live = RunProgress("live", lines.append, total=2)
    live.start_check("boot", "boot")
    live.phase("boot t=41.0 s  P=62.0 kW")
    live.end_check(["pass"])
    assert lines[-1].startswith("[1/2] boot (boot): PASS") and live._live is None
    with pytest.raises(ValueError, match="one of live, lines, none"):
        RunProgress("dots", print)


def test_power_axis_ticks_read_in_engineering_units_without_an_offset():
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1390.0, 1390.4], [98_300.0, 73_700.0])
    charts._axis(ax, "active power", "W")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.endswith(" kW") for label in labels), labels
    assert ax.yaxis.get_offset_text().get_text() == ""


@pytest.mark.parametrize(
    "draw",
    [
        lambda t, p: charts.power_trend("p", t, p, marks=[charts.Mark(t[10], "command"), charts.Mark(t[11], "move")]),
        lambda t, p: charts.frequency_and_power("f", t, p, 50 - 0.2 * (t > t[50]), target_w=9_000.0),
        lambda t, p: charts.envelope("e", t, p, p - 1_000, p + 1_000, f_hz=np.full(len(t), 50.0)),
        lambda t, p: charts.ride_through("r", t, p / p[0] * 100, np.ones(len(t))),
        lambda t, p: charts.pinst_series("pinst", t - t[0], p / 1e5, pst=[0.4]),
        lambda t, p: charts.harmonic_spectrum("h", np.arange(2, 12), np.linspace(2, 0.1, 10), np.ones(10), "A"),
        lambda t, p: charts.overlay("o", [("A", t, p), ("B", t + 5, p * 0.9)], quantity="active power", unit="W"),
    ],
)
def test_every_chart_kind_renders_a_png(draw):
    t = 1390.0 + np.arange(0, 10, 0.05)
    p = np.where(t < 1395, 98_300.0, 49_000.0)
    png = draw(t, p)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
