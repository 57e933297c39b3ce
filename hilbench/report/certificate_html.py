"""The certificate as one self-contained HTML file: styles inline, charts embedded as data URIs, no script and
nothing fetched, so it opens in a browser on a machine with no network and can be mailed as it is."""

from __future__ import annotations

import base64
from html import escape

from hilbench.report.certificate import Certificate

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 60em;
       color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin-bottom: 0.3em; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.banner { background: #b71c1c; color: white; padding: 0.6em 1em; font-weight: bold; font-size: 1.1em; }
.verdict { font-size: 1.4em; font-weight: bold; padding: 0.4em 0; }
.PASSED, .pass { color: #1b5e20; } .FAILED, .fail, .error, .overdue { color: #b71c1c; font-weight: bold; }
.marginal { color: #e65100; } .mono { font-family: monospace; font-size: 0.85em; word-break: break-all; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
"""


def render_html(cert: Certificate) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(cert.title)}</title><style>{STYLE}</style></head><body>",
    ]
    if cert.emulated:
        parts.append(
            f'<div class="banner">EMULATED BENCH: no hardware was measured (plant time x{cert.time_scale:g}). '
            "These figures show what the plan and the emulated container give; they do not certify a device.</div>"
        )
    parts += [f'<div class="banner">{escape(note)}</div>' for note in cert.notes if note.startswith("REPLAY")]
    parts += [
        f"<h1>{escape(cert.title)}</h1>",
        f'<div class="verdict {cert.verdict}">Verdict: {cert.verdict}</div>',
    ]
    if cert.reasons:
        parts.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in cert.reasons) + "</ul>")
    parts.append(f"<p>Run from {escape(cert.started)} to {escape(cert.ended)}.</p>")
    parts += ["<h2>Device under test</h2>", _pairs(cert.dut)]
    parts += ["<h2>Plan</h2>", _pairs(cert.plans, mono=True)]
    parts += ["<h2>Bench</h2>", _pairs(cert.bench, mono=True), _instruments(cert)]
    parts.append("<h2>Measurements</h2>")
    for section in cert.checks:
        parts.append(f'<h3 id="{escape(section.id)}">{escape(section.id)} ({escape(section.type)})</h3>')
        if section.error:
            parts.append(f'<p class="error">The check did not end cleanly: {escape(section.error)}</p>')
        parts.append(
            _table(
                ["measurement", "value", "unit", "limit", "verdict", "note"],
                [
                    [r.name, (r.value, "num"), r.unit, r.limit, (r.verdict, r.verdict.replace("/", "")), r.note]
                    for r in section.rows
                ],
            )
        )
        for name, png in section.charts:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<img alt="{escape(section.id)}: {escape(name)}" src="data:image/png;base64,{data}">')
    parts += ["<h2>Safe state at the end of the run</h2>", _safe_states(cert)]
    if cert.lag:
        parts += ["<h2>Emulated plant timekeeping</h2>", _lag(cert)]
    parts += ["<h2>Integrity</h2>", _pairs(cert.integrity, mono=True)]
    parts.append(
        "<p>Recompute with <code>hilbench report RUN_DIR --verify</code>, or <code>sha256sum</code> over the listed "
        "files (hilbench/report/integrity.py says how).</p>"
    )
    parts += [f"<p>{escape(note)}</p>" for note in cert.notes]
    parts.append("</body></html>")
    return "\n".join(parts)


def _pairs(pairs: list[tuple[str, str]], mono: bool = False) -> str:
    cls = ' class="mono"' if mono else ""
    rows = "".join(f"<tr><th>{escape(k)}</th><td{cls}>{escape(v)}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            text, cls = cell if isinstance(cell, tuple) else (cell, "")
            cells.append(
                f'<td class="{escape(cls)}">{escape(str(text))}</td>' if cls else f"<td>{escape(str(text))}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _instruments(cert: Certificate) -> str:
    rows = [
        [
            i["role"],
            i["driver"],
            i["address"],
            i["identity"],
            i["calibration"],
            i["due"],
            (i["status"], "overdue" if i["overdue"] else ""),
        ]
        for i in cert.instruments
    ]
    return _table(["role", "driver", "address", "identity", "calibration", "due", "status"], rows)


def _safe_states(cert: Certificate) -> str:
    status = {True: ("confirmed", "pass"), False: ("NOT CONFIRMED", "fail"), None: ("not used", "")}
    rows = [
        [r.get("role", ""), status[r.get("confirmed")], r.get("read_back", ""), (f"{r.get('seconds', 0):.2f} s", "num")]
        for r in cert.safe_states
    ]
    return _table(["role", "safe state", "read back", "took"], rows)


def _lag(cert: Certificate) -> str:
    rows = [
        [
            r.get("check", ""),
            (f"x{r.get('time_scale', 0):g}", "num"),
            (f"{r.get('p99_lag_s', 0):.3g} s", "num"),
            (f"{r.get('max_lag_s', 0):.3g} s", "num"),
            "-" if r.get("resolution_s") is None else f"{r['resolution_s']:g} s",
            ("kept up", "pass") if r.get("kept_up", True) else ("could not keep up: figures are errors", "fail"),
        ]
        for r in cert.lag
    ]
    return _table(["check", "time scale", "p99 lag", "worst lag", "resolution", ""], rows)
