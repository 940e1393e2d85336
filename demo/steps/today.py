"""Step "today": what is waiting for each role on the day the demo is opened, all through the services.

- Court watchers: at each of their courts (``WATCHER_COURTS``), matters on today's roll and on the
  roll later this week, walked from the incident through a docket, the NPA's enrolment and the
  watcher's own hearings (``courtwatch.services.hearing_record``), each remand setting the next date;
  and a matter the watcher saw withdrawn in the last weeks, whose withdrawal review is flagged.
- SAPS liaisons: referrals sent by the EC in the last day, waiting for each liaison to acknowledge.
The committee's upcoming meeting and its agenda are called by ``courtwatch``, which runs next.
Today's roll is today even at a weekend, so that every home page has something the day it is opened.
"""

from datetime import datetime, time, timedelta

from django.db import transaction

from casework import permissions as case_perms
from casework import services
from casework.models import Court, Facility, Offence, Suburb
from casework.reference_data import GANG_AFFECTED_SUBURBS, STATION_COURTS
from courtwatch import services as watch
from courtwatch.models import Brief
from referrals import permissions as referral_perms
from referrals import services as referral_services

from .casework import Chains
from .proportions import GANG_BASES, POSTPONEMENTS, SAST, WITHDRAWAL_REASONS_GANG
from .volume import build_admission
from .writers import ServiceWriter

# The district courts each demo watcher covers (docs/demo.md).
WATCHER_COURTS = {
    "watcher.thandi": ("mitchells-plain-district", "khayelitsha-district"),
    "watcher.pieter": ("athlone-district", "wynberg-district", "bellville-district"),
}
# Per court: days from today of the next appearance of each matter on the roll; None: withdrawn lately.
ROLL = (0, 0, 0, 2, None)
WAITING_PER_LIAISON = 3


def seed(ctx) -> None:
    supervisor = ctx.users.get("court_watch_supervisor")
    chains = Chains(ctx, ServiceWriter(), start=ctx.now - timedelta(days=200))
    on_roll = withdrawn = 0
    for username, codes in WATCHER_COURTS.items():
        watcher = ctx.accounts.get(username)
        if watcher is None or supervisor is None:
            continue
        for court in Court.objects.filter(code__in=codes).order_by("code"):
            with transaction.atomic():
                for days in ROLL:
                    _roll_matter(ctx, chains, court, watcher, supervisor, days)
                    on_roll += days is not None
                    withdrawn += days is None
    ctx.say(f"  {on_roll} matters on the watchers' roll this week, {withdrawn} withdrawn lately")
    with transaction.atomic():
        waiting = _waiting_referrals(ctx, chains)
    ctx.say(f"  {waiting} referrals waiting for SAPS to acknowledge")


def _suburbs_of(court) -> list:
    stations = [code for code, (district, _) in STATION_COURTS.items() if district == court.code]
    return list(Suburb.objects.filter(station__code__in=stations).select_related("station").order_by("code"))


