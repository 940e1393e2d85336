"""Step "volume": years of history at provincial scale, written in bulk.

About ``ctx.admissions_per_year`` EC admissions a year (one incident per victim or two; the
incidents' time, place and mechanism drawn as in ``casework``), and behind them the same chains of
dockets, NPA decisions and prosecutions ``casework`` walks through the services, here taken on
unsaved objects by ``writers.BulkWriter`` (the models' own transition methods, a transition-log row
per step) and inserted with ``bulk_create``. Then what the other apps' reactions would have written:
a brief per prosecution (unassigned: the demo's watchers follow the cases of ``today``), a
withdrawal review per removal from the roll (decided at the committee's monthly meeting once a month
old), the admissions and their referrals to SAPS. The reports' rollups are refreshed once, by the
last step (``rollups``). No real transition runs here: the cases people open are made by the steps
that follow, through the services.
"""

import hashlib
import hmac
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock

from django.conf import settings
from django.db import transaction

from casework import permissions as case_perms
from casework.models import Facility
from courtwatch import permissions as watch_perms
from courtwatch.models import Brief, CommitteeMeeting, WithdrawalReview
from referrals.forms import ICD10_FOR_MECHANISM
from referrals.models import Admission, Referral, age_band

from .casework import Chains
from .proportions import SAST
from .writers import BulkWriter, insert, write_logs

VICTIMS_PER_INCIDENT = 1.08  # now and then two victims of one incident reach an EC
REVIEWED_AFTER = timedelta(days=35)  # older removals were decided at a monthly committee meeting
# Where a station's victims are taken: the facilities serving its cluster (weights).
FACILITIES_BY_CLUSTER = {
    "Mitchells Plain": {"mitchells-plain-dh": 6, "mitchells-plain-chc": 3, "groote-schuur": 1},
    "Nyanga": {"heideveld-ec": 4, "gugulethu-chc": 3, "hanover-park-chc": 2, "groote-schuur": 1},
    "Khayelitsha": {"khayelitsha-dh": 6, "khayelitsha-site-b-chc": 3, "tygerberg": 1},
    "Bellville": {
        "tygerberg": 3,
        "karl-bremer": 3,
        "delft-chc": 2,
        "elsies-river-chc": 2,
        "kraaifontein-chc": 1,
    },
    "Cape Town": {
        "groote-schuur": 3,
        "victoria-wynberg": 3,
        "retreat-chc": 2,
        "new-somerset": 1,
        "false-bay": 1,
    },
    "Paarl": {"paarl": 1},
    "Worcester": {"worcester": 1},
    "Stellenbosch": {"stellenbosch": 1},
    "George": {"george": 1},
    "Beaufort West": {"beaufort-west": 1},
    "Vredenburg": {"vredenburg": 1},
}
TRIAGE = {"RED": 2, "ORANGE": 4, "YELLOW": 5, "GREEN": 2}
DISPOSITION = {"discharged": 62, "admitted": 28, "transferred": 6, "absconded": 4}
AGES = {(0, 14): 3, (15, 24): 34, (25, 34): 33, (35, 44): 17, (45, 54): 8, (55, 64): 3, (65, 85): 2}


def seed(ctx) -> None:
    if ctx.admissions_per_year <= 0:
        return
    writer = BulkWriter()
    incidents = round(ctx.admissions_per_year * ctx.years / VICTIMS_PER_INCIDENT)
    started = time.monotonic()
    Chains(ctx, writer, start=ctx.start).run(incidents)
    walked = time.monotonic()
    clock_ = Stopwatch()
    with transaction.atomic():
        writer.flush()
        clock_.lap("cases")
        briefs = _briefs(writer)
        reviews = _reviews(ctx, writer)
        clock_.lap("briefs and reviews")
        admissions = _admissions(ctx, writer)
        clock_.lap("admissions")
        referrals = _referrals(ctx, writer, admissions)
        clock_.lap("referrals")
    ctx.say(
        f"  history: {len(admissions)} admissions, {len(writer.incidents)} incidents, "
        f"{len(writer.cases)} dockets, {len(writer.prosecutions)} prosecutions, {briefs} briefs, "
        f"{reviews} withdrawal reviews, {referrals} referrals, {len(writer.logs)} transition-log rows "
        f"(chains {walked - started:.1f} s; insert: {clock_})"
    )


class Stopwatch:
    def __init__(self):
        self.last, self.laps = time.monotonic(), []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append(f"{name} {now - self.last:.1f} s")
        self.last = now

    def __str__(self):
        return ", ".join(self.laps)


# ------------------------------------------------------------------ what courtwatch's reactions write


