"""The stated bounds of what people and API clients may create (docs/api.md, "Plausible values").

One place for them: the forms (pages and transition bodies) and the API's input serializers take their
fields from here, so a 1 MB note, 5,000 accused or a meeting in the year 9999 is refused at the door,
naming the field, before anything is written. Django validators are used on both sides: DRF turns a
Django ``ValidationError`` raised by a field validator into a field error of its own.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

NOTE_MAX = 4_000  # a note on a transition or a hearing: a paragraph, not a document
TEXT_MAX = 8_000  # longer free text: a rationale, a sentence, feedback and its response, a gang basis
LIST_MAX = 50  # accused on one prosecution, members of one meeting
INCIDENTS_MAX = 100  # incidents linked to one docket
EARLIEST = datetime.date(1900, 1, 1)
FUTURE_YEARS = 2  # a next date or a meeting is at most this far ahead
CLOCK_SKEW = datetime.timedelta(minutes=10)  # a past fact's time may run this far ahead of ours


def latest_future() -> datetime.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + FUTURE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + FUTURE_YEARS, day=28)


def _as_date(value) -> datetime.date:
    # The time's own calendar date, not converted: a year-1 or year-9999 time would overflow converting,
    # and a day either way does not matter against bounds a century or two years away.
    return value.date() if isinstance(value, datetime.datetime) else value


def _not_before_1900(value) -> None:
    if value is not None and _as_date(value) < EARLIEST:
        raise ValidationError(_("The date is before 1900."), code="implausible")


def future_facing(value) -> None:
    """A date that may lie ahead (a next date, a meeting): 1900-01-01 to two years from today."""
    _not_before_1900(value)
    if value is not None and _as_date(value) > latest_future():
        raise ValidationError(
            _("The date is more than %(years)s years ahead.") % {"years": FUTURE_YEARS}, code="implausible"
        )


def past_fact(value) -> None:
    """A date or time something happened (an incident, a docket opened, an enrolment): 1900 to now."""
    _not_before_1900(value)
    if value is None:
        return
    today = timezone.localdate()
    if _as_date(value) > today + datetime.timedelta(days=1):
        future = True  # decided on the date: comparing a year-9999 time with now could overflow
    elif isinstance(value, datetime.datetime):
        future = value > timezone.now() + CLOCK_SKEW if timezone.is_aware(value) else False
    else:
        future = value > today
    if future:
        raise ValidationError(_("The date is in the future."), code="implausible")


def column_max(model, name: str, default: int = TEXT_MAX) -> int:
    """The column's length for a varchar, the stated maximum for free text."""
    return model._meta.get_field(name).max_length or default


def max_items(limit: int):
    """A validator for a list: at most ``limit`` items."""

    def check(value) -> None:
        if value is not None and len(value) > limit:
            raise ValidationError(
                _("At most %(limit)s items (%(count)s given).") % {"limit": limit, "count": len(value)},
                code="too_many",
            )

    return check


# ---------------------------------------------------------------- API fields


def api_text(max_length: int = TEXT_MAX, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, **kwargs)


def api_note(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=NOTE_MAX, **kwargs)


def api_future_date(**kwargs) -> serializers.DateField:
    return serializers.DateField(validators=[future_facing], **kwargs)


def api_past_date(**kwargs) -> serializers.DateField:
    return serializers.DateField(validators=[past_fact], **kwargs)


def api_past_datetime(**kwargs) -> serializers.DateTimeField:
    return serializers.DateTimeField(validators=[past_fact], **kwargs)


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """A list of related objects counted before any is looked up: 5,000 ids cost no 5,000 queries."""

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list | tuple):
            max_items(self.limit)(data)
        return super().to_internal_value(data)


class BoundedManyRelatedFieldSchema(OpenApiSerializerFieldExtension):
    """The bound in the OpenAPI schema too (``maxItems``), so clients and the fuzzer know it."""

    target_class = BoundedManyRelatedField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "maxItems": self.target.limit}


def api_many(child: serializers.RelatedField, *, limit: int = LIST_MAX, **kwargs) -> BoundedManyRelatedField:
    return BoundedManyRelatedField(child_relation=child, limit=limit, **kwargs)


# ---------------------------------------------------------------- form fields


def form_note(**kwargs) -> forms.CharField:
    kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
    return forms.CharField(max_length=NOTE_MAX, **kwargs)


def form_text(max_length: int = TEXT_MAX, **kwargs) -> forms.CharField:
    return forms.CharField(max_length=max_length, **kwargs)


def form_future_date(**kwargs) -> forms.DateField:
    return forms.DateField(validators=[future_facing], **kwargs)


def form_past_date(**kwargs) -> forms.DateField:
    return forms.DateField(validators=[past_fact], **kwargs)


class BoundedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Counted before the lookup, like the API's ``BoundedManyRelatedField``."""

    def __init__(self, *args, limit: int = LIST_MAX, **kwargs):
        self.limit = limit
        super().__init__(*args, **kwargs)

    def clean(self, value):
        if isinstance(value, list | tuple):
            max_items(self.limit)(value)
        return super().clean(value)
