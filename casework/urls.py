from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case-list"),
    path("dockets/<int:pk>/", views.police_case_detail, name="police-case-detail"),
    path(
        "dockets/<int:pk>/transitions/<str:name>/",
        views.police_case_transition,
        name="police-case-transition",
    ),
    path("prosecutions/<int:pk>/", views.prosecution_detail, name="prosecution-detail"),
    path(
        "prosecutions/<int:pk>/transitions/<str:name>/",
        views.prosecution_transition,
        name="prosecution-transition",
    ),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
]
