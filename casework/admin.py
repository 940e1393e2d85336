"""Admin: reference data is edited here; cases are read here. States never change in the admin
(the FSM fields are protected): transitions go through the case pages, which call the services.

``ReadOnlyAdmin`` is the one base class for every model whose changes go through services
(incidents, dockets, prosecutions, logs here; admissions, referrals, the inbox in referrals;
briefs, hearings, reviews, meetings in courtwatch): no add, change or delete, so a POST to its
change page is refused (403) and nothing moves without a transition-log row (issue 10 finding 7).
An admin action that changes state calls the service, as the pages do.
"""

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from .models import (
    Accused,
    Court,
    District,
    Facility,
    GangAssertion,
    Incident,
    Offence,
    PoliceCase,
    Prosecution,
    Station,
    Suburb,
    TransitionLog,
)


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Facility)
class FacilityAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "kind", "district", "sub_district"]
    list_filter = ["kind", "district"]
    search_fields = ["code", "name"]


@admin.register(Station)
class StationAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "cluster", "district"]
    list_filter = ["cluster", "district"]
    search_fields = ["code", "name"]


@admin.register(Court)
class CourtAdmin(GuardedModelAdmin):
    list_display = ["code", "name", "level", "district"]
    list_filter = ["level", "district"]
    search_fields = ["code", "name"]
    filter_horizontal = ["stations"]


@admin.register(Suburb)
class SuburbAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "station"]
    list_filter = ["station"]
    search_fields = ["code", "name"]


@admin.register(Offence)
class OffenceAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


class NoWrites:
    """Read-only in the admin: the record changes only through its services (and their log)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NoWrites, admin.ModelAdmin):
    pass


class ReadOnlyInline(NoWrites, admin.TabularInline):
    extra = 0
    can_delete = False


class GangAssertionInline(ReadOnlyInline):
    model = GangAssertion
    readonly_fields = ["gang_related", "source", "basis", "asserted_at", "asserted_by", "withdrawn_at"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "occurred_at", "suburb", "mechanism", "fatal", "gang_related"]
    list_filter = ["mechanism", "gang_related", "fatal"]
    inlines = [GangAssertionInline]


@admin.register(PoliceCase)
class PoliceCaseAdmin(ReadOnlyAdmin):
    list_display = ["cas_number", "station", "offence", "opened_on", "state"]
    list_filter = ["state", "station"]
    search_fields = ["cas_serial"]


class AccusedInline(ReadOnlyInline):
    model = Accused
    readonly_fields = ["name", "outcome"]
    exclude = ["pseudonym"]


@admin.register(Prosecution)
class ProsecutionAdmin(ReadOnlyAdmin):
    list_display = ["case_number", "court", "state", "enrolled_on", "finalised_on"]
    list_filter = ["state", "court"]
    search_fields = ["case_number"]
    inlines = [AccusedInline]


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    list_display = [
        "at",
        "content_type",
        "object_id",
        "transition",
        "from_state",
        "to_state",
        "actor",
        "reason",
    ]
    list_filter = ["content_type", "transition"]
