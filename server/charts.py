"""Bar charts as inline SVG, drawn on the server: the printable report needs no script and prints crisply."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD, AXIS = 640, 220, 28, 22


def bars(points: list[tuple[str, int]], title: str, unit: str) -> Markup:
    """A labelled bar chart: one bar per (label, value), the value written above each bar."""
    top = max((v for _, v in points), default=0) or 1
    n = max(len(points), 1)
    step = (WIDTH - 2 * PAD) / n
    body = [
        f'<svg class="hq-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)} ({escape(unit)})"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{HEIGHT - AXIS}" x2="{WIDTH - PAD}" y2="{HEIGHT - AXIS}" class="hq-chart-axis"/>',
    ]
    usable = HEIGHT - AXIS - PAD
    for i, (label, value) in enumerate(points):
        h = usable * value / top
        x = PAD + i * step + step * 0.15
        y = HEIGHT - AXIS - h
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" class="hq-chart-bar"/>'
            f'<text x="{x + step * 0.35:.1f}" y="{y - 4:.1f}" class="hq-chart-value">{value}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - 6}" class="hq-chart-label">{escape(label)}</text>'
        )
    body.append("</svg>")
    return Markup("".join(body))  # noqa: S704 - every text in it is escaped above
