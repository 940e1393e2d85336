"""Referrals in words: what each action is called on the pages and what a referral's state means,
with its station (never "Referred to X" while it still waits to be sent)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Referral

ACTION_WORDS = {
    "refer": gettext_lazy("Referral made"),
    "send": gettext_lazy("Send to the station"),
    "acknowledge": gettext_lazy("Acknowledge: we have it"),
    "open_case": gettext_lazy("Open docket"),
    "decline": gettext_lazy("Decline: no charge laid"),
    "reopen": gettext_lazy("Reopen"),
}


# What each step was, for the referral's history.
DONE_WORDS = {
    "refer": gettext_lazy("Referral made"),
    "send": gettext_lazy("Sent to the station"),
    "acknowledge": gettext_lazy("Acknowledged by the station"),
    "open_case": gettext_lazy("Docket opened and linked"),
    "decline": gettext_lazy("Declined"),
    "reopen": gettext_lazy("Reopened"),
}


def done_words(name: str) -> str:
    return str(DONE_WORDS.get(name, name.replace("_", " ").capitalize()))


def action_words(name: str) -> str:
    return str(ACTION_WORDS.get(name, name.replace("_", " ").capitalize()))


def state_words(referral: Referral) -> str:
    State, station = Referral.State, referral.station
    if referral.state == State.PENDING:
        return _("Not sent yet: %(station)s does not know of it") % {"station": station}
    if referral.state == State.SENT:
        return _("Sent to SAPS %(station)s, waiting for the station to acknowledge") % {"station": station}
    if referral.state == State.ACKNOWLEDGED:
        return _("Acknowledged by SAPS %(station)s; no docket yet") % {"station": station}
    if referral.state == State.CASE_OPENED:
        cas = referral.police_case.cas_number if referral.police_case_id else ""
        return _("Docket CAS %(cas)s opened at SAPS %(station)s") % {"cas": cas, "station": station}
    return _("Declined: %(why)s") % {"why": referral.decline_reason or _("no reason given")}
