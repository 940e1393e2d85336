"""Report pages: the same selectors and suppression as the API, drawn as SVG charts beside tables."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.errors import InvalidInput
from casework.inputs import ascii_int
from casework.models import Court, District, Facility, Mechanism, Station

from . import attrition as funnel_reads
from . import charts, dashboard, exports, periods, permissions, selectors, services
from .forms import CancelForm, SubscribeForm
from .groupings import COARSER, CONVICTION_COARSER, GROUPING_LABELS, coarser_offer, labelled, mostly_withheld
from .models import Subscription
from .params import (
    FIRST_DATE,
    ReportInputError,
    parse_choice,
    parse_code,
    parse_dashboard_filters,
    parse_period,
    wants_unsuppressed,
)
from .suppression import shown


def report_view(fn):
    """Signed in, a reporting role (else 403); bad parameters answer 400 with the page naming them."""

    @wraps(fn)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not permissions.may_view_reports(request.user):
            raise PermissionDenied(_("Reports are for managers, analysts, the committee and the supervisor."))
        try:
            return fn(request, *args, **kwargs)
        except ReportInputError as e:
            return render(request, "reporting/bad_input.html", {"errors": e.errors}, status=400)

    return wrapper


def _suppress(request) -> bool:
    return permissions.suppress_for(request.user, unsuppressed_requested=wants_unsuppressed(request.GET))


def _common(request, period, **extra) -> dict:
    query = {**period.as_query(), **{k: v for k, v in extra.items() if v not in (None, "")}}
    if wants_unsuppressed(request.GET) and permissions.may_see_unsuppressed(request.user):
        query["unsuppressed"] = "1"
    return {
        "period": period,
        "query": query,
        "qs": urlencode(query),
        "suppressed": _suppress(request),
        "may_unsuppress": permissions.may_see_unsuppressed(request.user),
    }


@report_view
def index(request):
    return render(request, "reporting/index.html", {"pages": permissions.report_pages(request.user)})


# ------------------------------------------------------------------ conviction rate

MEASURE_LABELS = {
    "convictions": gettext_lazy("Convictions"),
    "acquittals": gettext_lazy("Acquittals"),
    "verdicts": gettext_lazy("Verdicts"),
    "withdrawn": gettext_lazy("Withdrawn"),
    "provisionally_withdrawn": gettext_lazy("Prov. withdrawn"),
    "struck_off": gettext_lazy("Struck off"),
    "diverted": gettext_lazy("Diverted"),
    "finalised": gettext_lazy("Finalised"),
}


def _cells(row, group_by, base_query, drill):
    cells = []
    for field in selectors.COUNT_FIELDS:
        href = None
        if drill and row[field]:  # a withheld figure ("<5" or "x") opens no list
            q = {
                **base_query,
                "group_by": group_by,
                "group": "total" if row["group"] is None else row["group"],
                "measure": field,
            }
            href = f"{reverse('reporting:conviction-drill-down')}?{urlencode(q)}"
        cells.append({"field": field, "value": shown(row, field), "href": href})
    return cells


def _conviction_chart(report: dict, group_by: str):
    return charts.bar_chart(
        [(r["label"], r["conviction_rate"]) for r in report["rows"] if r["verdicts"] != 0],
        name="conviction-rate",
        title=_("Conviction rate by %(g)s") % {"g": GROUPING_LABELS[group_by]},
        percent=True,
    )


@report_view
def conviction_rate(request):
    period = parse_period(request.GET)
    group_by = parse_choice(request.GET, "group_by", selectors.GROUP_BY, default="court")
    court = parse_code(request.GET, "court", Court)
    report = selectors.conviction_rate(period, group_by, suppress=_suppress(request), court=court)
    ctx = _common(request, period, group_by=group_by, court=court)
    drill = permissions.may_drill_down(request.user)
    base = {**period.as_query(), **({"court": court} if court else {})}
    rows = [{**r, "cells": _cells(r, group_by, base, drill)} for r in report["rows"]]
    total = {**report["total"], "cells": _cells(report["total"], group_by, base, drill)}
    with_verdicts = [r for r in report["rows"] if r["verdicts"] != 0]
    offer = coarser_offer(with_verdicts, "conviction_rate", group_by, CONVICTION_COARSER)
    if offer:  # offered only when the coarser grouping is not itself mostly withheld
        coarse = selectors.conviction_rate(
            period, offer["group_by"], suppress=_suppress(request), court=court
        )
        coarse_rows = [r for r in coarse["rows"] if r["verdicts"] != 0]
        if mostly_withheld(coarse_rows, "conviction_rate"):
            offer = None
    if offer:
        offer["href"] = "?" + urlencode({**ctx["query"], "group_by": offer["group_by"]})
    return render(
        request,
        "reporting/conviction_rate.html",
        {
            **ctx,
            "report": report,
            "rows": rows,
            "total": total,
            "group_by": group_by,
            "group_name": GROUPING_LABELS[group_by],
            "groupings": labelled(selectors.GROUP_BY),
            "courts": Court.objects.all(),
            "court": Court.objects.filter(code=court).first() if court else None,
            "offer": offer,
            "stated_filters": _stated(
                period,
                [
                    (_("Grouped by"), GROUPING_LABELS[group_by]),
                    (_("Court"), court and str(Court.objects.get(code=court))),
                ],
            ),
            "measures": [MEASURE_LABELS[f] for f in selectors.COUNT_FIELDS],
            "chart": _conviction_chart(report, group_by),
            "drill": drill,
            "api_url": reverse("api-report-conviction-rate"),
        },
    )


def _stated(period, filters) -> list[tuple[str, str]]:
    """The filters in words, as the printed page states them: the period first, then those set."""
    period_words = _("%(start)s to %(end)s") % {"start": period.start_date, "end": period.end_date}
    return [(_("Period"), period_words)] + [(name, str(value)) for name, value in filters if value]


@report_view
def conviction_drill_down(request):
    if not permissions.may_drill_down(request.user):
        raise PermissionDenied(_("Your role sees aggregates only."))
    period = parse_period(request.GET)
    group_by = parse_choice(request.GET, "group_by", selectors.GROUP_BY, default="court")
    measure = request.GET.get("measure") or "finalised"
    group = request.GET.get("group")
    court = parse_code(request.GET, "court", Court)
    visible = permissions.drill_down_prosecutions(request.user)
    if court:
        visible = visible.filter(court__code=court)
    prosecutions = selectors.conviction_drill_down(visible, period, group_by, group, measure)
    return render(
        request,
        "reporting/drill_down.html",
        {
            **_common(request, period, group_by=group_by),
            "prosecutions": prosecutions[:500],
            "count": prosecutions.count(),
            "measure": measure,
            "group": group,
            "group_by": group_by,
        },
    )


# ------------------------------------------------------------------ removals, re-enrolment, attrition


@report_view
def removals(request):
    period = parse_period(request.GET)
    report = selectors.removals(period, suppress=_suppress(request))
    chart = charts.bar_chart(
        [(r["label"], shown(r, "removals")) for r in report["rows"]],
        name="removals",
        title=_("Removals by reason"),
    )
    return render(
        request,
        "reporting/removals.html",
        {
            **_common(request, period),
            "report": report,
            "chart": chart,
            "api_url": reverse("api-report-removals"),
        },
    )


@report_view
def re_enrolment(request):
    period = parse_period(request.GET)
    report = selectors.re_enrolment(period, suppress=_suppress(request))
    return render(
        request,
        "reporting/re_enrolment.html",
        {
            **_common(request, period),
            "report": report,
            "fields": selectors.RE_ENROL_COUNTS,
            "api_url": reverse("api-report-re-enrolment"),
        },
    )


@report_view
def attrition(request):
    period = parse_period(request.GET)
    report = funnel_reads.attrition(period, suppress=_suppress(request))
    chart = charts.bar_chart(
        [(r["group"].replace("_", " "), shown(r, "count")) for r in report["rows"]],
        name="attrition",
        title=_("Attrition funnel"),
    )
    return render(
        request,
        "reporting/attrition.html",
        {
            **_common(request, period),
            "report": report,
            "chart": chart,
            "api_url": reverse("api-report-attrition"),
        },
    )


@report_view
def unknown_to_police(request):
    period = parse_period(request.GET)
    group_by = parse_choice(request.GET, "group_by", funnel_reads.UNKNOWN_GROUP_BY, default="facility")
    report = funnel_reads.unknown_to_police(period, group_by, suppress=_suppress(request))
    chart = charts.bar_chart(
        [(r["label"], r["unknown_share_30d"]) for r in report["rows"]],
        name="unknown-to-police",
        title=_("Share unknown to police after 30 days"),
        percent=True,
    )

    def cells(r):
        out = []
        for n in funnel_reads.UNKNOWN_DAYS:
            out += [
                {"value": shown(r, f"eligible_{n}d")},
                {"value": shown(r, f"unknown_{n}d")},
                {"value": r[f"unknown_share_{n}d"], "rate": True},
            ]
        return out

    return render(
        request,
        "reporting/unknown_to_police.html",
        {
            **_common(request, period, group_by=group_by),
            "report": report,
            "rows": [{**r, "cells": cells(r)} for r in report["rows"]],
            "total": {**report["total"], "cells": cells(report["total"])},
            "chart": chart,
            "group_by": group_by,
            "groupings": labelled(funnel_reads.UNKNOWN_GROUP_BY),
            "group_name": GROUPING_LABELS[group_by],
            "days": funnel_reads.UNKNOWN_DAYS,
            "api_url": reverse("api-report-unknown-to-police"),
        },
    )


# ------------------------------------------------------------------ dashboard

DASHBOARD_TILES = [
    ("month", gettext_lazy("Admissions by month"), "column"),
    ("week", gettext_lazy("Admissions by ISO week"), "column"),
    ("day", gettext_lazy("Admissions by day"), "column"),
    ("hour_weekday", gettext_lazy("Hour of arrival × weekday"), "heat"),
    ("age_band", gettext_lazy("Age band"), "bar"),
    ("sex", gettext_lazy("Sex"), "bar"),
    ("mechanism", gettext_lazy("Mechanism"), "bar"),
    ("place_type", gettext_lazy("Place of injury"), "bar"),
    ("facility", gettext_lazy("Facility"), "bar"),
    ("suburb", gettext_lazy("Suburb of injury (top 15)"), "bar"),
]


UNORDERED = {"facility", "suburb", "station", "sub_district", "cluster", "mechanism", "place_type"}
STATION_TILE = ("station", gettext_lazy("SAPS station precinct of injury (top 15)"), "bar")


def _tiles_for(user, coarser: set) -> list[tuple]:
    """The dashboard's tiles for this reader: by station precinct instead of suburb where the role
    reads places by precinct; a tile the reader asked to coarsen, by its coarser grouping."""
    tiles = []
    for group_by, title, kind in DASHBOARD_TILES:
        if group_by == "suburb" and permissions.place_level(user) == "station":
            group_by, title, kind = STATION_TILE
        if group_by in coarser and group_by in COARSER:
            fine, (group_by, name) = group_by, COARSER[group_by]
            title = _("%(title)s — by %(name)s") % {"title": title, "name": name}
            kind = "column" if group_by in ("week", "month") else kind
            tiles.append((group_by, title, kind, fine))
        else:
            tiles.append((group_by, title, kind, None))
    return tiles


def _tile_svg(kind: str, group_by: str, title: str, rows: list[dict]):
    if kind == "column":
        return charts.column_chart(
            [(r["label"], shown(r, "count")) for r in rows], name=group_by, title=title
        )
    if kind == "heat":
        return charts.heat_map(
            {r["key"]: shown(r, "count") for r in rows},
            name=group_by,
            title=title,
            weekdays=dashboard.WEEKDAYS,
        )
    return charts.bar_chart([(r["label"], shown(r, "count")) for r in rows], name=group_by, title=title)


def _tile(ctx: dict, period, filters, suppress: bool, spec: tuple, coarser: set) -> dict:
    group_by, title, kind, fine = spec
    result = dashboard.admissions_by(period, group_by, filters, suppress=suppress)
    rows = result["rows"]
    if group_by in UNORDERED:  # withheld bars after the shown ones, by name: their order would rank them
        rows = sorted(rows, key=lambda r: (r["count"] is None, -(r["count"] or 0), str(r["label"])))
    rows = rows[:15] if group_by in ("suburb", "station") else rows
    offer = None if fine else coarser_offer(result["rows"], "count", group_by)
    if offer:  # offered only when the coarser grouping is not itself mostly withheld
        coarse = dashboard.admissions_by(period, offer["group_by"], filters, suppress=suppress)
        if mostly_withheld(coarse["rows"], "count"):
            offer = None
    if offer:
        offer["href"] = "?" + urlencode({**ctx["query"], "coarser": sorted(coarser | {group_by})}, doseq=True)
    csv_q = urlencode({**ctx["query"], "group_by": group_by, "format": "csv"})
    return {
        "group_by": group_by,
        "title": title,
        "svg": _tile_svg(kind, group_by, str(title), rows),
        "rows": rows if kind != "heat" else [r for r in rows if r["count"] != 0],
        "total": result["total"],
        "as_of": result["as_of"],
        "offer": offer,
        "coarsened_from": GROUPING_LABELS.get(fine) if fine else None,
        "csv": f"{reverse('api-dashboard-incidents')}?{csv_q}",
        "wide": kind in ("column", "heat"),
    }


def _dashboard_stated(period, filters) -> list:
    def name_of(model, code):
        return code and str(model.objects.filter(code=code).first() or code)

    gang = {True: _("yes"), False: _("no")}.get(filters.gang_related)
    return _stated(
        period,
        [
            (_("Facility"), name_of(Facility, filters.facility)),
            (_("District"), name_of(District, filters.district)),
            (_("Station"), name_of(Station, filters.station)),
            (_("Mechanism"), filters.mechanism and dict(Mechanism.choices).get(filters.mechanism)),
            (_("Gang-related"), gang),
        ],
    )


@report_view
def dashboard_page(request):
    period = parse_period(request.GET, default_days=90)
    filters = parse_dashboard_filters(request.GET)
    suppress = _suppress(request)
    coarser = {c for c in request.GET.getlist("coarser") if c in COARSER}
    ctx = _common(request, period, **filters.as_query())
    if coarser:
        ctx["query"]["coarser"] = sorted(coarser)
        ctx["qs"] = urlencode(ctx["query"], doseq=True)
    tiles = [
        _tile(ctx, period, filters, suppress, spec, coarser) for spec in _tiles_for(request.user, coarser)
    ]
    return render(
        request,
        "reporting/dashboard.html",
        {
            **ctx,
            "tiles": tiles,
            "filters": filters,
            "coarser": sorted(coarser),
            "stated_filters": _dashboard_stated(period, filters),
            "feeds": dashboard.feed_completeness(period),
            "facilities": Facility.objects.all(),
            "districts": District.objects.all(),
            "stations": Station.objects.all(),
            "mechanisms": Mechanism.choices,
            "api_url": reverse("api-dashboard-incidents"),
        },
    )


@report_view
def dashboard_csv(request):
    period = parse_period(request.GET, default_days=90)
    group_by = parse_choice(request.GET, "group_by", dashboard.GROUP_BY, default="month")
    result = dashboard.admissions_by(
        period, group_by, parse_dashboard_filters(request.GET), suppress=_suppress(request)
    )
    return exports.csv_response(
        f"admissions-by-{group_by}.csv", ["key", "label", "count", "suppressed"], result["rows"]
    )


@report_view
def istv_extract(request):
    """Monthly per-facility extract in the ISTV spirit; row-level, so analysts and admins only."""
    if not permissions.may_see_unsuppressed(request.user):
        raise PermissionDenied(_("The row-level extract is for analysts and admins."))
    month = request.GET.get("month") or ""
    facility_code = request.GET.get("facility") or ""
    if not month:
        return render(request, "reporting/extract.html", {"facilities": Facility.objects.all()})
    try:
        year, mon = (ascii_int(x) for x in month.split("-"))
        if year is None or mon is None or not FIRST_DATE.year <= year <= periods.today().year:
            raise ValueError
        if not 1 <= mon <= 12:
            raise ValueError
    except ValueError:
        raise ReportInputError({"month": _("A month is YYYY-MM.")}) from None
    if not facility_code:
        raise ReportInputError({"facility": _("Choose a facility.")})
    facility = get_object_or_404(Facility, code=facility_code)
    rows = dashboard.istv_extract(facility, year, mon)
    return exports.csv_response(f"istv-{facility.code}-{year}-{mon:02d}.csv", dashboard.EXTRACT_FIELDS, rows)


# ------------------------------------------------------------------ subscriptions


def _subscription_posted(request) -> dict | None:
    """Cancel or subscribe as posted; the form errors (by field) when the input is wrong."""
    if request.POST.get("cancel"):
        form = CancelForm(request.POST)
        pk = form.cleaned_data["cancel"] if form.is_valid() else 0
        sub = get_object_or_404(Subscription, pk=pk, user=request.user)
        services.subscription_cancel(actor=request.user, subscription=sub)
        return None
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return {field: list(errors) for field, errors in form.errors.items()}
    try:
        services.subscription_create(actor=request.user, **form.cleaned_data)
    except InvalidInput as e:
        return e.errors
    return None


@report_view
def subscriptions(request):
    if not permissions.may_subscribe(request.user):
        raise PermissionDenied(_("Only managers, analysts and admins subscribe to scheduled reports."))
    error = None
    if request.method == "POST":
        error = _subscription_posted(request)
        if error is None:
            return redirect("reporting:subscriptions")
    return render(
        request,
        "reporting/subscriptions.html",
        {
            "subscriptions": Subscription.objects.filter(user=request.user, active=True),
            "reports": Subscription.Report.choices,
            "frequencies": Subscription.Frequency.choices,
            "groupings": labelled(selectors.GROUP_BY),
            "error": error,
        },
        status=400 if error else 200,
    )
