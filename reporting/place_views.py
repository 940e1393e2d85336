"""Pages about places: hotspots and spike alerts, and the map of admissions beside its table."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from casework.inputs import ascii_int
from casework.models import District, Facility, Mechanism, Station

from . import charts, maps, permissions, places
from .groupings import GROUPING_LABELS
from .hotspots import hotspots as places_ranked
from .params import ReportInputError, parse_dashboard_filters, parse_period
from .views import _common, _dashboard_stated, _suppress, report_view


def _weeks(request) -> int:
    weeks = request.GET.get("weeks") or "4"
    if not 1 <= (ascii_int(weeks) or 0) <= 52:
        raise ReportInputError({"weeks": _("A whole number of weeks, 1 to 52.")})
    return int(weeks)


@report_view
def hotspots(request):
    weeks = _weeks(request)
    level = permissions.place_level(request.user)
    report = places_ranked(weeks=weeks, suppress=_suppress(request), level=level)
    chart = charts.bar_chart(
        [(r["label"], r["recent"]) for r in report["rows"][:15]],
        name="hotspots",
        title=_("Admissions by %(place)s, last %(weeks)s weeks")
        % {"place": GROUPING_LABELS[level], "weeks": weeks},
    )
    return render(
        request,
        "reporting/hotspots.html",
        {
            "report": report,
            "chart": chart,
            "weeks": weeks,
            "level": level,
            "place_name": GROUPING_LABELS[level],
            "suppressed": _suppress(request),
            "stated_filters": [(_("Weeks"), str(weeks)), (_("Places"), str(GROUPING_LABELS[level]))],
            "api_url": reverse("api-dashboard-hotspots"),
        },
    )


@report_view
def admissions_map(request):
    period = parse_period(request.GET, default_days=90)
    filters = parse_dashboard_filters(request.GET)
    level = permissions.place_level(request.user)
    suppress = _suppress(request)
    result = places.admissions_map(period, filters, level=level, suppress=suppress)
    title = _("EC violence admissions by %(place)s, %(start)s to %(end)s") % {
        "place": GROUPING_LABELS[level],
        "start": period.start_date,
        "end": period.end_date,
    }
    shown_counts = [p["value"] for p in result["places"] if isinstance(p["value"], int)]
    return render(
        request,
        "reporting/map.html",
        {
            **_common(request, period, **filters.as_query()),
            "result": result,
            "map": maps.proportional_map(
                result["places"], name="admissions-map", title=title, background=result["background"]
            ),
            "sizes": maps.size_legend(max(shown_counts + [5])),
            "title": title,
            "level": level,
            "place_name": GROUPING_LABELS[level],
            "unmapped": [p for p in result["places"] if p["lat"] is None],
            "filters": filters,
            "stated_filters": _dashboard_stated(period, filters)
            + [(_("Places"), str(GROUPING_LABELS[level]))],
            "facilities": Facility.objects.all(),
            "districts": District.objects.all(),
            "stations": Station.objects.all(),
            "mechanisms": Mechanism.choices,
        },
    )
