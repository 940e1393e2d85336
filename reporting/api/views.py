"""Report endpoints: parse the query, call one selector, answer JSON or (``?format=csv``) CSV.

Access and suppression come from ``reporting.permissions``; bad input is a 400 naming the parameter.
"""

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from casework.inputs import ascii_int
from casework.models import Court

from .. import attrition, dashboard, exports, hotspots, permissions, selectors
from ..params import (
    ReportInputError,
    parse_choice,
    parse_code,
    parse_dashboard_filters,
    parse_period,
    wants_unsuppressed,
)
from .serializers import ConvictionRateOutput, DashboardOutput


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``?format=csv`` through DRF's content negotiation; the views build the CSV themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str | bytes):
            return data
        return exports.csv_text(sorted(data), [data]) if isinstance(data, dict) else ""


PERIOD_PARAMS = [
    OpenApiParameter("from", str, description="First day (YYYY-MM-DD, SAST), inclusive; default a year ago."),
    OpenApiParameter("to", str, description="Last day (YYYY-MM-DD, SAST), inclusive; default today."),
    OpenApiParameter("format", str, enum=["json", "csv"]),
    OpenApiParameter(
        "unsuppressed", bool, description="Analysts and admins only: no small-cell suppression."
    ),
]


class ReportView(APIView):
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not permissions.may_view_reports(request.user):
            raise PermissionDenied("Reports are for managers, analysts, the committee and the supervisor.")

    def handle_exception(self, exc):
        if isinstance(exc, ReportInputError):
            return Response(
                {"detail": str(exc), "errors": {k: [v] for k, v in exc.errors.items()}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return super().handle_exception(exc)

    @property
    def suppress(self) -> bool:
        return permissions.suppress_for(
            self.request.user, unsuppressed_requested=wants_unsuppressed(self.request.query_params)
        )

    @property
    def wants_csv(self) -> bool:
        return self.request.query_params.get("format") == "csv"


class ConvictionRateView(ReportView):
    @extend_schema(
        responses={200: ConvictionRateOutput},
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter("group_by", str, enum=list(selectors.GROUP_BY)),
            OpenApiParameter("court", str, description="A court code: that court's matters only."),
        ],
        description="Conviction rate of prosecutions finalised in the period; definitions in the answer.",
    )
    def get(self, request):
        period = parse_period(request.query_params)
        group_by = parse_choice(request.query_params, "group_by", selectors.GROUP_BY, default="court")
        court = parse_code(request.query_params, "court", Court)
        report = selectors.conviction_rate(period, group_by, suppress=self.suppress, court=court)
        if self.wants_csv:
            return exports.csv_response(
                f"conviction-rate-{group_by}-{period.start_date}-{period.end_date}.csv",
                [*selectors.ROW_FIELDS, "suppressed"],
                exports.table_rows(report),
            )
        report.pop("as_of")  # the page states it; the API's answer keeps the contract's shape
        return Response(api_shape(report))


def _strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "label"}


def api_shape(report: dict) -> dict:
    return {
        "definitions": {k: str(v) for k, v in report["definitions"].items()},
        "rows": [_strip(r) for r in report["rows"]],
        "total": _strip(report["total"]),
        **{k: v for k, v in report.items() if k not in ("definitions", "rows", "total")},
    }


class RemovalsView(ReportView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=PERIOD_PARAMS,
        description="Removals from the roll by reason; police share.",
    )
    def get(self, request):
        period = parse_period(request.query_params)
        report = selectors.removals(period, suppress=self.suppress)
        if self.wants_csv:
            rows = [
                {
                    **r,
                    "top_stations": [f"{s['name']}:{s['removals']}" for s in r["top_stations"]],
                    "top_courts": [f"{s['name']}:{s['removals']}" for s in r["top_courts"]],
                }
                for r in report["rows"]
            ]
            return exports.csv_response(
                "removals.csv",
                [
                    "group",
                    "label",
                    "police_attributable",
                    *selectors.REMOVAL_COUNTS,
                    "share",
                    "top_stations",
                    "top_courts",
                    "suppressed",
                ],
                rows,
            )
        return Response(api_shape(report))


