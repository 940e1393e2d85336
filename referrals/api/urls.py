from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("admissions", views.AdmissionViewSet, basename="admission")
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("dead-letters", views.DeadLetterViewSet, basename="dead-letter")

urlpatterns = [
    path("intake/hl7/", views.Hl7IntakeView.as_view(), name="intake-hl7"),
    path("intake/fhir/", views.FhirIntakeView.as_view(), name="intake-fhir"),
    path("intake/csv/", views.CsvIntakeView.as_view(), name="intake-csv"),
    path("subject-access/", views.SubjectAccessView.as_view(), name="subject-access"),
    *router.urls,
]
