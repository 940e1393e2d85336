"""Admin: the inbox, admissions and referrals are read here, never written: admissions change through
the intake and the capture form, referrals through their transitions, dead letters through the
audited replay (services), so every change has its log row (issue 10 finding 7). Identity is not
registered (it is read only through the audited selector), and raw message text is left out."""

from django import forms
from django.contrib import admin, messages

from casework.admin import ReadOnlyAdmin
from casework.errors import DomainError
from casework.models import Facility

from . import dead_letters, permissions, services
from .models import Admission, IdentityRead, InboundMessage, Referral, SendingSystem


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
                dead_letters.dead_letter_replay(message=message, actor=request.user)
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


class SendingSystemForm(forms.ModelForm):
    """The registry of sending systems; its facilities are its account's facility grants (one truth)."""

    facilities = forms.ModelMultipleChoiceField(
        queryset=Facility.objects.order_by("name"),
        required=False,
        widget=admin.widgets.FilteredSelectMultiple("facilities", is_stacked=False),
        help_text="The facilities it may send for (MSH-4, serviceProvider, CSV column facility).",
    )

    # Fingerprints are pasted as tools print them (colons, upper case): normalised before the length check.
    certificate_sha256 = forms.CharField(
        label="Client certificate SHA-256 fingerprint", required=False, max_length=200
    )

    class Meta:
        model = SendingSystem
        fields = ["name", "account", "certificate_sha256", "certificate_subject", "active", "note"]

    def clean_certificate_sha256(self):
        return SendingSystem.normalise_fingerprint(self.cleaned_data["certificate_sha256"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].required = False
        account = self.fields["account"]
        account.help_text = "Its account (API token over HTTP); leave empty to make one (no password)."
        if self.instance.pk:
            self.fields["facilities"].initial = list(permissions.sender_facilities(self.instance))


@admin.register(SendingSystem)
class SendingSystemAdmin(admin.ModelAdmin):
    """Reference data: registered through the services (the account joins ``integration``)."""

    form = SendingSystemForm
    list_display = ["name", "account", "certificate_subject", "certificate_sha256", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "certificate_subject", "certificate_sha256"]
    raw_id_fields = ["account"]

    def has_delete_permission(self, request, obj=None):
        return False  # messages point at it: deactivate instead

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if change:
            services.sending_system_update(
                system=obj,
                facilities=d["facilities"],
                certificate_sha256=d["certificate_sha256"],
                certificate_subject=d["certificate_subject"],
                active=d["active"],
            )
        else:
            created = services.sending_system_register(
                name=d["name"],
                facilities=d["facilities"],
                account=d.get("account"),
                certificate_sha256=d["certificate_sha256"],
                certificate_subject=d["certificate_subject"],
                active=d["active"],
                note=d["note"],
            )
            obj.pk, obj.account = created.pk, created.account

    def save_related(self, request, form, formsets, change):
        pass  # the facilities were saved as grants in save_model
