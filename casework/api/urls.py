from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("facilities", views.FacilityViewSet, basename="facility")
router.register("stations", views.StationViewSet, basename="station")
router.register("courts", views.CourtViewSet, basename="court")
router.register("suburbs", views.SuburbViewSet, basename="suburb")
router.register("offences", views.OffenceViewSet, basename="offence")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("police-cases", views.PoliceCaseViewSet, basename="police-case")
router.register("prosecutions", views.ProsecutionViewSet, basename="prosecution")

urlpatterns = router.urls
