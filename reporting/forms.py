"""The subscriptions page's forms: parse what was posted; the services decide who may and what else."""

from django import forms
from django.utils.translation import gettext as _

from casework.inputs import ascii_int

from .models import Subscription


def _one_of(choices) -> dict:
    message = _("Use one of: %(choices)s.") % {"choices": ", ".join(choices)}
    return {"required": message, "invalid_choice": message}


class SubscribeForm(forms.Form):
    report = forms.ChoiceField(
        choices=Subscription.Report.choices, error_messages=_one_of(Subscription.Report.values)
    )
    frequency = forms.ChoiceField(
        choices=Subscription.Frequency.choices, error_messages=_one_of(Subscription.Frequency.values)
    )
    # The conviction rate's grouping (the service checks it for that report); the others keep the default.
    group_by = forms.CharField(required=False, max_length=20, strip=False)

    def clean_group_by(self) -> str:
        return self.cleaned_data["group_by"] or "court"


class CancelForm(forms.Form):
    cancel = forms.CharField(strip=False)

    def clean_cancel(self) -> int:
        return ascii_int(self.cleaned_data["cancel"]) or 0  # "abc" is no subscription: 404
