"""The certificate as PDF (reportlab's page layout: pure Python, no system libraries), the same content as the
HTML one, for a signature and an archive."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hilbench.report.certificate import Certificate

RED = colors.HexColor("#b71c1c")

#: reportlab's base fonts (Helvetica) hold Latin-1 only: a plan named 一次調整力 came out as black boxes.  Text
#: beyond Latin-1 is set in Adobe's Japanese CID font (kanji, kana and most CJK ideographs; reportlab ships its
#: metrics, and PDF viewers supply the glyphs, so nothing is downloaded or embedded).
CJK_FONT = "HeiseiKakuGo-W5"


def _text(value: object) -> str:
    """``value`` as Paragraph markup: escaped, and every run of characters beyond Latin-1 in the CJK font."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    out, run = [], []
    for char in str(value):
        if ord(char) > 0xFF:
            run.append(char)
            continue
        if run:
            out.append(f'<font name="{CJK_FONT}">{escape("".join(run))}</font>')
            run = []
        out.append(escape(char))
    if run:
        out.append(f'<font name="{CJK_FONT}">{escape("".join(run))}</font>')
    return "".join(out)


def render_pdf(cert: Certificate, path: Path) -> None:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    story = []
    if cert.emulated:
        banner = Table(
            [
                [
                    Paragraph(
                        f'<font color="white">EMULATED BENCH: no hardware was measured (plant time '
                        f"x{cert.time_scale:g})</font>",
                        small,
                    )
                ]
            ],
            colWidths=[180 * mm],
        )
        banner.setStyle(
            TableStyle([("BACKGROUND", (0, 0), (-1, -1), RED), ("TEXTCOLOR", (0, 0), (-1, -1), colors.white)])
        )
        story += [banner, Spacer(1, 4 * mm)]
    verdict_colour = "#1b5e20" if cert.passed else "#b71c1c"
    story += [
        Paragraph(_text(cert.title), styles["Title"]),
        Paragraph(f'<font color="{verdict_colour}"><b>Verdict: {cert.verdict}</b></font>', styles["Heading2"]),
    ]
    story += [Paragraph(_text(reason), small) for reason in cert.reasons]
    story.append(Paragraph(_text(f"Run from {cert.started} to {cert.ended}."), styles["BodyText"]))
    for heading, pairs in (("Device under test", cert.dut), ("Plan", cert.plans), ("Bench", cert.bench)):
        story += [
            Paragraph(heading, styles["Heading2"]),
            _table([[k, v] for k, v in pairs], small, [35 * mm, 145 * mm]),
        ]
    story.append(
        _table(
            [["role", "driver", "identity", "calibration", "due", "status"]]
            + [
                [i["role"], i["driver"], i["identity"], i["calibration"], i["due"], i["status"]]
                for i in cert.instruments
            ],
            small,
            [20 * mm, 25 * mm, 55 * mm, 30 * mm, 20 * mm, 30 * mm],
            header=True,
            red_rows=[k + 1 for k, i in enumerate(cert.instruments) if i["overdue"]],
        )
    )
    story.append(Paragraph("Measurements", styles["Heading2"]))
    for section in cert.checks:
        story.append(Paragraph(_text(f"{section.id} ({section.type})"), styles["Heading3"]))
        if section.error:
            story.append(Paragraph(_text(f"The check did not end cleanly: {section.error}"), small))
        rows = [["measurement", "value", "unit", "limit", "verdict", "note"]]
        rows += [[r.name, r.value, r.unit, r.limit, r.verdict, r.note] for r in section.rows]
        bad = [k + 1 for k, r in enumerate(section.rows) if r.verdict in ("fail", "error")]
        story.append(
            _table(rows, small, [38 * mm, 18 * mm, 12 * mm, 25 * mm, 14 * mm, 73 * mm], header=True, red_rows=bad)
        )
        for _, png in section.charts:
            story.append(Image(io.BytesIO(png), width=170 * mm, height=170 * mm * 4.2 / 8.0))
    status = {True: "confirmed", False: "NOT CONFIRMED", None: "not used"}
    story += [
        Paragraph("Safe state at the end of the run", styles["Heading2"]),
        _table(
            [["role", "safe state", "read back"]]
            + [[r.get("role", ""), status[r.get("confirmed")], r.get("read_back", "")] for r in cert.safe_states],
            small,
            [30 * mm, 30 * mm, 120 * mm],
            header=True,
        ),
        Paragraph("Integrity", styles["Heading2"]),
        _table([[k, v] for k, v in cert.integrity], small, [35 * mm, 145 * mm]),
    ]
    SimpleDocTemplate(str(path), pagesize=A4, title=cert.title, leftMargin=15 * mm, rightMargin=15 * mm).build(story)


def _table(rows, style, widths, *, header: bool = False, red_rows=()) -> Table:
    cells = [[Paragraph(_text(cell), style) for cell in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    commands = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    commands += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#fde0dc")) for r in red_rows]
    table.setStyle(TableStyle(commands))
    return table
