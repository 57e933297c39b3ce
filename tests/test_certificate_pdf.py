"""The PDF certificate shows every character a plan holds: text beyond Latin-1 (the Japan plan's 一次調整力) is set
in a CJK font, not in Helvetica, which has no such glyphs and drew black boxes."""

from __future__ import annotations

import base64
import re
import zlib

from hilbench.report.certificate import Certificate, CheckSection, FigureRow
from hilbench.report.certificate_pdf import CJK_FONT, _text, render_pdf

TITLE = "一次調整力 (primary reserve) - japan_primary_reserve"


def certificate() -> Certificate:
    row = FigureRow("response_time_s", "4.2", "s", "<=10", "pass", "応答 within 10 s")
    return Certificate(
        title=TITLE, passed=True, reasons=[], emulated=True, time_scale=20.0, started="t0", ended="t1",
        dut=[("name", "MW2MH")], plans=[("name", "一次調整力")], bench=[("name", "emulated")], instruments=[],
        checks=[CheckSection("応答", "frequency_event", [row], [], None)], safe_states=[], lag=[],
        integrity=[("sha256", "0" * 64)], integrity_ok=True,
    )  # fmt: skip


def page_text(pdf: bytes) -> bytes:
    """Every content stream of the PDF, decoded (reportlab writes them deflated, then ASCII85-encoded without the
    leading <~), with the string literals' escapes (octal, parentheses) undone."""
    out = []
    for data in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            out.append(zlib.decompress(base64.a85decode(b"<~" + data.strip(), adobe=True)))
        except ValueError:  # zlib.error is a ValueError too: a stream of another kind
            out.append(data)
    text = b"\n".join(out)
    text = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), text)
    return text.replace(b"\\(", b"(").replace(b"\\)", b")")


def test_japanese_text_is_set_in_the_cjk_font(tmp_path):
    path = tmp_path / "certificate.pdf"
    render_pdf(certificate(), path)
    pdf = path.read_bytes()
    assert CJK_FONT.encode() in pdf and b"UniJIS-UCS2-H" in pdf  # the CID font, Unicode (UCS-2) encoded
    text = page_text(pdf)
    # 一 (U+4E00) 次 (U+6B21) 調 (U+8ABF) 整 (U+6574) 力 (U+529B) as UCS-2 code units in the content
    drawn = re.search(rb"/(F\d+) 18 Tf 22 TL \((.{10})\) Tj", text, re.S)  # the title's first run
    assert drawn and drawn.group(2) == "一次調整力".encode("utf-16-be"), "the title's kanji are not CID text"
    named = pdf.index(b"/Name /" + drawn.group(1) + b" ")  # the font resource the run is drawn with
    base_font = pdf[pdf.rfind(b"/BaseFont /", 0, named) :].split()[1]
    assert base_font.startswith(b"/" + CJK_FONT.encode()), base_font
    assert b"(primary reserve)" in text  # Latin text stays in the base font


def test_markup_wraps_only_the_runs_beyond_latin_1():
    assert _text("a<b") == "a&lt;b"
    assert _text("x 一次 y") == f'x <font name="{CJK_FONT}">一次</font> y'
    assert _text("café") == "café"  # Latin-1 is Helvetica's own
