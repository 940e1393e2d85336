"""Intake endpoints (HL7, FHIR, CSV), admissions, referrals and dead letters."""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from casework.api.mixins import TransitionsMixin
from casework.errors import InvalidInput, PermissionDenied

from .. import dead_letters, permissions, selectors, services
from ..intake import receive
from ..models import Channel
from ..subject_access import subject_access_report
from .serializers import (
    AdmissionOutput,
    DeadLetterOutput,
    IdentityOutput,
    ReferralInput,
    ReferralOutput,
    ReplayInput,
    SubjectAccessInput,
)

HL7_TYPES = {"text/plain", "application/hl7-v2", "x-application/hl7-v2+er7", "application/edi-hl7"}
FHIR_TYPES = {"application/json", "application/fhir+json"}
# The HTTP status that goes with each acknowledgement code.
HTTP_FOR_ACK = {"AA": 200, "AE": 422, "AR": 400}


def _media_type(request) -> str:
    return (request.content_type or "").split(";")[0].strip().lower()


def _require_sender(request) -> None:
    """HL7 and FHIR over HTTP: a registered sending system's account (its API token) only."""
    if not permissions.may_send_messages(request.user):
        raise PermissionDenied("Only a registered sending system may send messages.")


def _require_csv_uploader(request) -> None:
    if not permissions.may_upload_csv(request.user):
        raise PermissionDenied("You may not submit to the intake.")


class Hl7IntakeView(APIView):
    """One HL7 v2 ADT message in the body (text/plain or application/hl7-v2); the answer is the ACK.

    Only for a registered sending system's account. 200 with MSA-1 AA (accepted, duplicate, or
    filtered: no assault code), 422 with AE (fix the content; ERR names the field), 400 with AR
    (unknown facility, unsupported message, unreadable header), 403 with AR when MSH-4 is not one
    of the sender's facilities (kept as rejected, no admission), 403 for anyone who is not a
    sending system (nothing stored), 415 for another content type.
    """

    @extend_schema(
        request={"application/hl7-v2": OpenApiTypes.STR},
        responses={(200, "application/hl7-v2"): OpenApiTypes.STR},
    )
    def post(self, request):
        _require_sender(request)
        if _media_type(request) not in HL7_TYPES:
            return HttpResponse(
                f"Send the message as one of: {', '.join(sorted(HL7_TYPES))}.",
                status=415,
                content_type="text/plain",
            )
        answer = receive.inbound_receive_hl7(
            raw=request.body, channel=Channel.HL7_HTTP, actor=request.user, authorise=True
        )
        return HttpResponse(
            answer.body,
            status=403 if answer.forbidden else HTTP_FOR_ACK.get(answer.code, 400),
            content_type="application/hl7-v2; charset=utf-8",
        )


