# ruff: noqa: E501  (SQL, SVG markup and a cohort table read better unwrapped)
"""Server-side SVG charts: no JavaScript, no CDN, they print. Every chart sits beside its table and CSV.

A suppressed value (``None``) draws no bar and is labelled "<5"; a text value (``"x"``, a count withheld
so that a small one cannot be worked out) draws no bar and is printed as it is. The SVG scales to its
container.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

INK = "#0b5c8c"
MUTED = "#5b6770"


def _fmt(v) -> str:
    if v is None:
        return "<5"
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return f"{v:.0%}" if v <= 1 else f"{v:,.1f}"
    return f"{v:,}"


def _drawn(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def bar_chart(items: list[tuple[str, int | float | None]], *, name: str, title: str, percent: bool = False):
    """Horizontal bars, one per (label, value)."""
    items = list(items)
    bar_h, gap, label_w, width = 18, 6, 230, 600
    height = max(1, len(items)) * (bar_h + gap) + 10
    top = max([v for _, v in items if _drawn(v)] + [1 if not percent else 0.0001])
    parts = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * (bar_h + gap)
        w = (width - label_w - 70) * (value / top) if _drawn(value) else 0
        text = f"{value:.0%}" if percent and _drawn(value) else _fmt(value)
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {escape(text)}</title>'
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12" fill="{MUTED}">'
            f"{escape(str(label)[:36])}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{INK}"></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">{escape(text)}</text></g>'
        )
    return mark_safe(  # noqa: S308  (every interpolated text is escaped above)
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def column_chart(items: list[tuple[str, int | None]], *, name: str, title: str):
    """Vertical columns over time (a label every few columns)."""
    items = list(items)
    width, height, left, bottom = 640, 220, 40, 30
    n = max(1, len(items))
    step = (width - left - 10) / n
    top = max([v for _, v in items if _drawn(v)] + [1])
    every = max(1, -(-n // 8))  # at most about eight labels
    parts = [
        f'<text x="{left - 4}" y="14" text-anchor="end" font-size="11" fill="{MUTED}">{top:,}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{MUTED}"></line>',
    ]
    for i, (label, value) in enumerate(items):
        h = (height - bottom - 10) * (value / top) if _drawn(value) else 0
        x = left + i * step
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {escape(_fmt(value))}</title>'
            f'<rect x="{x + step * 0.1:.1f}" y="{height - bottom - h:.1f}" width="{max(step * 0.8, 0.5):.1f}" '
            f'height="{h:.1f}" fill="{INK}"></rect></g>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
                f'fill="{MUTED}">{escape(label)}</text>'
            )
    return mark_safe(  # noqa: S308
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def heat_map(cells: dict[str, int | None], *, name: str, title: str, weekdays: list[str]):
    """Hour (columns) × weekday (rows); ``cells`` keyed "weekday-hour" (1 = Monday)."""
    cw, ch, left, topm = 24, 22, 40, 18
    width, height = left + 24 * cw + 4, topm + 7 * ch + 4
    top = max([v for v in cells.values() if _drawn(v)] + [1])
    parts = []
    for h in range(0, 24, 3):
        parts.append(
            f'<text x="{left + h * cw + cw / 2}" y="12" text-anchor="middle" font-size="10" fill="{MUTED}">{h:02d}</text>'
        )
    for d in range(1, 8):
        y = topm + (d - 1) * ch
        parts.append(
            f'<text x="{left - 4}" y="{y + 15}" text-anchor="end" font-size="11" fill="{MUTED}">{weekdays[d - 1]}</text>'
        )
        for h in range(24):
            v = cells.get(f"{d}-{h:02d}", 0)
            alpha = 0.15 + 0.85 * (v / top) if _drawn(v) and v else 0.06
            parts.append(
                f'<rect class="cell" x="{left + h * cw}" y="{y}" width="{cw - 1}" height="{ch - 1}" '
                f'fill="{INK}" fill-opacity="{alpha:.2f}"><title>{weekdays[d - 1]} {h:02d}:00: {escape(_fmt(v))}</title></rect>'
            )
    return mark_safe(  # noqa: S308
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
