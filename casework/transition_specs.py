"""What the docket and prosecution machines offer: each transition's form and service.

Registered in ``casework.transitions`` at start-up (``CaseworkConfig.ready``); pages and API read
them from there. Who may: ``permissions.may_transition`` (widened by other apps' rules).
"""

from . import forms, permissions, services, transitions
from .models import PoliceCase, Prosecution


def register() -> None:
    transitions.register(
        PoliceCase,
        may=permissions.may_transition,
        steps={
            "investigate": (forms.TransitionForm, services.police_case_investigate),
            "refer_to_npa": (forms.TransitionForm, services.police_case_refer_to_npa),
            "return_for_investigation": (forms.ReasonTextForm, services.police_case_return_for_investigation),
            "decline_to_prosecute": (forms.ReasonTextForm, services.police_case_decline_to_prosecute),
            "close_undetected": (forms.OptionalReasonTextForm, services.police_case_close_undetected),
            "close_unfounded": (forms.ReasonTextForm, services.police_case_close_unfounded),
            "complainant_withdraws": (forms.ReasonTextForm, services.police_case_complainant_withdraws),
            "reopen": (forms.ReasonTextForm, services.police_case_reopen),
        },
    )
    transitions.register(
        Prosecution,
        may=permissions.may_transition,
        steps={
            "remand": (forms.RemandForm, services.prosecution_remand),
            "transfer": (forms.TransferForm, services.prosecution_transfer),
            "start_trial": (forms.NextDateForm, services.prosecution_start_trial),
            "convict": (forms.NextDateForm, services.prosecution_convict),
            "acquit": (forms.TransitionForm, services.prosecution_acquit),
            "sentence": (forms.SentenceForm, services.prosecution_sentence),
            "withdraw": (forms.RemovalForm, services.prosecution_withdraw),
            "withdraw_provisionally": (forms.RemovalForm, services.prosecution_withdraw_provisionally),
            "strike_off": (forms.RemovalForm, services.prosecution_strike_off),
            "issue_warrant": (forms.TransitionForm, services.prosecution_issue_warrant),
            "divert": (forms.DivertForm, services.prosecution_divert),
            "re_enrol": (forms.ReEnrolForm, services.prosecution_re_enrol),
        },
    )
