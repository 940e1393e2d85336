# ruff: noqa: E501  (SVG markup reads better unwrapped)
"""Server-side SVG charts: no JavaScript, no CDN, they print. Every chart sits beside its table and CSV.

A withheld value is drawn, never left out: a count withheld as small (``None``) is a hatched stub
labelled "<5", and a count withheld so that a small one cannot be worked out (``"x"``) a hatched stub
labelled "x". A chart that has any draws a legend saying what the hatching means, so a suppressed week
never looks like an empty one. The SVG scales to its container.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

INK = "#0b5c8c"
MUTED = "#5b6770"
HATCH = "#b45309"
SMALL_MARK = "<5"
RATE_MARK = "—"


def _fmt(v) -> str:
    if v is None:
        return SMALL_MARK
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return f"{v:.0%}" if v <= 1 else f"{v:,.1f}"
    return f"{v:,}"


def _drawn(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _withheld(v) -> bool:
    """A count the reader may not see: None ("<5") or a text mark ("x")."""
    return v is None or isinstance(v, str)


def _hatch_id(name: str) -> str:
    return f"hatch-{''.join(ch if ch.isalnum() else '-' for ch in name)}"


def _defs(name: str) -> str:
    return (
        f'<defs><pattern id="{_hatch_id(name)}" patternUnits="userSpaceOnUse" width="6" height="6" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"></rect>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HATCH}" stroke-width="3"></line></pattern></defs>'
    )


def _fill(name: str, value) -> str:
    return f"url(#{_hatch_id(name)})" if _withheld(value) else INK


def _rect_attrs(name: str, value, mark: str | None = None) -> str:
    if not _withheld(value):
        return f'fill="{INK}"'
    mark = mark or _fmt(value)
    return f'class="withheld" data-withheld="{escape(mark)}" fill="{_fill(name, value)}" stroke="{HATCH}"'


def legend_text() -> str:
    return _(
        "Hatched: withheld. <5 = 1 to 4 (a small count, hidden to protect the people in it); "
        "x = hidden so that a small count cannot be worked out from the others."
    )


def rate_legend() -> str:
    return _("Hatched: rate withheld (—): fewer than 5 in its denominator, or a count in it withheld.")


def _lines(text: str, chars: int) -> list[str]:
    lines = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + len(word) >= chars:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return lines


def _legend(name: str, y: int, width: int, text: str | None = None) -> tuple[str, int]:
    """The hatched swatch and what it means, wrapped to the chart's width; (markup, its height)."""
    lines = _lines(text or legend_text(), (width - 24) // 6)
    spans = "".join(
        f'<tspan x="20" dy="{0 if i == 0 else 13}">{escape(t)}</tspan>' for i, t in enumerate(lines)
    )
    markup = (
        f'<g class="legend" transform="translate(4,{y})"><rect x="0" y="0" width="14" height="12" '
        f'fill="url(#{_hatch_id(name)})" stroke="{HATCH}"></rect>'
        f'<text x="20" y="10" font-size="11" fill="{MUTED}">{spans}</text></g>'
    )
    return markup, 13 * len(lines) + 8


def _svg(name: str, title: str, width: int, height: int, body: str, withheld: bool, legend=None) -> str:
    if withheld:
        markup, extra = _legend(name, height + 4, width, legend)
        body += markup
        height += extra
    return mark_safe(  # noqa: S308  (every interpolated text is escaped by the callers and here)
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{_defs(name)}{body}</svg>"
    )


def bar_chart(items: list[tuple[str, int | float | None]], *, name: str, title: str, percent: bool = False):
    """Horizontal bars, one per (label, value); a withheld value is a hatched stub with its mark ("<5",
    "x", or "—" for a rate withheld)."""
    items = list(items)
    bar_h, gap, label_w, width = 18, 6, 230, 600
    height = max(1, len(items)) * (bar_h + gap) + 10
    # a withheld count is drawn as 4 (its largest value) on an axis of at least 5
    top = max([v for _, v in items if _drawn(v)] + [0.0001 if percent else 5])
    scale = (width - label_w - 70) / top
    parts = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * (bar_h + gap)
        if _withheld(value):
            w = 12.0 if percent else max(12.0, scale * 4)
            text = RATE_MARK if percent else _fmt(value)
        else:
            w = scale * value if _drawn(value) else 0
            text = f"{value:.0%}" if percent and _drawn(value) else _fmt(value)
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {escape(text)}</title>'
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12" fill="{MUTED}">'
            f"{escape(str(label)[:36])}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" {_rect_attrs(name, value, text)}></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">{escape(text)}</text></g>'
        )
    withheld = any(_withheld(v) for _, v in items)
    return _svg(name, title, width, height, "".join(parts), withheld, rate_legend() if percent else None)


def column_chart(items: list[tuple[str, int | None]], *, name: str, title: str):
    """Vertical columns over time (a label every few columns); a withheld count is a hatched stub."""
    items = list(items)
    width, height, left, bottom = 640, 220, 40, 30
    n = max(1, len(items))
    step = (width - left - 10) / n
    top = max([v for _, v in items if _drawn(v)] + [5])
    every = max(1, -(-n // 8))  # at most about eight labels
    parts = [
        f'<text x="{left - 4}" y="14" text-anchor="end" font-size="11" fill="{MUTED}">{top:,}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{MUTED}"></line>',
    ]
    plot = height - bottom - 10
    for i, (label, value) in enumerate(items):
        h = max(8.0, plot * 4 / top) if _withheld(value) else plot * (value / top) if _drawn(value) else 0
        x = left + i * step
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {escape(_fmt(value))}</title>'
            f'<rect x="{x + step * 0.1:.1f}" y="{height - bottom - h:.1f}" width="{max(step * 0.8, 1):.1f}" '
            f'height="{h:.1f}" {_rect_attrs(name, value)}></rect></g>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
                f'fill="{MUTED}">{escape(label)}</text>'
            )
    withheld = any(_withheld(v) for _, v in items)
    return _svg(name, title, width, height, "".join(parts), withheld)


def heat_map(cells: dict[str, int | None], *, name: str, title: str, weekdays: list[str]):
    """Hour (columns) × weekday (rows); ``cells`` keyed "weekday-hour" (1 = Monday); a withheld cell
    is hatched."""
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
            if _withheld(v):
                paint = _rect_attrs(name, v).replace('class="withheld"', 'class="cell withheld"')
            else:
                paint = f'class="cell" fill="{INK}" fill-opacity="{alpha:.2f}"'
            parts.append(
                f'<rect x="{left + h * cw}" y="{y}" width="{cw - 1}" height="{ch - 1}" {paint}>'
                f"<title>{weekdays[d - 1]} {h:02d}:00: {escape(_fmt(v))}</title></rect>"
            )
    withheld = any(_withheld(v) for v in cells.values())
    return _svg(name, title, width, height, "".join(parts), withheld)
