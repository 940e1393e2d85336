"""Input forms for transitions: the one description of each transition's fields.

The web case page renders them and the API validates ``POST …/transitions/{name}/`` with them,
so a field required on the phone is required over the API too. Which transition takes which form
is registered in ``transition_specs.py``.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import plausible
from .models import Court, PostponementReason, RemovalReason


class DateInput(forms.DateInput):
    input_type = "date"


class TransitionForm(forms.Form):
    note = plausible.form_note(label=_("Note"), required=False)


class ReasonTextForm(TransitionForm):
    reason = forms.CharField(label=_("Reason"), max_length=60)


class OptionalReasonTextForm(TransitionForm):
    reason = forms.CharField(label=_("Reason"), max_length=60, required=False)


class RemandForm(TransitionForm):
    reason = forms.ChoiceField(label=_("Postponement reason"), choices=PostponementReason.choices)
    next_date = plausible.form_future_date(label=_("Next date"), widget=DateInput)


class TransferForm(TransitionForm):
    court = forms.ModelChoiceField(label=_("New court"), queryset=Court.objects.all(), to_field_name="code")
    next_date = plausible.form_future_date(label=_("Next date"), widget=DateInput, required=False)


class NextDateForm(TransitionForm):
    next_date = plausible.form_future_date(label=_("Next date"), widget=DateInput, required=False)


class SentenceForm(TransitionForm):
    sentence = plausible.form_text(label=_("Sentence"), widget=forms.Textarea(attrs={"rows": 2}))


class RemovalForm(TransitionForm):
    reason = forms.ChoiceField(label=_("Reason"), choices=RemovalReason.choices)


class DivertForm(TransitionForm):
    programme = forms.CharField(label=_("Programme"), max_length=200)


class ReEnrolForm(TransitionForm):
    reason = forms.CharField(label=_("Reason"), max_length=60)
    review = forms.IntegerField(label=_("Withdrawal review"), required=False, min_value=1)
    next_date = plausible.form_future_date(label=_("Next date"), widget=DateInput, required=False)
