from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from .. import selectors, services
from ..inputs import ascii_int
from ..models import Court, Facility, Offence, Station, Suburb
from .mixins import TransitionsMixin
from .serializers import (
    CourtOutput,
    FacilityOutput,
    IncidentInput,
    IncidentOutput,
    OffenceOutput,
    PoliceCaseInput,
    PoliceCaseOutput,
    ProsecutionInput,
    ProsecutionOutput,
    StationOutput,
    SuburbOutput,
)


def int_param(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if ascii_int(value) is None:
        raise serializers.ValidationError({name: "A whole number (an id) is required."})
    return ascii_int(value)


class ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Reference data, by ``code``; readable by every signed-in user."""

    lookup_field = "code"
    pagination_class = None


class FacilityViewSet(ReferenceViewSet):
    queryset = Facility.objects.select_related("district")
    serializer_class = FacilityOutput


class StationViewSet(ReferenceViewSet):
    queryset = Station.objects.select_related("district")
    serializer_class = StationOutput


class CourtViewSet(ReferenceViewSet):
    queryset = Court.objects.select_related("district")
    serializer_class = CourtOutput


class SuburbViewSet(ReferenceViewSet):
    queryset = Suburb.objects.select_related("station")
    serializer_class = SuburbOutput


class OffenceViewSet(ReferenceViewSet):
    queryset = Offence.objects.all()
    serializer_class = OffenceOutput


class CreateWithInputMixin:
    """Create from an ``…Input`` serializer through one service, answer with the ``…Output`` one."""

    input_serializer_class = None

    def get_serializer_class(self):
        if self.action == "create":
            return self.input_serializer_class
        return self.output_serializer_class

    def create(self, request, *args, **kwargs):
        data = self.input_serializer_class(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        obj = self.perform_service(data.validated_data)
        return Response(
            self.output_serializer_class(obj, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("suburb", str), OpenApiParameter("mechanism", str)]),
    create=extend_schema(request=IncidentInput, responses={201: IncidentOutput}),
)
class IncidentViewSet(CreateWithInputMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    input_serializer_class = IncidentInput
    output_serializer_class = IncidentOutput

    def get_queryset(self):
        p = self.request.query_params
        return selectors.incident_list_for_user(
            self.request.user, suburb=p.get("suburb", ""), mechanism=p.get("mechanism", "")
        )

    def perform_service(self, data):
        return services.incident_create(actor=self.request.user, **data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="CAS number or serial"),
            OpenApiParameter("state", str),
            OpenApiParameter("station", str),
        ]
    ),
    create=extend_schema(request=PoliceCaseInput, responses={201: PoliceCaseOutput}),
)
class PoliceCaseViewSet(
    TransitionsMixin, CreateWithInputMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    input_serializer_class = PoliceCaseInput
    output_serializer_class = PoliceCaseOutput

    def get_queryset(self):
        p = self.request.query_params
        return selectors.police_case_list_for_user(
            self.request.user,
            search=p.get("search", ""),
            state=p.get("state", ""),
            station=p.get("station", ""),
        )

    def perform_service(self, data):
        return services.police_case_open(actor=self.request.user, **data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("police_case", int),
            OpenApiParameter("court", str),
            OpenApiParameter("state", str),
            OpenApiParameter("search", str),
        ]
    ),
    create=extend_schema(request=ProsecutionInput, responses={201: ProsecutionOutput}),
)
class ProsecutionViewSet(
    TransitionsMixin, CreateWithInputMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    input_serializer_class = ProsecutionInput
    output_serializer_class = ProsecutionOutput

    def get_queryset(self):
        p = self.request.query_params
        return selectors.prosecution_list_for_user(
            self.request.user,
            search=p.get("search", ""),
            state=p.get("state", ""),
            court=p.get("court", ""),
            police_case=int_param(self.request, "police_case"),
        )

    def perform_service(self, data):
        return services.prosecution_enrol(actor=self.request.user, **data)
