from django.urls import path

from . import views

urlpatterns = [
    path("reports/conviction-rate/", views.ConvictionRateView.as_view(), name="api-report-conviction-rate"),
    path("reports/attrition/", views.AttritionView.as_view(), name="api-report-attrition"),
    path("reports/removals/", views.RemovalsView.as_view(), name="api-report-removals"),
    path("reports/re-enrolment/", views.ReEnrolmentView.as_view(), name="api-report-re-enrolment"),
    path(
        "reports/unknown-to-police/", views.UnknownToPoliceView.as_view(), name="api-report-unknown-to-police"
    ),
    path("dashboard/incidents/", views.DashboardIncidentsView.as_view(), name="api-dashboard-incidents"),
    path("dashboard/hotspots/", views.HotspotsView.as_view(), name="api-dashboard-hotspots"),
]
