"""Small SVG line charts for report attachments (no plotting library needed; allure shows SVG)."""

from __future__ import annotations

from html import escape

import numpy as np

WIDTH, HEIGHT, PAD = 760, 360, 56


def line_chart(
    title: str,
    x_label: str,
    y_label: str,
    series: list[tuple[str, np.ndarray, np.ndarray]],
    *,
    vlines: list[tuple[float, str]] = (),
    hbands: list[tuple[float, float, str]] = (),
    bars: bool = False,
) -> str:
    """Series are (label, x, y).  ``vlines`` mark times (command, response); ``hbands`` shade y ranges."""
    xs = np.concatenate([np.asarray(x, float) for _, x, _ in series] + [np.array([v for v, _ in vlines])])
    ys = np.concatenate(
        [np.asarray(y, float) for _, _, y in series] + [np.array([b for lo, hi, _ in hbands for b in (lo, hi)])]
    )
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    x0, x1 = (float(xs.min()), float(xs.max())) if xs.size else (0.0, 1.0)
    y0, y1 = (float(min(ys.min(), 0.0)), float(ys.max())) if ys.size else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(x):
        return PAD + (np.asarray(x, float) - x0) / (x1 - x0) * (WIDTH - 2 * PAD)

    def py(y):
        return HEIGHT - PAD - (np.asarray(y, float) - y0) / (y1 - y0) * (HEIGHT - 2 * PAD)

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="black"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="black"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 14}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="14" y="{HEIGHT / 2}" transform="rotate(-90 14 {HEIGHT / 2})" text-anchor="middle">'
        f"{escape(y_label)}</text>",
    ]
    for value in np.linspace(y0, y1, 5):
        parts.append(f'<text x="{PAD - 6}" y="{py(value):.1f}" text-anchor="end">{value:.3g}</text>')
    for value in np.linspace(x0, x1, 5):
        parts.append(f'<text x="{px(value):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">{value:.3g}</text>')
    for lo, hi, label in hbands:
        top, bottom = py(hi), py(lo)
        parts.append(
            f'<rect x="{PAD}" y="{top:.1f}" width="{WIDTH - 2 * PAD}" height="{bottom - top:.1f}" '
            f'fill="#2ca02c" opacity="0.15"><title>{escape(label)}</title></rect>'
        )
    for value, label in vlines:
        parts.append(
            f'<line x1="{px(value):.1f}" y1="{PAD}" x2="{px(value):.1f}" y2="{HEIGHT - PAD}" '
            f'stroke="#555" stroke-dasharray="4 3"/><text x="{px(value) + 3:.1f}" y="{PAD + 12}">'
            f"{escape(label)}</text>"
        )
    for i, (label, x, y) in enumerate(series):
        colour = colours[i % len(colours)]
        x, y = np.asarray(x, float), np.asarray(y, float)
        if bars:
            width = max(2.0, (WIDTH - 2 * PAD) / max(len(x), 1) / (len(series) + 1))
            for xi, yi in zip(px(x), py(y), strict=True):
                parts.append(
                    f'<rect x="{xi + i * width:.1f}" y="{yi:.1f}" width="{width:.1f}" '
                    f'height="{HEIGHT - PAD - yi:.1f}" fill="{colour}"/>'
                )
        else:
            step = max(1, len(x) // 2000)
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x[::step]), py(y[::step]), strict=True))
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(
            f'<text x="{WIDTH - PAD}" y="{PAD + 14 * (i + 1)}" text-anchor="end" fill="{colour}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
