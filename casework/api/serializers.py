from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import permissions, plausible
from ..models import (
    Accused,
    Court,
    Facility,
    Incident,
    Offence,
    PoliceCase,
    Prosecution,
    Station,
    Suburb,
)


def code_field(queryset, **kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=queryset, **kwargs)


# ---------------------------------------------------------------- reference data


class FacilityOutput(serializers.ModelSerializer):
    district = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Facility
        fields = ["code", "name", "kind", "district", "sub_district"]


class StationOutput(serializers.ModelSerializer):
    district = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Station
        fields = ["code", "name", "cluster", "district"]


class CourtOutput(serializers.ModelSerializer):
    district = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Court
        fields = ["code", "name", "level", "district"]


class SuburbOutput(serializers.ModelSerializer):
    station = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Suburb
        fields = ["code", "name", "station"]


class OffenceOutput(serializers.ModelSerializer):
    class Meta:
        model = Offence
        fields = ["code", "name"]


# ---------------------------------------------------------------- incidents


class IncidentInput(serializers.Serializer):
    occurred_at = plausible.api_past_datetime()
    suburb = code_field(Suburb.objects.all())
    mechanism = serializers.ChoiceField(choices=Incident._meta.get_field("mechanism").choices)
    place_type = serializers.ChoiceField(
        choices=Incident._meta.get_field("place_type").choices, required=False, allow_blank=True
    )
    gang_related = serializers.BooleanField(default=False)
    gang_basis = plausible.api_text(required=False, allow_blank=True, default="")
    fatal = serializers.BooleanField(default=False)


class IncidentOutput(serializers.ModelSerializer):
    suburb = serializers.SlugRelatedField(slug_field="code", read_only=True)
    station = serializers.CharField(source="suburb.station.code", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "occurred_at",
            "suburb",
            "station",
            "mechanism",
            "place_type",
            "fatal",
            "gang_related",
            "created_at",
        ]

    def to_representation(self, obj):
        """An incident made from an admission carries the patient's injury time: to the hour for
        everyone but admins and the EC staff whose admissions it holds (docs/security.md)."""
        data = super().to_representation(obj)
        request = self.context.get("request")
        if request is None or not permissions.sees_exact_incident_time(request.user, obj):
            for name in ("occurred_at", "created_at"):
                moment = getattr(obj, name)
                # SAST is a whole number of hours from UTC: the hour is the same in both.
                hour = moment.replace(minute=0, second=0, microsecond=0) if moment else moment
                data[name] = self.fields[name].to_representation(hour)
        return data


# ---------------------------------------------------------------- police cases


@extend_schema_field(OpenApiTypes.INT)
class VisibleIncidents(serializers.PrimaryKeyRelatedField):
    """Only incidents the caller may see can be linked: a hidden id reads as 'does not exist'."""

    def get_queryset(self):
        return permissions.visible_incidents(self.context["request"].user)


class PoliceCaseInput(serializers.Serializer):
    station = code_field(Station.objects.all())
    cas_number = serializers.CharField(max_length=20)
    offence = code_field(Offence.objects.all())
    opened_on = plausible.api_past_date()
    incidents = plausible.api_many(VisibleIncidents(), limit=plausible.INCIDENTS_MAX, required=False)


class PoliceCaseOutput(serializers.ModelSerializer):
    station = serializers.SlugRelatedField(slug_field="code", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)
    offence = serializers.SlugRelatedField(slug_field="code", read_only=True)
    incidents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    prosecutions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = PoliceCase
        fields = [
            "id",
            "station",
            "station_name",
            "cas_number",
            "offence",
            "opened_on",
            "incidents",
            "prosecutions",
            "state",
            "version",
            "state_changed_at",
        ]


# ---------------------------------------------------------------- prosecutions


@extend_schema_field(OpenApiTypes.INT)
class VisiblePoliceCases(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return permissions.visible_police_cases(self.context["request"].user)


class AccusedInput(serializers.Serializer):
    name = serializers.CharField(max_length=plausible.column_max(Accused, "name"))


class ProsecutionInput(serializers.Serializer):
    police_case = VisiblePoliceCases()
    court = code_field(Court.objects.all())
    case_number = serializers.CharField(max_length=40)
    enrolled_on = plausible.api_past_date()
    accused = AccusedInput(many=True, allow_empty=False, max_length=plausible.LIST_MAX)


class AccusedOutput(serializers.ModelSerializer):
    class Meta:
        model = Accused
        fields = ["id", "name", "outcome"]


class ProsecutionOutput(serializers.ModelSerializer):
    court = serializers.SlugRelatedField(slug_field="code", read_only=True)
    court_name = serializers.CharField(source="court.name", read_only=True)
    cas_number = serializers.CharField(source="police_case.cas_number", read_only=True)
    station = serializers.CharField(source="police_case.station.code", read_only=True)
    accused = AccusedOutput(many=True, read_only=True)

    class Meta:
        model = Prosecution
        fields = [
            "id",
            "police_case",
            "cas_number",
            "station",
            "court",
            "court_name",
            "case_number",
            "enrolled_on",
            "state",
            "version",
            "state_changed_at",
            "next_appearance",
            "finalised_on",
            "removal_reason",
            "sentence_text",
            "diversion_programme",
            "enrolments",
            "accused",
        ]