def _roll_matter(ctx, chains, court, watcher, supervisor, days) -> None:
    """An incident months ago, its docket, enrolment and the watcher's hearings up to the next date."""
    rng, today = ctx.rng, ctx.now.astimezone(SAST).date()
    suburb = rng.choice(_suburbs_of(court))
    gang = suburb.code in GANG_AFFECTED_SUBURBS and rng.random() < 0.6
    occurred = datetime.combine(
        today - timedelta(days=rng.randint(80, 160)), time(rng.choice([20, 21, 22, 23])), SAST
    )
    incident = services.incident_create(
        actor=ctx.users["health_capture"],
        occurred_at=occurred,
        suburb=suburb,
        mechanism="firearm" if gang else rng.choice(["sharp", "sharp", "firearm", "blunt"]),
        gang_related=gang,
        gang_basis=rng.choice(GANG_BASES) if gang else "",
        place_type="street",
        at=occurred + timedelta(hours=1),
    )
    saps = ctx.station_liaisons[suburb.station.code]
    opened = occurred + timedelta(hours=3)
    case = services.police_case_open(
        actor=saps,
        station=suburb.station,
        cas_number=chains._cas_number(suburb.station, opened.astimezone(SAST).date()),
        offence=Offence.objects.get(
            code="attempted_murder" if incident.mechanism == "firearm" else "assault_gbh"
        ),
        opened_on=opened.astimezone(SAST).date(),
        incidents=[incident],
        at=opened,
    )
    t = chains._later(opened, 1, 3)
    case = services.police_case_investigate(case, actor=saps, version=case.version, at=t)
    t = chains._later(t, 10, 30)
    case = services.police_case_refer_to_npa(case, actor=saps, version=case.version, at=t)
    enrolled = chains._court_day(t + timedelta(days=rng.randint(2, 8)))
    npa = ctx.court_liaisons[court.code]
    p = services.prosecution_enrol(
        actor=npa,
        police_case=case,
        court=court,
        case_number=chains._case_number(court, enrolled.astimezone(SAST).date()),
        enrolled_on=enrolled.astimezone(SAST).date(),
        accused=chains._accused(gang, gang, case.offence.code),
        at=enrolled,
    )
    brief = Brief.objects.get(prosecution=p)
    watch.brief_assign(
        brief, actor=supervisor, version=None, officer=watcher, at=enrolled + timedelta(hours=1)
    )
    _hearings(ctx, chains, p, watcher, today, days)
    ctx.prosecutions.append(p)


def _hearings(ctx, chains, p, watcher, today, days) -> None:
    """The watcher's hearings from the first appearance on; the last sets the next date ``days`` from
    today, or (``days`` None) the matter is withdrawn at a hearing in the last three weeks."""
    rng = ctx.rng
    held = p.enrolled_on
    end = today - timedelta(days=rng.randint(2, 20)) if days is None else today
    kind = "first_appearance"
    while True:
        following = held + timedelta(days=rng.randint(28, 56))
        last = following >= end
        if last and days is None:
            watch.hearing_record(
                actor=watcher,
                prosecution=p,
                held_on=held,
                kind=kind,
                outcome="withdrawn",
                reason=chains._pick(WITHDRAWAL_REASONS_GANG),
                note="The State withdrew: witnesses did not come to court.",
            )
            return
        next_date = today + timedelta(days=days) if last else following
        watch.hearing_record(
            actor=watcher,
            prosecution=p,
            held_on=held,
            kind=kind,
            outcome="postponed",
            reason=chains._pick(POSTPONEMENTS),
            next_date=next_date,
        )
        if last:
            return
        held, kind = following, "remand"


def _waiting_referrals(ctx, chains) -> int:
    """For each SAPS liaison, injuries in three of their precincts in the last day, referred by the EC."""
    clerk, admin, rng = ctx.users["health_capture"], ctx.users["admin"], ctx.rng
    facilities = {f.code: f for f in Facility.objects.all()}
    liaisons = sorted({u for u in ctx.station_liaisons.values()}, key=lambda u: u.username)
    made = 0
    for n, liaison in enumerate(liaisons):
        stations = list(case_perms.stations_of(liaison).order_by("code"))[:WAITING_PER_LIAISON]
        for k, station in enumerate(stations):
            suburb = rng.choice(list(station.suburbs.order_by("code")))
            occurred = ctx.now - timedelta(hours=rng.uniform(4, 30))
            incident = services.incident_create(
                actor=clerk,
                occurred_at=occurred,
                suburb=suburb,
                mechanism=rng.choice(["firearm", "sharp", "sharp", "blunt"]),
                place_type="street",
                at=occurred + timedelta(minutes=50),
            )
            admission = build_admission(
                rng, ctx.now, facilities, incident, f"W{n:02d}{k:02d}{ctx.now:%y%m%d%H%M%S%f}"
            )
            admission.save()
            ec = clerk if referral_perms.may_refer(clerk, admission) else admin
            referral = referral_services.referral_create(admission=admission, actor=ec)
            sent = min(admission.arrival_at + timedelta(hours=1), ctx.now)
            referral_services.referral_send(referral, actor=ec, version=referral.version, at=sent)
            made += 1
    return made
