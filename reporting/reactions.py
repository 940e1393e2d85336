"""How reporting reacts to casework and referrals events: note the rollup days and prosecution facts a
change touches.

Registered at start-up (``ReportingConfig.ready``). The refresh itself runs after commit, once
per transaction (``rollups.mark_days``, ``mark_funnel_days``, ``mark_prosecutions``), so a reaction never
slows or breaks the write it follows.
"""

from casework.reactions import on

from . import rollups


@on("admission_recorded")
def admission_recorded(admission=None, previous_arrival_at=None, arrivals=(), **kwargs):
    """One admission, or a batch of them by their arrival times (``arrivals``: only the days matter)."""
    days = {rollups.sast_day(a) for a in arrivals}
    if admission is not None:
        days.add(rollups.sast_day(admission.arrival_at))
    if previous_arrival_at is not None:  # an A08 that moved the arrival time
        days.add(rollups.sast_day(previous_arrival_at))
    rollups.mark_days(days)


@on("incident_changed")
def incident_changed(incident=None, **kwargs):
    """Gang-relatedness is a rollup dimension and a prosecution fact: refresh both; a new incident is
    counted in the funnel of the day it occurred."""
    if incident is None:
        return
    arrivals = incident.admissions.values_list("arrival_at", flat=True)
    rollups.mark_days({rollups.sast_day(a) for a in arrivals})
    rollups.mark_funnel_days(rollups.incident_days([incident.pk]))
    from casework.models import Prosecution

    rollups.mark_prosecutions(
        Prosecution.objects.filter(police_case__incidents=incident).values_list("pk", flat=True)
    )


@on("police_case_opened")
def police_case_opened(police_case=None, **kwargs):
    """A docket opened moves its incidents a step down the funnel and out of "unknown to police"."""
    if police_case is not None:
        incidents = police_case.incidents.values_list("pk", flat=True)
        rollups.mark_funnel_days(rollups.incident_days(incidents))


@on("prosecution_enrolled")
def prosecution_enrolled(prosecution=None, **kwargs):
    if prosecution is not None:
        rollups.mark_prosecutions([prosecution.pk])
        incidents = prosecution.police_case.incidents.values_list("pk", flat=True)
        rollups.mark_funnel_days(rollups.incident_days(incidents))


@on("transition")
def transition(obj=None, name=None, **kwargs):
    """A removal from the roll is a row of the removals report (``RemovalFacts``); any step of a docket,
    prosecution or referral moves its incidents through the attrition funnel: refresh after commit."""
    from casework.models import PoliceCase, Prosecution
    from referrals.models import Referral

    from .selectors import REMOVAL_LOG_TRANSITIONS

    if isinstance(obj, Prosecution) and name in REMOVAL_LOG_TRANSITIONS:
        rollups.mark_prosecutions([obj.pk])
    # The funnel (and "unknown to police") of the incidents the object belongs to; for a prosecution,
    # also the conviction-rate outcome of the days it is or was counted on.
    if isinstance(obj, Prosecution):
        rollups.mark_outcome_days(rollups.outcome_days([obj.pk]))
        incidents = obj.police_case.incidents.values_list("pk", flat=True)
    elif isinstance(obj, PoliceCase):
        incidents = obj.incidents.values_list("pk", flat=True)
    elif isinstance(obj, Referral):
        incidents = [obj.admission.incident_id] if obj.admission.incident_id else []
    else:
        return
    rollups.mark_funnel_days(rollups.incident_days(incidents))
