"""Admin: the inbox and referrals are visible; identity is not registered (it is read only through
the audited selector), and raw message text is left out of the admin."""

from django.contrib import admin

from .models import Admission, IdentityRead, InboundMessage, Referral


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "received_at", "channel", "sender", "control_id", "status", "attempts", "reason"]
    list_filter = ["status", "channel"]
    search_fields = ["sender", "control_id"]
    exclude = ["raw"]
    readonly_fields = [
        f
        for f in [
            "channel",
            "family",
            "sender",
            "facility",
            "control_id",
            "message_type",
            "received_at",
            "received_by",
            "status",
            "status_changed_at",
            "reason",
            "attempts",
            "duplicates_seen",
            "processed_at",
            "admission",
            "ack",
            "report",
        ]
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Admission)
class AdmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "facility", "visit_number", "arrival_at", "mechanism", "suburb", "incident"]
    list_filter = ["mechanism", "facility"]
    search_fields = ["visit_number", "pseudonym"]
    raw_id_fields = ["incident", "message", "suburb"]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["id", "station", "state", "admission", "police_case", "created_at"]
    list_filter = ["state", "station"]
    readonly_fields = ["state", "version"]
    raw_id_fields = ["admission", "police_case"]


@admin.register(IdentityRead)
class IdentityReadAdmin(admin.ModelAdmin):
    list_display = ["at", "reader", "admission", "message", "purpose"]
    readonly_fields = ["at", "reader", "admission", "message", "purpose"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
