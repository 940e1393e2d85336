"""Transitions and history endpoints, shared by every stateful resource (dockets, prosecutions,
referrals, briefs, reviews).

The transitions, their forms, services and who may take them come from the registry
(``casework.transitions``, filled by each app at start-up); this mixin adds
``GET {id}/transitions/``, ``POST {id}/transitions/{name}/`` and ``GET {id}/history/``.
The pages' twin is ``casework.web_transitions.take_transition``.
"""

from django import forms as django_forms
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import transitions
from ..errors import InvalidInput, NotAllowed, PermissionDenied
from ..models import TransitionLog


class TransitionLogOutput(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TransitionLog
        fields = ["id", "transition", "from_state", "to_state", "actor", "at", "reason", "note", "data"]


TransitionBody = inline_serializer(
    "TransitionBody",
    fields={
        "version": serializers.IntegerField(help_text="The version you last read (optimistic lock)."),
        "reason": serializers.CharField(required=False),
        "note": serializers.CharField(required=False),
        "next_date": serializers.DateField(required=False),
    },
)


def describe_form(form_class) -> list[dict]:
    """The fields a transition takes, for clients that build their own forms."""
    out = []
    for name, field in form_class.base_fields.items():
        item = {"name": name, "required": field.required, "label": str(field.label or name)}
        choices = getattr(field, "choices", None)
        if isinstance(field, django_forms.ModelChoiceField):
            item["type"] = "code"
        elif isinstance(field, django_forms.DateField):
            item["type"] = "date"
        elif isinstance(field, django_forms.IntegerField):
            item["type"] = "integer"
        elif choices:
            item["type"] = "choice"
            item["choices"] = [c for c, _ in choices]
        else:
            item["type"] = "text"
        out.append(item)
    return out


class TransitionsMixin:
    output_serializer_class = None

    @extend_schema(
        responses=inline_serializer(
            "AvailableTransitions",
            fields={
                "state": serializers.CharField(),
                "version": serializers.IntegerField(),
                "transitions": serializers.ListField(child=serializers.DictField()),
            },
        ),
        description="Transitions this user may take from the current state, with the fields each needs.",
    )
    @action(detail=True, methods=["get"], url_path="transitions")
    def transitions(self, request, pk=None):
        obj = self.get_object()
        specs = transitions.available(obj, request.user)
        return Response(
            {
                "state": obj.state,
                "version": obj.version,
                "transitions": [{"name": s.name, "fields": describe_form(s.form)} for s in specs],
            }
        )

    @extend_schema(
        request=TransitionBody,
        responses={
            200: OpenApiResponse(description="The updated object."),
            400: OpenApiResponse(description="Not allowed from this state; `allowed` lists what is."),
            403: OpenApiResponse(description="You may not take this transition."),
            409: OpenApiResponse(description="Stale version: someone else changed the object."),
            422: OpenApiResponse(description="A missing or invalid field; `errors` names it."),
        },
        description="Take a transition. Body: `version` plus the transition's fields (see GET transitions/).",
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def take_transition(self, request, pk=None, name=None):
        self.invalid_input_status = status.HTTP_422_UNPROCESSABLE_ENTITY
        obj = self.get_object()
        spec = transitions.get(type(obj), name)
        if spec is None:
            raise NotAllowed(name, obj.state, transitions.allowed_from_state(obj))
        if not spec.may(request.user, obj, name):
            raise PermissionDenied(f"You may not take '{name}' here.")
        if not hasattr(request.data, "get"):  # [], null, 12, "x": a body that is not an object
            raise InvalidInput({"non_field_errors": 'A JSON object is required: {"version": …, …}.'})
        version = transitions.parse_version(request.data.get("version"))
        form = spec.form(data=request.data)
        if not form.is_valid():
            raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
        obj = spec.service(obj, actor=request.user, version=version, **form.cleaned_data)
        obj.refresh_from_db()
        return Response(self.output_serializer_class(obj, context=self.get_serializer_context()).data)

    @extend_schema(responses=TransitionLogOutput(many=True), description="The transition log, oldest first.")
    # Not paged (the whole log, oldest first): without pagination_class=None the schema said it was.
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, pk=None):
        obj = self.get_object()
        return Response(TransitionLogOutput(TransitionLog.for_object(obj), many=True).data)
