"""Re-enrolment: matters put back on the roll in a period, and where they stand now."""

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, Subquery

from casework.models import Prosecution, TransitionLog

from ..periods import Period
from .removals import prosecution_type


def re_enrolments(period: Period):
    """(prosecution id, after a committee review, state now) of each ``re_enrol`` log row in the
    period; one query."""
    return (
        TransitionLog.objects.filter(
            content_type=prosecution_type(), transition="re_enrol", at__gte=period.start, at__lt=period.end
        )
        .annotate(
            after_review=ExpressionWrapper(Q(data__has_key="review"), output_field=BooleanField()),
            state_now=Subquery(Prosecution.objects.filter(pk=OuterRef("object_id")).values("state")[:1]),
        )
        .values_list("object_id", "after_review", "state_now")
    )
