"""Every read of intake data done for a user starts from the access layer's visible_* querysets."""

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from casework.models import TransitionLog

from . import permissions
from .models import Admission, InboundMessage, Referral


def admission_list_for_user(
    user, *, facility: str = "", mechanism: str = "", pseudonym: str = ""
) -> QuerySet[Admission]:
    qs = permissions.visible_admissions(user).select_related("facility", "suburb", "referral__station")
    if facility:
        qs = qs.filter(facility__code=facility)
    if mechanism:
        qs = qs.filter(mechanism=mechanism)
    if pseudonym:
        qs = qs.filter(pseudonym=pseudonym)
    return qs


def with_prior_visits(qs: QuerySet[Admission]) -> QuerySet[Admission]:
    """``prior_visits``: how many earlier visits (same pseudonym, earlier arrival) the patient had —
    repeat victimisation for analysts, without the pseudonym that links the visits."""
    earlier = (
        Admission.objects.filter(pseudonym=OuterRef("pseudonym"), arrival_at__lt=OuterRef("arrival_at"))
        .exclude(pseudonym="")
        .order_by()
        .values("pseudonym")
        .annotate(n=Count("id"))
        .values("n")
    )
    return qs.annotate(prior_visits=Coalesce(Subquery(earlier), 0))


def referral_list_for_user(user, *, state: str = "", station: str = "") -> QuerySet[Referral]:
    qs = permissions.visible_referrals(user).select_related(
        "station", "admission__facility", "admission__suburb", "police_case__station"
    )
    if state:
        qs = qs.filter(state=state)
    if station:
        qs = qs.filter(station__code=station)
    return qs


def dead_letter_list_for_user(user, *, status: str = "") -> QuerySet[InboundMessage]:
    qs = permissions.visible_inbound(user).filter(status__in=InboundMessage.DEAD).defer("raw")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-received_at", "-id")


def repeat_admissions(admission: Admission, user) -> QuerySet[Admission]:
    """Other visits of the same patient (same pseudonym) that this user may see."""
    if not admission.pseudonym:
        return Admission.objects.none()
    return admission_list_for_user(user, pseudonym=admission.pseudonym).exclude(pk=admission.pk)


def referral_history(referral: Referral):
    """The referral's log, oldest first, with who did each step."""
    return TransitionLog.for_object(referral).select_related("actor").order_by("at", "id")
