from rest_framework import serializers

from ..models import Admission, InboundMessage, PatientIdentity, Referral


class AdmissionOutput(serializers.ModelSerializer):
    """De-identified: no name, no identifiers; the pseudonym links repeat victims."""

    facility = serializers.SlugRelatedField(slug_field="code", read_only=True)
    suburb = serializers.SlugRelatedField(slug_field="code", read_only=True)
    referral = serializers.SerializerMethodField()

    class Meta:
        model = Admission
        fields = [
            "id",
            "facility",
            "visit_number",
            "arrival_at",
            "injury_at",
            "age_years",
            "age_band",
            "sex",
            "role",
            "mechanism",
            "icd10_codes",
            "triage",
            "place_type",
            "suburb",
            "suburb_text",
            "latitude",
            "longitude",
            "disposition",
            "police_informed",
            "gang_suspected",
            "pseudonym",
            "incident",
            "referral",
            "event",
            "created_at",
            "updated_at",
        ]

    def get_referral(self, obj) -> dict | None:
        ref = getattr(obj, "referral", None)
        return {"id": ref.pk, "state": ref.state, "station": ref.station.code} if ref else None


class IdentityOutput(serializers.ModelSerializer):
    class Meta:
        model = PatientIdentity
        fields = ["name", "identifiers", "date_of_birth", "contact"]


class ReferralInput(serializers.Serializer):
    admission = serializers.IntegerField()


class ReferralOutput(serializers.ModelSerializer):
    station = serializers.SlugRelatedField(slug_field="code", read_only=True)
    station_name = serializers.CharField(source="station.name", read_only=True)
    facility = serializers.CharField(source="admission.facility.code", read_only=True)
    arrival_at = serializers.DateTimeField(source="admission.arrival_at", read_only=True)
    mechanism = serializers.CharField(source="admission.mechanism", read_only=True)
    suburb = serializers.CharField(source="admission.suburb.code", read_only=True, default="")
    incident = serializers.IntegerField(source="admission.incident_id", read_only=True)
    cas_number = serializers.CharField(source="police_case.cas_number", read_only=True, default="")

    class Meta:
        model = Referral
        fields = [
            "id",
            "admission",
            "facility",
            "arrival_at",
            "mechanism",
            "suburb",
            "incident",
            "station",
            "station_name",
            "state",
            "version",
            "state_changed_at",
            "police_case",
            "cas_number",
            "decline_reason",
            "created_at",
        ]


class DeadLetterOutput(serializers.ModelSerializer):
    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "channel",
            "sender",
            "control_id",
            "message_type",
            "received_at",
            "status",
            "reason",
            "attempts",
            "duplicates_seen",
            "status_changed_at",
            "report",
        ]


class ReplayInput(serializers.Serializer):
    raw = serializers.CharField(
        required=False,
        allow_blank=False,
        trim_whitespace=False,
        help_text="Corrected raw message; omit to replay as stored.",
    )
