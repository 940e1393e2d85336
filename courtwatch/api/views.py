"""API adapters: parse with an …Input serializer, call one service, answer with an …Output one."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from casework.api.mixins import TransitionsMixin
from casework.api.views import CreateWithInputMixin, int_param

from .. import notifications, selectors, services
from .serializers import (
    BriefOutput,
    BulkAssignInput,
    FeedbackInput,
    FeedbackOutput,
    FeedbackResponseInput,
    HearingInput,
    HearingOutput,
    MeetingInput,
    MeetingOutput,
    NotificationOutput,
    ReviewOutput,
)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("prosecution", int),
            OpenApiParameter("state", str),
            OpenApiParameter("court", str),
            OpenApiParameter("officer", str),
        ]
    )
)
class BriefViewSet(TransitionsMixin, viewsets.ReadOnlyModelViewSet):
    """Court-watching briefs: a watcher sees their own, a supervisor all. Transitions: assign
    (``officer`` username), start_monitoring, close (matter finalised), reopen."""

    serializer_class = output_serializer_class = BriefOutput

    def get_queryset(self):
        p = self.request.query_params
        return selectors.brief_list_for_user(
            self.request.user,
            prosecution=int_param(self.request, "prosecution"),
            state=p.get("state", ""),
            court=p.get("court", ""),
            officer=p.get("officer", ""),
        )

    @extend_schema(request=BulkAssignInput, responses={200: BriefOutput(many=True)})
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request):
        """Assign every unassigned brief of open matters at a court to one court watcher."""
        data = BulkAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        briefs = services.brief_bulk_assign(actor=request.user, **data.validated_data)
        return Response(BriefOutput(briefs, many=True).data)


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("prosecution", int), OpenApiParameter("brief", int)]),
    create=extend_schema(request=HearingInput, responses={201: HearingOutput}),
)
class HearingViewSet(CreateWithInputMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Hearings. Creating one moves the prosecution as its outcome says, in the same transaction;
    an outcome impossible from the prosecution's state answers 400 with the ``allowed`` outcomes."""

    input_serializer_class = HearingInput
    output_serializer_class = HearingOutput

    def get_queryset(self):
        return selectors.hearing_list_for_user(
            self.request.user,
            prosecution=int_param(self.request, "prosecution"),
            brief=int_param(self.request, "brief"),
        )

    def perform_service(self, data):
        # The contract's ``date`` and ``type`` are the service's ``held_on`` and ``kind``.
        data = dict(data)
        return services.hearing_record(
            actor=self.request.user, held_on=data.pop("date"), kind=data.pop("type"), **data
        )


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("brief", int)]),
    create=extend_schema(request=FeedbackInput, responses={201: FeedbackOutput}),
)
class FeedbackViewSet(CreateWithInputMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Feedback to SAPS / NPA from a brief, and their response."""

    input_serializer_class = FeedbackInput
    output_serializer_class = FeedbackOutput

    def get_queryset(self):
        return selectors.feedback_list_for_user(self.request.user, brief=int_param(self.request, "brief"))

    def perform_service(self, data):
        return services.feedback_create(actor=self.request.user, **data)

    @extend_schema(request=FeedbackResponseInput, responses={200: FeedbackOutput})
    @action(detail=True, methods=["post"], url_path="response")
    def respond(self, request, pk=None):
        feedback = self.get_object()
        data = FeedbackResponseInput(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = services.feedback_record_response(
            actor=request.user, feedback=feedback, **data.validated_data
        )
        return Response(FeedbackOutput(feedback).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("prosecution", int),
            OpenApiParameter("state", str),
            OpenApiParameter("open", bool, description="Only reviews not yet closed"),
        ]
    )
)
class ReviewViewSet(TransitionsMixin, viewsets.ReadOnlyModelViewSet):
    """Withdrawal reviews, ordered by priority. Transitions: schedule (``meeting``), decide
    (``decision``, ``rationale``, ``members_present``), close."""

    serializer_class = output_serializer_class = ReviewOutput

    def get_queryset(self):
        p = self.request.query_params
        return selectors.review_list_for_user(
            self.request.user,
            prosecution=int_param(self.request, "prosecution"),
            state=p.get("state", ""),
            open_only=p.get("open", "").lower() in ("1", "true", "yes"),
        ).prefetch_related("members_present")


@extend_schema_view(create=extend_schema(request=MeetingInput, responses={201: MeetingOutput}))
class MeetingViewSet(CreateWithInputMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Committee meetings; the agenda is the reviews scheduled for each."""

    input_serializer_class = MeetingInput
    output_serializer_class = MeetingOutput

    def get_queryset(self):
        return selectors.meeting_list_for_user(self.request.user).prefetch_related("reviews")

    def perform_service(self, data):
        return services.meeting_create(actor=self.request.user, **data)


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The signed-in user's notices (hearing reminders, stale-brief digests, overdue reviews)."""

    serializer_class = NotificationOutput

    def get_queryset(self):
        return selectors.notification_list_for_user(self.request.user)

    @extend_schema(request=None, responses={200: NotificationOutput})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        n = notifications.notification_mark_read(actor=request.user, notification=self.get_object())
        return Response(NotificationOutput(n).data, status=status.HTTP_200_OK)