class ReEnrolmentView(ReportView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=PERIOD_PARAMS,
        description="Matters re-enrolled in the period and where they stand.",
    )
    def get(self, request):
        period = parse_period(request.query_params)
        report = selectors.re_enrolment(period, suppress=self.suppress)
        if self.wants_csv:
            return exports.csv_response(
                "re-enrolment.csv",
                ["group", *selectors.RE_ENROL_COUNTS, "conviction_rate", "suppressed"],
                exports.table_rows(report),
            )
        return Response(api_shape(report))


class AttritionView(ReportView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=PERIOD_PARAMS,
        description="Attrition funnel of the incidents of a period.",
    )
    def get(self, request):
        period = parse_period(request.query_params)
        report = attrition.attrition(period, suppress=self.suppress)
        if self.wants_csv:
            return exports.csv_response(
                "attrition.csv", ["group", "count", "drop", "suppressed"], report["rows"]
            )
        return Response(api_shape_plain(report))


class UnknownToPoliceView(ReportView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[*PERIOD_PARAMS, OpenApiParameter("group_by", str, enum=list(attrition.UNKNOWN_GROUP_BY))],
        description="Share of EC violence admissions with no docket after 7, 30 and 90 days.",
    )
    def get(self, request):
        period = parse_period(request.query_params)
        group_by = parse_choice(
            request.query_params, "group_by", attrition.UNKNOWN_GROUP_BY, default="facility"
        )
        report = attrition.unknown_to_police(period, group_by, suppress=self.suppress)
        if self.wants_csv:
            return exports.csv_response(
                "unknown-to-police.csv", [*attrition.UNKNOWN_FIELDS, "suppressed"], exports.table_rows(report)
            )
        return Response(api_shape(report))


def api_shape_plain(report: dict) -> dict:
    out = dict(report)
    if "definitions" in out:
        out["definitions"] = {k: str(v) for k, v in out["definitions"].items()}
    return out


class DashboardIncidentsView(ReportView):
    @extend_schema(
        responses={200: DashboardOutput},
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter("group_by", str, enum=list(dashboard.GROUP_BY)),
            OpenApiParameter("facility", str),
            OpenApiParameter("district", str),
            OpenApiParameter("station", str),
            OpenApiParameter("mechanism", str),
            OpenApiParameter("gang_related", bool),
        ],
        description='Admissions counted by one dimension: {"rows": [{"key", "count"}], "total"}.',
    )
    def get(self, request):
        period = parse_period(request.query_params, default_days=90)
        group_by = parse_choice(request.query_params, "group_by", dashboard.GROUP_BY, default="month")
        filters = parse_dashboard_filters(request.query_params)
        result = dashboard.admissions_by(period, group_by, filters, suppress=self.suppress)
        if self.wants_csv:
            total = {"key": "total", "count": result["total"]}
            if result["total"] is None:
                total["suppressed"] = ["count"]
            return exports.csv_response(
                f"admissions-by-{group_by}.csv", ["key", "count", "suppressed"], [*result["rows"], total]
            )
        return Response({"rows": [_strip(r) for r in result["rows"]], "total": result["total"]})


class HotspotsView(ReportView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("weeks", int), OpenApiParameter("format", str, enum=["json", "csv"])],
        description="Suburbs ranked by admissions and by change; spike alerts (see docs/reporting.md).",
    )
    def get(self, request):
        weeks = request.query_params.get("weeks") or "4"
        if not 1 <= (ascii_int(weeks) or 0) <= 52:
            raise ReportInputError({"weeks": "A whole number of weeks, 1 to 52."})
        report = hotspots.hotspots(
            weeks=int(weeks), suppress=self.suppress, level=permissions.place_level(request.user)
        )
        if self.wants_csv:
            return exports.csv_response("hotspots.csv", hotspots.HOTSPOT_FIELDS, report["rows"])
        return Response(api_shape_plain(report))
