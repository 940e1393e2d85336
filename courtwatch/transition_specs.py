"""What the brief and review machines offer: each transition's form and service.

Registered in ``casework.transitions`` at start-up (``CourtwatchConfig.ready``); the pages and
the API read them from there.
"""

from casework import transitions
from casework.forms import TransitionForm

from . import forms, services
from . import permissions as perms
from .models import Brief, WithdrawalReview


def register() -> None:
    transitions.register(
        Brief,
        may=perms.may_transition_brief,
        steps={
            "assign": (forms.AssignForm, services.brief_assign),
            "start_monitoring": (TransitionForm, services.brief_start_monitoring),
            "close": (TransitionForm, services.brief_close),
            "reopen": (TransitionForm, services.brief_reopen),
        },
    )
    transitions.register(
        WithdrawalReview,
        may=perms.may_transition_review,
        steps={
            "schedule": (forms.ScheduleForm, services.review_schedule),
            "decide": (forms.DecideForm, services.review_decide),
            "close": (TransitionForm, services.review_close),
        },
    )
