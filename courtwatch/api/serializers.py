from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from casework import permissions as cw
from casework import plausible
from casework.models import Court

from .. import permissions as perms
from ..models import Brief, CommitteeMeeting, Feedback, Hearing, Notification, WithdrawalReview


def code_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", queryset=Court.objects.all(), **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class VisibleProsecutions(serializers.PrimaryKeyRelatedField):
    """A prosecution the caller may not see reads as 'does not exist'."""

    def get_queryset(self):
        return cw.visible_prosecutions(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleBriefs(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return perms.visible_briefs(self.context["request"].user)


# ---------------------------------------------------------------- briefs


class BriefOutput(serializers.ModelSerializer):
    officer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    court = serializers.CharField(source="prosecution.court.code", read_only=True)
    case_number = serializers.CharField(source="prosecution.case_number", read_only=True)
    prosecution_state = serializers.CharField(source="prosecution.state", read_only=True)

    class Meta:
        model = Brief
        fields = [
            "id",
            "prosecution",
            "case_number",
            "court",
            "prosecution_state",
            "state",
            "version",
            "state_changed_at",
            "officer",
            "next_appearance",
            "created_at",
        ]


class BulkAssignInput(serializers.Serializer):
    court = code_field()
    officer = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())


# ---------------------------------------------------------------- hearings


class HearingInput(serializers.Serializer):
    prosecution = VisibleProsecutions()
    date = plausible.api_future_date()
    type = serializers.ChoiceField(choices=Hearing.Type.choices)
    outcome = serializers.ChoiceField(choices=Hearing.Outcome.choices)
    reason = plausible.api_text(
        plausible.column_max(Hearing, "reason"), required=False, allow_blank=True, default=""
    )
    next_date = plausible.api_future_date(required=False, allow_null=True, default=None)
    note = plausible.api_note(required=False, allow_blank=True, default="")
    court = code_field(required=False, allow_null=True, default=None)
    new_court = code_field(required=False, allow_null=True, default=None)
    sentence = plausible.api_text(required=False, allow_blank=True, default="")
    programme = plausible.api_text(
        plausible.column_max(Hearing, "programme"), required=False, allow_blank=True, default=""
    )
    officer = serializers.SlugRelatedField(
        slug_field="username", queryset=perms.court_watchers(), required=False, allow_null=True, default=None
    )
    version = serializers.IntegerField(required=False, allow_null=True, default=None)


class HearingOutput(serializers.ModelSerializer):
    court = serializers.SlugRelatedField(slug_field="code", read_only=True)
    new_court = serializers.SlugRelatedField(slug_field="code", read_only=True)
    officer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    note = serializers.CharField(source="notes", read_only=True)

    class Meta:
        model = Hearing
        fields = [
            "id",
            "brief",
            "prosecution",
            "date",
            "court",
            "type",
            "outcome",
            "reason",
            "next_date",
            "officer",
            "note",
            "sentence",
            "programme",
            "new_court",
            "transition",
            "from_state",
            "to_state",
            "recorded_by",
            "recorded_at",
        ]


# ---------------------------------------------------------------- feedback


class FeedbackInput(serializers.Serializer):
    brief = VisibleBriefs()
    category = serializers.ChoiceField(choices=Feedback.Category.choices)
    recipient = serializers.ChoiceField(choices=Feedback.Recipient.choices)
    recipient_detail = plausible.api_text(
        plausible.column_max(Feedback, "recipient_detail"), required=False, allow_blank=True, default=""
    )
    text = plausible.api_text()


class FeedbackResponseInput(serializers.Serializer):
    response = plausible.api_text()
    responded_at = plausible.api_past_datetime(required=False, allow_null=True, default=None)


class FeedbackOutput(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "brief",
            "hearing",
            "category",
            "text",
            "recipient",
            "recipient_detail",
            "created_by",
            "created_at",
            "response",
            "responded_at",
        ]


# ---------------------------------------------------------------- reviews and meetings


class ReviewOutput(serializers.ModelSerializer):
    members_present = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    case_number = serializers.CharField(source="prosecution.case_number", read_only=True)
    court = serializers.CharField(source="prosecution.court.code", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)
    overdue_on = serializers.DateTimeField(read_only=True)

    class Meta:
        model = WithdrawalReview
        fields = [
            "id",
            "prosecution",
            "case_number",
            "court",
            "state",
            "version",
            "state_changed_at",
            "removal",
            "removal_reason",
            "flagged_at",
            "priority_reasons",
            "priority_score",
            "overdue",
            "overdue_on",
            "meeting",
            "decision",
            "rationale",
            "members_present",
            "decided_by",
            "decided_at",
            "closed_at",
        ]


class MeetingInput(serializers.Serializer):
    date = plausible.api_future_date()
    members = plausible.api_many(
        serializers.SlugRelatedField(
            slug_field="username", queryset=get_user_model().objects.filter(is_active=True)
        ),
        allow_empty=False,
    )


class MeetingOutput(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    agenda = serializers.PrimaryKeyRelatedField(source="reviews", many=True, read_only=True)

    class Meta:
        model = CommitteeMeeting
        fields = ["id", "date", "members", "agenda", "created_at"]


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "url", "created_at", "emailed_at", "read_at"]
