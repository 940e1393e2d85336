"""Reads for the map: admissions by suburb or SAPS station precinct, each with its point and source.

A suburb's point is its own (``Suburb.latitude`` / ``longitude`` and ``location_source``); a
precinct's is the mean of its suburbs' points (said on the map). Counts come from the dashboard's
read, suppressed the same way; hotspot alerts from ``hotspots``.
"""

from collections import defaultdict

from casework.models import Suburb
from casework.suburb_locations import BY_HAND

from . import dashboard
from .hotspots import hotspots
from .params import DashboardFilters
from .periods import Period


def _points(level: str) -> dict[str, dict]:
    """{place code: {"lat", "lon", "by_hand", "sources"}} of the places with a point."""
    column = "code" if level == "suburb" else "station__code"
    grouped = defaultdict(list)
    for code, lat, lon, source in Suburb.objects.filter(latitude__isnull=False).values_list(
        column, "latitude", "longitude", "location_source"
    ):
        grouped[code].append((float(lat), float(lon), source))
    return {
        code: {
            "lat": sum(p[0] for p in pts) / len(pts),
            "lon": sum(p[1] for p in pts) / len(pts),
            "by_hand": all(p[2] == BY_HAND for p in pts),
            "sources": {p[2] for p in pts},
            "points": len(pts),
        }
        for code, pts in grouped.items()
    }


def admissions_map(period: Period, filters: DashboardFilters, *, level: str, suppress: bool) -> dict:
    """``{"places": [...], "total", "as_of", "sources", "by_hand", "level"}``: every place counted in
    the period (those without a point too, for the table), with its point and whether it has a spike
    alert in the last four complete weeks."""
    result = dashboard.admissions_by(period, level, filters, suppress=suppress)
    points = _points(level)
    alerts = {a["suburb"] for a in hotspots(weeks=4, suppress=suppress, level=level)["alerts"]}
    places, sources, by_hand = [], set(), 0
    for row in result["rows"]:
        if row["key"] is None:
            continue
        point = points.get(row["key"], {})
        sources |= point.get("sources", set())
        by_hand += 1 if point.get("by_hand") else 0
        withheld = "count" in row.get("suppressed", ()) or "count" in row.get("complementary", ())
        places.append(
            {
                "key": row["key"],
                "label": row["label"],
                "value": "x" if "count" in row.get("complementary", ()) else row["count"],
                "withheld": withheld,
                "lat": point.get("lat"),
                "lon": point.get("lon"),
                "by_hand": point.get("by_hand", False),
                "points": point.get("points", 0),
                "alert": row["key"] in alerts,
                "rank": None,
            }
        )
    # One rank, by admissions, among the places shown; withheld ones follow by name (their order
    # among themselves would tell which is larger).
    places.sort(key=lambda p: (p["withheld"], -(p["value"] or 0) if not p["withheld"] else 0, p["label"]))
    for rank, p in enumerate((p for p in places if not p["withheld"] and p["value"]), 1):
        p["rank"] = rank
    counted = {p["key"] for p in places}
    return {
        "places": places,
        "background": [(pt["lat"], pt["lon"]) for code, pt in points.items() if code not in counted],
        "total": result["total"],
        "as_of": result["as_of"],
        "sources": sorted(s for s in sources if s != BY_HAND),
        "by_hand": by_hand,
        "level": level,
    }
