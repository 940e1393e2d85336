"""Admin: read-only views of court-watching records. Every change goes through the services
(the pages and the API), so the admin never writes a state or bypasses the transition log."""

from django.contrib import admin

from casework.admin import ReadOnlyAdmin

from .models import Brief, CommitteeMeeting, Feedback, Hearing, Notification, WithdrawalReview


@admin.register(Brief)
class BriefAdmin(ReadOnlyAdmin):
    list_display = ["id", "prosecution", "state", "officer", "next_appearance"]
    list_filter = ["state"]
    search_fields = ["prosecution__case_number", "officer__username"]


@admin.register(Hearing)
class HearingAdmin(ReadOnlyAdmin):
    list_display = ["id", "prosecution", "date", "type", "outcome", "transition", "officer"]
    list_filter = ["outcome", "type"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["id", "brief", "category", "recipient", "created_at", "responded_at"]


@admin.register(WithdrawalReview)
class WithdrawalReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "prosecution", "state", "priority_score", "flagged_at", "decision"]
    list_filter = ["state", "decision"]


@admin.register(CommitteeMeeting)
class CommitteeMeetingAdmin(ReadOnlyAdmin):
    list_display = ["id", "date"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "kind", "subject", "created_at", "emailed_at", "read_at"]
    list_filter = ["kind"]
