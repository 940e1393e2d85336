# ruff: noqa: E501  (SVG markup reads better unwrapped)
"""A map drawn on the server as SVG: one proportional circle per place at its real point, no tiles.

No boundary of a suburb or SAPS precinct is shipped (no source of them is reachable offline through the
package registries), so nothing is drawn that is not known: each place is a circle at its stored point
(``Suburb.latitude`` / ``longitude``; a precinct at the mean of its suburbs' points), its area
proportional to the count. A withheld count is a hatched circle of the size of 4 marked "<5" (or
"x"); a point placed by hand (not from a cited dataset) has a dashed outline. The projection is
equirectangular at the map's mean latitude, good to well under 1% across a metro.
"""

import math

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from .charts import HATCH, INK, MUTED, _defs, _fmt, _hatch_id, _withheld

ALERT = "#b3261e"
WIDTH, HEIGHT, PAD = 640, 520, 24
R_MAX = 26.0
KM_PER_DEGREE = 111.32


def _projection(points: list[tuple[float, float]]):
    """lat, lon → x, y in the SVG box, north up, same scale both ways; and km per pixel."""
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    shrink = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * shrink, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD - 40) / span_y)

    def project(lat: float, lon: float) -> tuple[float, float]:
        return PAD + (lon - min(lons)) * shrink * scale, PAD + (max(lats) - lat) * scale

    return project, KM_PER_DEGREE / scale


def _scale_bar(km_per_px: float) -> str:
    km = 5 if 5 / km_per_px < WIDTH / 3 else 2
    px = km / km_per_px
    y = HEIGHT - 14
    return (
        f'<g class="scale"><line x1="{PAD}" y1="{y}" x2="{PAD + px:.1f}" y2="{y}" stroke="{MUTED}" stroke-width="2"></line>'
        f'<text x="{PAD + px + 6:.1f}" y="{y + 4}" font-size="11" fill="{MUTED}">{km} km</text>'
        f'<text x="{WIDTH - PAD}" y="{PAD}" text-anchor="end" font-size="12" fill="{MUTED}">N ↑</text></g>'
    )


def _circle(place: dict, x: float, y: float, r: float, name: str) -> str:
    value = place["value"]
    mark = _fmt(value)
    paint = (
        f'fill="url(#{_hatch_id(name)})" stroke="{HATCH}"'
        if _withheld(value)
        else f'fill="{INK}" fill-opacity="0.55" stroke="{INK}"'
    )
    dash = ' stroke-dasharray="3 2"' if place.get("by_hand") else ""
    ring = (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r + 4:.1f}" fill="none" stroke="{ALERT}" stroke-width="2.5"></circle>'
        if place.get("alert")
        else ""
    )
    return (
        f'<g class="place{" withheld" if _withheld(value) else ""}{" alert" if place.get("alert") else ""}" data-place="{escape(place["key"])}">'
        f"<title>{escape(place['label'])}: {escape(mark)}</title>{ring}"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {paint}{dash}></circle></g>'
    )


def proportional_map(
    places: list[dict], *, name: str, title: str, labelled: int = 12, background: list | None = None
):
    """``places``: ``{"key", "label", "lat", "lon", "value", "by_hand", "alert"}``; those without a
    point are left to the table beside the map. The largest ``labelled`` places are named on it.
    ``background``: (lat, lon) of every other known place, drawn as small grey dots so the metro's
    shape shows (the extent covers them too)."""
    located = [p for p in places if p.get("lat") is not None and p.get("lon") is not None]
    background = background or []
    if not located and not background:
        return mark_safe(f'<p class="muted">{escape(_("No place here has a point on record."))}</p>')  # noqa: S308
    project, km_per_px = _projection([(p["lat"], p["lon"]) for p in located] + background)
    top = max([p["value"] for p in located if not _withheld(p["value"])] + [5])

    def radius(v) -> float:
        v = 4 if _withheld(v) else v
        return max(2.0, R_MAX * math.sqrt(v / top)) if v else 1.5

    body = []
    for lat, lon in background:
        x, y = project(lat, lon)
        body.append(
            f'<circle class="known-place" cx="{x:.1f}" cy="{y:.1f}" r="1.6" fill="{MUTED}" fill-opacity="0.45"></circle>'
        )
    # the largest first, so the small ones are drawn over them and stay visible
    for p in sorted(located, key=lambda p: -(4 if _withheld(p["value"]) else p["value"])):
        x, y = project(p["lat"], p["lon"])
        body.append(_circle(p, x, y, radius(p["value"]), name))
    named = sorted(
        (p for p in located if not _withheld(p["value"]) and p["value"]), key=lambda p: -p["value"]
    )
    for p in named[:labelled]:
        x, y = project(p["lat"], p["lon"])
        body.append(
            f'<text x="{x + radius(p["value"]) + 3:.1f}" y="{y + 4:.1f}" font-size="11" fill="#222" '
            f'paint-order="stroke" stroke="#fff" stroke-width="3">{escape(p["label"])}</text>'
        )
    return mark_safe(  # noqa: S308  (every interpolated text is escaped above)
        f'<svg class="chart map" data-chart="{escape(name)}" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" preserveAspectRatio="xMinYMin meet">'
        f'<title>{escape(title)}</title>{_defs(name)}<rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f9fa"></rect>'
        f"{''.join(body)}{_scale_bar(km_per_px)}</svg>"
    )


def size_legend(top: int) -> list[tuple[int, float]]:
    """(count, radius) of three reference circles for the legend beside the map."""
    steps = sorted({max(5, round(top * f)) for f in (1.0, 0.25, 0.05)}, reverse=True)
    return [(n, max(2.0, R_MAX * math.sqrt(n / max(top, 5)))) for n in steps]
