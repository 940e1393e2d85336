from django.urls import path

from . import place_views, views

app_name = "reporting"

urlpatterns = [
    path("", views.index, name="index"),
    path("conviction-rate/", views.conviction_rate, name="conviction-rate"),
    path("conviction-rate/prosecutions/", views.conviction_drill_down, name="conviction-drill-down"),
    path("removals/", views.removals, name="removals"),
    path("re-enrolment/", views.re_enrolment, name="re-enrolment"),
    path("attrition/", views.attrition, name="attrition"),
    path("unknown-to-police/", views.unknown_to_police, name="unknown-to-police"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("dashboard/chart.csv", views.dashboard_csv, name="dashboard-csv"),
    path("hotspots/", place_views.hotspots, name="hotspots"),
    path("map/", place_views.admissions_map, name="map"),
    path("extract/", views.istv_extract, name="extract"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
]
