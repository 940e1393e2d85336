"""What the referral machine offers: each transition's form and service.

Registered in ``casework.transitions`` at start-up (``ReferralsConfig.ready``); the queue page
and the API read them from there.
"""

from casework import transitions
from casework.forms import OptionalReasonTextForm, TransitionForm

from . import forms, permissions, services
from .models import Referral


def register() -> None:
    transitions.register(
        Referral,
        may=permissions.may_transition,
        steps={
            "send": (TransitionForm, services.referral_send),
            "acknowledge": (TransitionForm, services.referral_acknowledge),
            "open_case": (forms.OpenCaseForm, services.referral_open_case),
            "decline": (forms.DeclineForm, services.referral_decline),
            "reopen": (OptionalReasonTextForm, services.referral_reopen),
        },
    )