def _briefs(writer) -> int:
    """A brief per matter, as ``courtwatch.services.brief_open``; it mirrors the next appearance."""
    briefs = [
        Brief(
            prosecution=p,
            next_appearance=p.next_appearance if p.version > 1 else p.enrolled_on,
            state_changed_at=p_enrolled_at(writer, p),
        )
        for p in writer.prosecutions
    ]
    insert(Brief, briefs)
    write_logs(
        (
            b,
            {
                "transition": "open",
                "from_state": "",
                "to_state": b.state,
                "actor": None,
                "at": b.state_changed_at,
            },
        )
        for b in briefs
    )
    return len(briefs)


def p_enrolled_at(writer, p) -> datetime:
    return datetime.combine(p.enrolled_on, clock(9, 30), SAST)


def _meeting_after(moment: datetime, meetings: dict, chair):
    """The committee's first Thursday meeting at least a week after ``moment`` (made once a date)."""
    day = moment.astimezone(SAST).date() + timedelta(days=7)
    day += timedelta(days=(3 - day.weekday()) % 7)
    if day not in meetings:
        meetings[day] = CommitteeMeeting(date=day, created_by=chair)
    return meetings[day]


def _reviews(ctx, writer) -> int:
    """A review per removal (``review_flag``); those a month old were decided at a meeting."""
    chair = ctx.accounts.get("committee.chair")
    members = list(watch_perms.committee_members())
    seen = Counter(a.pseudonym for accused in writer.accused.values() for a in accused)
    incident_of = {id(c): i for c, i in writer.links}
    meetings: dict = {}
    reviews, logs = [], []
    for p, removal, reason, at, actor in writer.removals:
        case = writer.case_of[id(p)]
        priority = _priority(p, case, incident_of[id(case)], writer, seen)
        fields = {"state_changed_at": at}
        steps = []
        if chair is not None and ctx.now - at > REVIEWED_AFTER:
            meeting = _meeting_after(at, meetings, chair)
            fields, steps = _decided(ctx, writer, p, at, meeting, chair, members)
        review = WithdrawalReview(
            prosecution=p,
            removal=removal,
            removal_reason=reason,
            flagged_at=at,
            priority_reasons=priority,
            priority_score=sum(WithdrawalReview.PRIORITY_WEIGHTS[r] for r in priority),
            **fields,
        )
        flag = {"transition": "flag", "from_state": "", "to_state": "flagged", "actor": actor, "at": at}
        logs.append((review, {**flag, "reason": reason, "data": {"removal": removal, "priority": priority}}))
        logs += [(review, step) for step in steps]
        reviews.append(review)
    CommitteeMeeting.objects.bulk_create(list(meetings.values()))
    through = CommitteeMeeting.members.through
    through.objects.bulk_create(
        [through(committeemeeting_id=m.pk, user_id=u.pk) for m in meetings.values() for u in members]
    )
    for review in reviews:
        review.meeting_id = review.meeting.pk if review.meeting else None
    insert(WithdrawalReview, reviews)
    write_logs(logs)
    return len(reviews)


def _priority(p, case, incident, writer, seen) -> list[str]:
    reasons = []
    if incident.fatal or case.offence.code == "murder":
        reasons.append(WithdrawalReview.Priority.FATAL)
    if incident.mechanism == "firearm":
        reasons.append(WithdrawalReview.Priority.FIREARM)
    if incident.gang_related:
        reasons.append(WithdrawalReview.Priority.GANG_RELATED)
    if any(seen[a.pseudonym] > 1 for a in writer.accused[id(p)]):
        reasons.append(WithdrawalReview.Priority.REPEAT_ACCUSED)
    return [str(r) for r in reasons]


def _decided(ctx, writer, p, flagged_at, meeting, chair, members) -> tuple[dict, list]:
    """Scheduled a week before the meeting, decided at it (re-enrol when the NPA later re-enrolled):
    the review's fields and the log rows of its two steps."""
    re_enrolled = writer.re_enrolments.get(id(p))
    if re_enrolled and re_enrolled > flagged_at:
        decision = WithdrawalReview.Decision.RE_ENROL
    else:
        decision = ctx.rng.choices(["uphold_withdrawal", "further_investigation"], weights=[70, 30])[0]
    scheduled = max(flagged_at, datetime.combine(meeting.date, clock(9), SAST) - timedelta(days=7))
    decided = datetime.combine(meeting.date, clock(11), SAST)
    fields = {
        "meeting": meeting,
        "state": WithdrawalReview.State.DECIDED,
        "decision": decision,
        "rationale": "Decided at the monthly meeting on the docket and the prosecutor's notes.",
        "decided_at": decided,
        "decided_by": chair,
        "state_changed_at": decided,
    }
    step = {"actor": chair}
    return fields, [
        {**step, "transition": "schedule", "from_state": "flagged", "to_state": "on_agenda",
         "at": scheduled, "reason": "meeting", "data": {"meeting_date": meeting.date.isoformat()}},
        {**step, "transition": "decide", "from_state": "on_agenda", "to_state": "decided",
         "at": decided, "reason": decision, "data": {"members_present": [m.get_username() for m in members]}},
    ]  # fmt: skip


