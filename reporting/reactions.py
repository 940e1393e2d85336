"""How reporting reacts to casework and referrals events: note the rollup days a change touches.

Registered at start-up (``ReportingConfig.ready``). The refresh itself runs after commit, once
per transaction (``rollups.mark_days``), so a reaction never slows or breaks the write it follows.
"""

from casework.reactions import on

from . import rollups


@on("admission_recorded")
def admission_recorded(admission=None, previous_arrival_at=None, **kwargs):
    if admission is None:
        return
    days = {rollups.sast_day(admission.arrival_at)}
    if previous_arrival_at is not None:  # an A08 that moved the arrival time
        days.add(rollups.sast_day(previous_arrival_at))
    rollups.mark_days(days)


@on("incident_changed")
def incident_changed(incident=None, **kwargs):
    """Gang-relatedness is a rollup dimension and a prosecution fact: refresh both."""
    if incident is None:
        return
    arrivals = incident.admissions.values_list("arrival_at", flat=True)
    rollups.mark_days({rollups.sast_day(a) for a in arrivals})
    from casework.models import Prosecution

    rollups.mark_prosecutions(
        Prosecution.objects.filter(police_case__incidents=incident).values_list("pk", flat=True)
    )


@on("prosecution_enrolled")
def prosecution_enrolled(prosecution=None, **kwargs):
    if prosecution is not None:
        rollups.mark_prosecutions([prosecution.pk])