class FhirIntakeView(APIView):
    """A FHIR R4 Bundle (Patient, Encounter class EMER, Condition, Organization, Observation).

    Only for a registered sending system's account. 202 with an informational OperationOutcome
    (accepted; processed shortly), 200 for a duplicate bundle (same answer), 422/400 with an
    OperationOutcome whose ``expression`` names the element (e.g. ``Encounter.period.start``),
    403 with an OperationOutcome (``forbidden``) when the serviceProvider is not one of the
    sender's facilities (kept as rejected, no admission).
    """

    @extend_schema(
        request={"application/fhir+json": OpenApiTypes.OBJECT}, responses={202: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        _require_sender(request)
        if _media_type(request) not in FHIR_TYPES:
            return Response({"detail": "Send application/fhir+json."}, status=415)
        answer = receive.inbound_receive_fhir(body=request.body, actor=request.user)
        body = json.loads(answer.body)
        body.pop("code", None)
        code = 200 if answer.duplicate and answer.code == "AA" else {"AA": 202}.get(answer.code)
        code = 403 if answer.forbidden else code or HTTP_FOR_ACK.get(answer.code, 400)
        return HttpResponse(json.dumps(body), status=code, content_type="application/fhir+json")


class CsvIntakeView(APIView):
    """A CSV file (multipart field ``file``, or a text/csv body); the columns are in docs/intake.md.

    For a sending system (its facilities), an EC clerk (the facilities granted) or an admin; a row
    for another facility is listed as a problem. 201 with the per-row report when at least one row
    was kept; 422 with the report when none could be; 200 with the first report when the same file
    was uploaded before.
    """

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        _require_csv_uploader(request)
        if _media_type(request) == "text/csv":
            text, name = request.body.decode("utf-8-sig", errors="replace"), "upload.csv"
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise InvalidInput({"file": "Attach the CSV file as 'file'."})
            text, name = upload.read().decode("utf-8-sig", errors="replace"), upload.name
        answer = receive.inbound_receive_csv(text=text, actor=request.user, filename=name)
        code = 200 if answer.duplicate else (201 if answer.code == "AA" else 422)
        return Response(
            {
                "message": answer.message.pk if answer.message else None,
                "duplicate": answer.duplicate,
                **answer.extra["report"],
            },
            status=code,
        )


class AdmissionPagination(CursorPagination):
    ordering = "-id"  # no COUNT(*): the admissions table is big
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema(
    parameters=[
        OpenApiParameter("facility", str),
        OpenApiParameter("mechanism", str),
        OpenApiParameter("pseudonym", str),
        OpenApiParameter("since", str),
    ]
)
class AdmissionViewSet(viewsets.ReadOnlyModelViewSet):
    """Admissions, de-identified. The detail adds ``identity`` for the roles allowed to see it
    (health_capture of the facility, admin); every such read is audited (``?purpose=`` says why)."""

    serializer_class = AdmissionOutput
    pagination_class = AdmissionPagination

    def get_queryset(self):
        p = self.request.query_params
        user = self.request.user
        if p.get("pseudonym") and not permissions.may_use_pseudonym_filter(user):
            # The pseudonym is withheld from de-identified readers; so is finding a person by it.
            raise InvalidInput({"pseudonym": "You may not filter by pseudonym."})
        qs = selectors.admission_list_for_user(
            user,
            facility=p.get("facility", ""),
            mechanism=p.get("mechanism", ""),
            pseudonym=p.get("pseudonym", ""),
        )
        return selectors.with_prior_visits(qs) if permissions.sees_repeat_visits(user) else qs

    def retrieve(self, request, *args, **kwargs):
        admission = self.get_object()
        data = AdmissionOutput(admission, context=self.get_serializer_context()).data
        if permissions.may_read_identity(request.user, admission):
            purpose = request.query_params.get("purpose", "") or f"API {request.path}"
            identity = services.identity_read(admission=admission, actor=request.user, purpose=purpose)
            data["identity"] = IdentityOutput(identity).data if identity else None
        return Response(data)


class ReferralViewSet(TransitionsMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Referrals to SAPS. ``POST {"admission": id}`` refers an admission to the station whose
    precinct holds the suburb of injury. Transitions: send, acknowledge, open_case (police_case),
    decline (reason), reopen."""

    output_serializer_class = ReferralOutput
    serializer_class = ReferralOutput

    def get_queryset(self):
        p = self.request.query_params
        return selectors.referral_list_for_user(
            self.request.user, state=p.get("state", ""), station=p.get("station", "")
        )

    @extend_schema(request=ReferralInput, responses={201: ReferralOutput})
    def create(self, request, *args, **kwargs):
        data = ReferralInput(data=request.data)
        data.is_valid(raise_exception=True)
        admission = (
            selectors.admission_list_for_user(request.user)
            .filter(pk=data.validated_data["admission"])
            .first()
        )
        if admission is None:
            raise InvalidInput({"admission": "No such admission."})
        referral = services.referral_create(admission=admission, actor=request.user)
        return Response(
            ReferralOutput(referral, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class DeadLetterViewSet(viewsets.ReadOnlyModelViewSet):
    """Failed and rejected messages (admin only). ``POST {id}/replay/`` with an optional corrected
    ``raw`` puts one back into processing; its raw text is read through the audit."""

    serializer_class = DeadLetterOutput

    def get_queryset(self):
        return selectors.dead_letter_list_for_user(
            self.request.user, status=self.request.query_params.get("status", "")
        )

    def retrieve(self, request, *args, **kwargs):
        message = self.get_object()
        data = DeadLetterOutput(message).data
        data["raw"] = services.raw_message_read(
            message=message, actor=request.user, purpose=f"API {request.path}"
        )
        return Response(data)

    @extend_schema(request=ReplayInput, responses={200: DeadLetterOutput})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        message = self.get_object()
        body = ReplayInput(data=request.data)
        body.is_valid(raise_exception=True)
        message = dead_letters.dead_letter_replay(
            message=message, actor=request.user, raw=body.validated_data.get("raw")
        )
        message.refresh_from_db()
        return Response(DeadLetterOutput(message).data)


class SubjectAccessView(APIView):
    """Everything held about one patient (POPIA s23), admins only; the request is audited.

    ``POST {"id_number": …}`` or ``{"folder_number": …, "facility": code}`` (optional ``purpose``):
    a POST so that no ID number lands in a URL or an access log. 403 for anyone else; 400 naming
    the missing field.
    """

    @extend_schema(request=SubjectAccessInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        if not permissions.may_request_subject_access(request.user):
            raise PermissionDenied("Only administrators answer subject access requests.")
        body = SubjectAccessInput(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(subject_access_report(actor=request.user, **body.validated_data))