# ------------------------------------------------------------------ admissions and referrals


def _pick(rng, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _admissions(ctx, writer) -> list:
    """One admission per victim of every incident, at a facility serving its station's cluster."""
    rng, now = ctx.rng, ctx.now
    facilities = {f.code: f for f in Facility.objects.all()}
    admissions = []
    for n, incident in enumerate(writer.incidents):
        for victim in range(2 if rng.random() < VICTIMS_PER_INCIDENT - 1 else 1):
            admissions.append(build_admission(rng, now, facilities, incident, f"H{n:07d}{victim}"))
    insert(Admission, admissions)
    return admissions


def build_admission(rng, now, facilities, incident, visit) -> Admission:
    facility = facilities[_pick(rng, FACILITIES_BY_CLUSTER[incident.suburb.station.cluster])]
    arrival = min(incident.occurred_at + timedelta(minutes=rng.randint(20, 110)), now - timedelta(minutes=5))
    low, high = _pick(rng, AGES)
    age = rng.randint(low, high)
    female = 0.55 if incident.mechanism == "sexual" else 0.14
    disposition = "died" if incident.fatal and rng.random() < 0.6 else _pick(rng, DISPOSITION)
    identifier = f"{facility.code}:{visit}"
    return Admission(
        facility=facility,
        visit_number=visit,
        arrival_at=arrival,
        injury_at=incident.occurred_at,
        age_years=age,
        age_band=age_band(age),
        sex="female" if rng.random() < female else "male",
        role="victim" if rng.random() < 0.92 else "perpetrator",
        mechanism=incident.mechanism,
        icd10_codes=["S21.1", ICD10_FOR_MECHANISM[incident.mechanism]],
        triage="RED" if incident.fatal else _pick(rng, TRIAGE),
        place_type=incident.place_type,
        suburb=incident.suburb,
        suburb_text=incident.suburb.name,
        disposition=disposition,
        police_informed=rng.random() < 0.35,
        gang_suspected=incident.gang_related and rng.random() < 0.7,
        pseudonym=hmac.new(settings.PSEUDONYM_KEY.encode(), identifier.encode(), hashlib.sha256).hexdigest(),
        incident=incident,
        event="A04",
        message_time=arrival,
    )


def _referrals(ctx, writer, admissions) -> int:
    """Most docketed incidents' first admission was referred and became the docket; a few others
    were referred and declined by the victim (``referrals`` services' states and log rows)."""
    rng, clerk, admin = ctx.rng, ctx.users["health_capture"], ctx.users["admin"]
    granted = set(case_perms.facilities_of(clerk).values_list("pk", flat=True))
    case_of = {id(i): c for c, i in writer.links}
    first = {}
    for a in admissions:
        first.setdefault(id(a.incident), a)
    referrals, logs = [], []
    for a in first.values():
        case = case_of.get(id(a.incident))
        if (case is None and rng.random() > 0.08) or (case is not None and rng.random() > 0.7):
            continue
        ec = clerk if a.facility_id in granted else admin
        sent = a.arrival_at + timedelta(hours=rng.uniform(0.5, 3))
        steps = [
            ("refer", "", "pending", ec, a.arrival_at + timedelta(minutes=20)),
            ("send", "pending", "sent", ec, sent),
        ]
        if case is None:
            fields = {
                "state": Referral.State.DECLINED,
                "decline_reason": "Victim does not want to lay a charge.",
            }
            steps.append(("decline", "sent", "declined", ec, sent + timedelta(hours=1)))
        else:
            saps = ctx.station_liaisons[case.station.code]
            acknowledged = sent + timedelta(hours=rng.randint(2, 30))
            opened = max(acknowledged, datetime.combine(case.opened_on, clock(8), SAST))
            fields = {"state": Referral.State.CASE_OPENED, "police_case": case}
            steps += [("acknowledge", "sent", "acknowledged", saps, acknowledged),
                      ("open_case", "acknowledged", "case_opened", saps, opened)]  # fmt: skip
        r = Referral(
            admission=a,
            station=a.suburb.station,
            created_by=ec,
            state_changed_at=min(steps[-1][4], ctx.now),
            **fields,
        )
        for name, source, target, actor, at in steps:
            logs.append((r, {"transition": name, "from_state": source, "to_state": target, "actor": actor,
                             "at": min(at, ctx.now)}))  # fmt: skip
        referrals.append(r)
    insert(Referral, referrals)
    write_logs(logs)
    return len(referrals)
