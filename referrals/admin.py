"""Admin: the inbox, admissions and referrals are read here, never written: admissions change through
the intake and the capture form, referrals through their transitions, dead letters through the
audited replay (services), so every change has its log row (issue 10 finding 7). Identity is not
registered (it is read only through the audited selector), and raw message text is left out."""

from django.contrib import admin, messages

from casework.admin import ReadOnlyAdmin
from casework.errors import DomainError

from . import services
from .models import Admission, IdentityRead, InboundMessage, Referral


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_at", "channel", "sender", "control_id", "status", "attempts", "reason"]
    list_filter = ["status", "channel"]
    search_fields = ["sender", "control_id"]
    exclude = ["raw"]
    actions = ["replay"]

    @admin.action(description="Replay the selected dead letters (as received)")
    def replay(self, request, queryset):
        """Through the service: checks the admin, validates again, writes the audit row."""
        done = 0
        for message in queryset.filter(status__in=InboundMessage.DEAD):
            try:
                services.dead_letter_replay(message=message, actor=request.user)
                done += 1
            except DomainError as e:
                self.message_user(request, f"Message {message.pk}: {e}", messages.WARNING)
        self.message_user(request, f"{done} message(s) queued again.")


@admin.register(Admission)
class AdmissionAdmin(ReadOnlyAdmin):
    list_display = ["id", "facility", "visit_number", "arrival_at", "mechanism", "suburb", "incident"]
    list_filter = ["mechanism", "facility"]
    search_fields = ["visit_number", "pseudonym"]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["id", "station", "state", "admission", "police_case", "created_at"]
    list_filter = ["state", "station"]


@admin.register(IdentityRead)
class IdentityReadAdmin(ReadOnlyAdmin):
    list_display = ["at", "reader", "admission", "message", "purpose"]
