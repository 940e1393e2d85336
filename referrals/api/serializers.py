from rest_framework import serializers

from casework.models import Facility

from .. import minimise, permissions
from ..models import Admission, InboundMessage, PatientIdentity, Referral


def _reader(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class AdmissionOutput(serializers.ModelSerializer):
    """Never identity. Those who may read the identity (admins, the facility's EC staff) see the
    facts as recorded and the pseudonym; everyone else the minimised view (``referrals.minimise``):
    age band, times to the hour, no visit number, no pseudonym, coarse coordinates, and
    ``"minimised": true``. Analysts also get ``prior_visits`` (earlier visits of the same patient)."""

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

    def to_representation(self, obj):
        data = super().to_representation(obj)
        user = _reader(self)
        if user is not None and permissions.sees_quasi_identifiers(user, obj):
            return data
        for name in minimise.WITHHELD:
            data.pop(name, None)
        for name in minimise.HOURLY:
            data[name] = self.fields[name].to_representation(minimise.to_the_hour(getattr(obj, name)))
        for name in ("latitude", "longitude"):
            value = minimise.coarse(getattr(obj, name))
            data[name] = None if value is None else str(value)
        data["minimised"] = True
        if user is not None and permissions.sees_repeat_visits(user):
            data["prior_visits"] = getattr(obj, "prior_visits", None)
        return data


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

    def to_representation(self, obj):
        """SAPS works a referral without the patient: the arrival to the hour, like every
        de-identified view (``referrals.minimise``)."""
        data = super().to_representation(obj)
        user = _reader(self)
        if user is None or not permissions.sees_quasi_identifiers(user, obj.admission):
            data["arrival_at"] = self.fields["arrival_at"].to_representation(
                minimise.to_the_hour(obj.admission.arrival_at)
            )
        return data

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

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["reason"] = minimise.reason_without_values(data["reason"])
        data["report"] = minimise.report_without_values(data["report"])
        return data


class ReplayInput(serializers.Serializer):
    raw = serializers.CharField(
        required=False,
        allow_blank=False,
        trim_whitespace=False,
        help_text="Corrected raw message; omit to replay as stored.",
    )


class SubjectAccessInput(serializers.Serializer):
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    folder_number = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    facility = serializers.SlugRelatedField(
        slug_field="code", queryset=Facility.objects.all(), required=False, allow_null=True, default=None
    )
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
