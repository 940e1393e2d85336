from django.urls import path

from . import views

app_name = "courtwatch"

urlpatterns = [
    path("", views.index, name="index"),
    path("briefs/", views.my_briefs, name="my-briefs"),
    path("briefs/<int:pk>/", views.brief_detail, name="brief-detail"),
    path("briefs/<int:pk>/hearings/", views.brief_hearing, name="brief-hearing"),
    path("briefs/<int:pk>/feedback/", views.brief_feedback, name="brief-feedback"),
    path("briefs/<int:pk>/transitions/<str:name>/", views.brief_transition, name="brief-transition"),
    path("feedback/<int:pk>/response/", views.feedback_response, name="feedback-response"),
    path("roll/", views.roll, name="roll"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/assign/", views.bulk_assign, name="bulk-assign"),
    path("reviews/", views.review_queue, name="review-queue"),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/transitions/<str:name>/", views.review_transition, name="review-transition"),
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/agenda.csv", views.meeting_csv, name="meeting-csv"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
]
