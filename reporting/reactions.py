"""How reporting reacts to casework and referrals events: note the rollup days and prosecution facts a
change touches.

Registered at start-up (``ReportingConfig.ready``). The refresh itself runs after commit, once
per transaction (``reporting.refresh``), so a reaction never slows or breaks the write it follows.
"""

from casework.models import PoliceCase, Prosecution
from casework.reactions import on
from referrals.models import Referral

from . import refresh
from .measures.removals import REMOVAL_LOG_TRANSITIONS
from .measures.touched import incident_days, outcome_days
from .periods import sast_day


@on("admission_recorded")
def admission_recorded(admission=None, previous_arrival_at=None, arrivals=(), **kwargs):
    """One admission, or a batch of them by their arrival times (``arrivals``: only the days matter)."""
    days = {sast_day(a) for a in arrivals}
    if admission is not None:
        days.add(sast_day(admission.arrival_at))
    if previous_arrival_at is not None:  # an A08 that moved the arrival time
        days.add(sast_day(previous_arrival_at))
    refresh.mark_days(days)


@on("incident_changed")
def incident_changed(incident=None, **kwargs):
    """Gang-relatedness is a rollup dimension and a prosecution fact: refresh both; a new incident is
    counted in the funnel of the day it occurred."""
    if incident is None:
        return
    arrivals = incident.admissions.values_list("arrival_at", flat=True)
    refresh.mark_days({sast_day(a) for a in arrivals})
    refresh.mark_funnel_days(incident_days([incident.pk]))
    refresh.mark_prosecutions(
        Prosecution.objects.filter(police_case__incidents=incident).values_list("pk", flat=True)
    )


@on("police_case_opened")
def police_case_opened(police_case=None, **kwargs):
    """A docket opened moves its incidents a step down the funnel and out of "unknown to police"."""
    if police_case is not None:
        incidents = police_case.incidents.values_list("pk", flat=True)
        refresh.mark_funnel_days(incident_days(incidents))


@on("prosecution_enrolled")
def prosecution_enrolled(prosecution=None, **kwargs):
    if prosecution is not None:
        refresh.mark_prosecutions([prosecution.pk])
        incidents = prosecution.police_case.incidents.values_list("pk", flat=True)
        refresh.mark_funnel_days(incident_days(incidents))


def _incidents_of(obj):
    """The incidents whose funnel a docket, prosecution or referral step moves (None: not one of them)."""
    if isinstance(obj, Prosecution):
        return obj.police_case.incidents.values_list("pk", flat=True)
    if isinstance(obj, PoliceCase):
        return obj.incidents.values_list("pk", flat=True)
    if isinstance(obj, Referral):
        return [obj.admission.incident_id] if obj.admission.incident_id else []
    return None


@on("transition")
def transition(obj=None, name=None, **kwargs):
    """A removal from the roll is a row of the removals report (``RemovalFacts``); any step of a docket,
    prosecution or referral moves its incidents through the attrition funnel: refresh after commit."""
    if isinstance(obj, Prosecution):
        if name in REMOVAL_LOG_TRANSITIONS:
            refresh.mark_prosecutions([obj.pk])
        # The conviction-rate outcome of the days it is or was counted on.
        refresh.mark_outcome_days(outcome_days([obj.pk]))
    incidents = _incidents_of(obj)
    if incidents is not None:
        refresh.mark_funnel_days(incident_days(incidents))
