from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("new/", views.capture, name="capture"),
    path("mine/", views.my_submissions, name="my-submissions"),
    path("csv/", views.csv_upload, name="csv-upload"),
    path("csv/template.csv", views.csv_template, name="csv-template"),
    path("admissions/", views.admission_list, name="admission-list"),
    path("admissions/<int:pk>/", views.admission_detail, name="admission-detail"),
    path("admissions/<int:pk>/refer/", views.admission_refer, name="admission-refer"),
    path("referrals/", views.referral_queue, name="referral-queue"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral-detail"),
    path("referrals/<int:pk>/open-docket/", views.referral_open_docket, name="referral-open-docket"),
    path("referrals/<int:pk>/transitions/<str:name>/", views.referral_transition, name="referral-transition"),
    path("dead-letters/", views.dead_letters, name="dead-letters"),
    path("dead-letters/<int:pk>/", views.dead_letter_detail, name="dead-letter-detail"),
    path("subject-access/", views.subject_access, name="subject-access"),
    path("retention/", views.retention, name="retention"),
]
