from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("briefs", views.BriefViewSet, basename="brief")
router.register("hearings", views.HearingViewSet, basename="hearing")
router.register("feedback", views.FeedbackViewSet, basename="feedback")
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("meetings", views.MeetingViewSet, basename="meeting")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls
