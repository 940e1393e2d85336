"""The one web handler for a transition, the pages' twin of ``api.mixins.TransitionsMixin``.

Every page that takes a transition (dockets, prosecutions, briefs, reviews, referrals) posts to
``take_transition``: the same order as the API — unknown name 404, who 403, then the form's
fields, the version (``transitions.parse_version``) and the one service. Each page decides how
to show the result (redirect with a message, or the bound form again with 400).
"""

from dataclasses import dataclass

from django import forms
from django.db import transaction
from django.http import Http404

from . import labels, transitions
from .errors import DomainError, InvalidInput, NotAllowed, PermissionDenied


@dataclass
class Taken:
    """What a POST came to: ``ok``, the bound form (with the errors put on it) and the error."""

    ok: bool
    form: forms.Form
    error: DomainError | None = None


def put_on_form(form: forms.Form, exc: DomainError) -> None:
    """Put a domain error on the form: on the field it names where the form has that field."""
    if isinstance(exc, InvalidInput):
        for field, msgs in exc.errors.items():
            text = " ".join(str(m) for m in msgs)
            if field in form.fields:
                form.add_error(field, text)
            else:
                form.add_error(None, f"{field}: {text}" if field == "version" else text)
    elif isinstance(exc, NotAllowed) and "outcome" in form.fields:
        form.add_error("outcome", labels.not_allowed(exc))
    else:
        form.add_error(None, str(exc))


def transition_forms(
    obj, user, *, bound: tuple[str, forms.Form] | None = None, prefixed=False, per_object=False
) -> dict:
    """name → form for the transitions ``user`` may take on ``obj`` now (one bound with errors).

    ``per_object``: field ids carry the object's id, for pages that repeat the forms per card, so
    each label points at its own card's field (the field names, and so the POST, are unchanged)."""
    auto_id = f"id_{obj._meta.model_name}{obj.pk}_%s" if per_object else "id_%s"
    out = {}
    for spec in transitions.available(obj, user):
        if bound is not None and bound[0] == spec.name:
            out[spec.name] = bound[1]
            bound[1].auto_id = auto_id
        else:
            out[spec.name] = spec.form(prefix=spec.name if prefixed else None, auto_id=auto_id)
    return out


def take_transition(request, obj, name: str, *, prefixed=False) -> Taken:
    """Validate the POSTed form and version and call the transition's one service.

    Raises Http404 (no such transition here) and PermissionDenied (a visible object this user
    may not move: 403, as the API answers). Domain errors come back on the form.
    """
    spec = transitions.get(type(obj), name)
    if spec is None:
        raise Http404
    if not spec.may(request.user, obj, name):
        raise PermissionDenied  # who before what: the same order as the API (403 before 400/422)
    form = spec.form(request.POST, prefix=name if prefixed else None)
    if not form.is_valid():
        return Taken(False, form)
    try:
        version = transitions.parse_version(request.POST.get("version"))
        with transaction.atomic():
            spec.service(obj, actor=request.user, version=version, **form.cleaned_data)
    except PermissionDenied:
        raise
    except DomainError as exc:
        put_on_form(form, exc)
        return Taken(False, form, exc)
    return Taken(True, form)
