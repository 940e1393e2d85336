"""Step "casework": incidents, SAPS dockets and NPA prosecutions over the last years.

Every record is made and moved through ``casework.services`` with a demo user as actor and a
backdated ``at=``, a few incidents' chains to a transaction, so the transition log, the reactions of
other apps and the reports see a believable history. A chain stops where its next event would fall
after now: recent matters are still open, with a next court date in the future. The proportions
drawn from are in ``proportions``.
"""

import contextlib
import hashlib
import hmac
import re
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction

from casework.models import Court, Offence, PoliceCase, Prosecution, Suburb
from casework.reference_data import GANG_AFFECTED_SUBURBS, HIGH_COURT, STATION_COURTS

from .proportions import (
    DECLINE_REASONS,
    DIVERSION_PROGRAMMES,
    DOCKET_FATE,
    DOCKET_SHARE,
    FATAL_SHARE,
    FIRST_NAMES,
    GANG_BASES,
    HIGH_VIOLENCE_STATIONS,
    HOUR_WEIGHT,
    MAX_SEASON,
    MECHANISMS_ELSEWHERE,
    MECHANISMS_GANG_AREA,
    NPA_DECISION,
    OUTCOMES,
    PLACES,
    POSTPONEMENTS,
    PROVISIONAL_REASONS,
    RE_ENROL_SHARE,
    RETURN_REASONS,
    SAST,
    SENTENCES,
    SERIOUS,
    STRIKE_OFF_REASONS,
    SURNAMES,
    WEEKDAY_WEIGHT,
    WITHDRAWAL_REASONS,
    WITHDRAWAL_REASONS_GANG,
    season,
)
from .writers import ServiceWriter

CHAINS_PER_TRANSACTION = 20
CASE_NUMBER_RE = re.compile(r"^(A|RC|CC) (\d+)/(\d{4})$")


def seed(ctx) -> None:
    """The service-made cases: ``ctx.size`` incidents over the last ``ctx.recent_days`` days."""
    Chains(ctx, ServiceWriter(), start=ctx.now - timedelta(days=ctx.recent_days)).run(ctx.size)


class Stop(Exception):
    """The chain's next event would lie in the future: leave the matter where it is."""


class Chains:
    def __init__(self, ctx, writer, *, start: datetime):
        self.ctx = ctx
        self.rng = ctx.rng
        self.do = writer
        self.start = start
        self.clerk = ctx.users["health_capture"]
        # The shipped places only: the demo knows their liaisons and courts (admins may add others).
        self.suburbs = [
            s for s in Suburb.objects.select_related("station__district") if s.station.code in STATION_COURTS
        ]
        self.offences = {o.code: o for o in Offence.objects.all()}
        self.courts = {c.code: c for c in Court.objects.all()}
        self.courts_by_id = {c.pk: c for c in self.courts.values()}
        self.suburb_weights = [self._suburb_weight(s) for s in self.suburbs]
        self.cas_serials = self._existing_cas_serials()
        self.case_numbers = self._existing_case_numbers()
        self.accused_pool: list[dict] = []

    # ------------------------------------------------------------------ the run

    def run(self, count: int) -> None:
        specs = sorted((self._incident_spec() for _ in range(count)), key=lambda s: s["occurred_at"])
        total = len(specs)
        label = "history" if self.do.bulk else "casework"
        step = 2000 if self.do.bulk else CHAINS_PER_TRANSACTION
        for first in range(0, total, step):
            # A few chains per transaction: one commit (an fsync on SQLite) per chain would dominate.
            with contextlib.nullcontext() if self.do.bulk else transaction.atomic():
                for spec in specs[first : first + step]:
                    self._chain(spec)
            self.ctx.progress(label, min(first + step, total), total)
        if self.do.bulk:
            return
        removed = sum(1 for p in self.ctx.prosecutions if p.state in Prosecution.REMOVED_STATES)
        self.ctx.say(
            f"  {len(self.ctx.incidents)} incidents, {len(self.ctx.police_cases)} dockets, "
            f"{len(self.ctx.prosecutions)} prosecutions ({removed} currently withdrawn or struck off)"
        )

    def _keep(self, kind: str, obj) -> None:
        """The service-made cases, for the steps that follow (bulk ones are in the writer)."""
        if not self.do.bulk:
            getattr(self.ctx, kind).append(obj)

    def _chain(self, spec: dict) -> None:
        incident = self.do.incident(
            actor=self.clerk,
            occurred_at=spec["occurred_at"],
            suburb=spec["suburb"],
            mechanism=spec["mechanism"],
            fatal=spec["fatal"],
            gang_related=spec["gang_related"],
            place_type=spec["place_type"],
            gang_basis=self.rng.choice(GANG_BASES) if spec["gang_related"] else "",
            at=self._not_after_now(spec["occurred_at"] + timedelta(minutes=self.rng.randint(25, 180))),
        )
        self._keep("incidents", incident)
        if self.rng.random() >= self._docket_share(spec):
            return
        with contextlib.suppress(Stop):  # a docket's next step lies after now: it stays where it is
            self._docket(incident, spec)

    # ------------------------------------------------------------------ incidents

    def _suburb_weight(self, suburb) -> float:
        if suburb.code in GANG_AFFECTED_SUBURBS:
            return 6.0
        if suburb.station.code in HIGH_VIOLENCE_STATIONS:
            return 3.5
        return 1.0 if suburb.station.district.code == "city-of-cape-town" else 0.8

    def _incident_spec(self) -> dict:
        rng = self.rng
        suburb = rng.choices(self.suburbs, weights=self.suburb_weights)[0]
        gang_area = suburb.code in GANG_AFFECTED_SUBURBS
        mechanism = self._pick(MECHANISMS_GANG_AREA if gang_area else MECHANISMS_ELSEWHERE)
        fatal = rng.random() < FATAL_SHARE.get(mechanism, 0.01)
        if mechanism == "firearm":
            gang_share = 0.6 if gang_area else 0.15
        else:
            gang_share = 0.15 if gang_area else 0.02
        return {
            "occurred_at": self._occurred_at(),
            "suburb": suburb,
            "mechanism": mechanism,
            "fatal": fatal,
            "gang_related": rng.random() < gang_share,
            "place_type": self._pick(PLACES.get(mechanism, PLACES["default"])),
        }

    def _occurred_at(self) -> datetime:
        """A moment in the period, weighted to weekends, month-ends, December and the night."""
        rng, start, span = self.rng, self.start, (self.ctx.now - self.start).days
        while True:
            day = (start + timedelta(days=rng.randrange(span + 1))).astimezone(SAST).date()
            weight = WEEKDAY_WEIGHT[day.weekday()] / 1.75 * season(day)
            if rng.random() * MAX_SEASON > weight:
                continue
            hour = rng.choices(range(24), weights=HOUR_WEIGHT)[0]
            moment = datetime.combine(day, time(hour, rng.randrange(60)), SAST)
            if moment < self.ctx.now - timedelta(hours=2):
                return moment

    def _docket_share(self, spec) -> float:
        return 0.97 if spec["fatal"] else DOCKET_SHARE.get(spec["mechanism"], 0.3)

    # ------------------------------------------------------------------ dockets

    def _offence_code(self, spec) -> str:
        rng, mechanism = self.rng, spec["mechanism"]
        if spec["fatal"]:
            return "murder"
        if mechanism == "sexual":
            return "sexual_offence"
        if mechanism == "firearm":
            return self._pick({"attempted_murder": 70, "assault_gbh": 15, "robbery_aggravated": 15})
        if mechanism == "sharp":
            if spec["place_type"] in ("street", "public_transport") and rng.random() < 0.2:
                return "robbery_aggravated"
            return self._pick({"assault_gbh": 65, "attempted_murder": 30, "other": 5})
        if mechanism == "bodily_force":
            return self._pick({"common_assault": 60, "assault_gbh": 35, "other": 5})
        if mechanism in ("blunt", "strangulation"):
            return self._pick({"assault_gbh": 75, "attempted_murder": 15, "common_assault": 10})
        return self._pick({"assault_gbh": 50, "other": 50})

    def _docket(self, incident, spec) -> None:
        station = spec["suburb"].station
        saps = self.ctx.station_liaisons[station.code]
        delay = timedelta(hours=self.rng.uniform(1, 8)) if spec["fatal"] else self._days(0.1, 5)
        opened = self._at(spec["occurred_at"] + delay)
        opened_on = opened.astimezone(SAST).date()
        offence = self._offence_code(spec)
        case = self.do.open_case(
            actor=saps,
            station=station,
            cas_number=self._cas_number(station, opened_on),
            offence=self.offences[offence],
            opened_on=opened_on,
            incidents=[incident],
            at=opened,
        )
        self._keep("police_cases", case)
        t = opened
        if self.rng.random() < 0.04:  # never investigated: closed at the first review
            t = self._later(t, 20, 90)
            self.do.case_step(case, "close_undetected", actor=saps, at=t)
            return
        t = self._later(t, 0, 3)
        self.do.case_step(case, "investigate", actor=saps, at=t)
        t = self._saps_view_of_gangs(incident, spec, saps, t)
        key = f"{offence}_gang" if spec["gang_related"] and f"{offence}_gang" in DOCKET_FATE else offence
        self._investigation(case, spec, offence, key, saps, t, second_time=False)

    def _saps_view_of_gangs(self, incident, spec, saps, t) -> datetime:
        """Now and then the detective's view on gang-relatedness differs from, or confirms, the EC's."""
        gang_area = spec["suburb"].code in GANG_AFFECTED_SUBURBS
        roll = self.rng.random()
        if spec["gang_related"] and roll < 0.1:
            verdict, basis = False, "Investigation found a personal dispute; no gang link"
        elif spec["gang_related"] and roll < 0.35:
            verdict, basis = True, "Victim and suspects known to crime intelligence as members of rival gangs"
        elif not spec["gang_related"] and gang_area and spec["mechanism"] == "firearm" and roll < 0.25:
            verdict, basis = True, "Shooting linked to an ongoing gang feud in the area (crime intelligence)"
        else:
            return t
        t = self._later(t, 1, 30)
        self.do.assert_gang(incident, actor=saps, gang_related=verdict, basis=basis, at=t)
        spec["gang_related"] = verdict
        return t

    def _investigation(self, case, spec, offence, key, saps, t, *, second_time) -> None:
        fate = self._pick(DOCKET_FATE[key])
        if fate == "investigating":
            return
        if fate == "refer":
            t = self._later(t, 3, 90)
            self.do.case_step(case, "refer_to_npa", actor=saps, at=t)
            self._npa_decision(case, spec, offence, saps, t, second_time=second_time)
        elif fate == "undetected":
            t = self._later(t, 60, 300)
            self.do.case_step(case, "close_undetected", actor=saps, at=t, note="No suspect identified")
            if not second_time and self.rng.random() < 0.06:
                t = self._later(t, 30, 400)
                self.do.case_step(case, "reopen", actor=saps, reason="new_evidence", at=t)
                self._investigation(case, spec, offence, "second_time", saps, t, second_time=True)
        elif fate == "withdraws":
            t = self._later(t, 7, 90)
            reason = self._pick({"complainant_withdrew": 60, "reconciled": 25, "fear_of_reprisal": 15})
            self.do.case_step(case, "complainant_withdraws", actor=saps, reason=reason, at=t)
        elif fate == "unfounded":
            t = self._later(t, 14, 120)
            self.do.case_step(case, "close_unfounded", actor=saps, reason="no_offence_disclosed", at=t)

    def _npa_decision(self, case, spec, offence, saps, t, *, second_time) -> None:
        district_court, regional_court = STATION_COURTS[case.station.code]
        npa = self.ctx.court_liaisons[district_court]
        decision = self._pick(NPA_DECISION)
        t = self._later(t, 2, 45)
        if decision == "await" and self.ctx.now - t > timedelta(days=150):
            decision = "decline"  # nothing waits that long for a decision
        if decision == "prosecute":
            court = (
                regional_court if offence == "sexual_offence" and self.rng.random() < 0.5 else district_court
            )
            self._prosecution(case, spec, offence, self.courts[court], t)
        elif decision == "decline":
            reason = self.rng.choice(DECLINE_REASONS)
            self.do.case_step(case, "decline_to_prosecute", actor=npa, reason=reason, at=t)
        elif decision == "return":
            reason = self.rng.choice(RETURN_REASONS)
            self.do.case_step(case, "return_for_investigation", actor=npa, reason=reason, at=t)
            if not second_time:
                self._investigation(case, spec, offence, "second_time", saps, t, second_time=True)

    def _cas_number(self, station, opened_on: date) -> str:
        key = (station.code, opened_on.month, opened_on.year)
        serial = self.cas_serials.get(key, self.rng.randint(1, 40)) + self.rng.randint(3, 60)
        self.cas_serials[key] = serial
        return f"{serial}/{opened_on.month:02d}/{opened_on.year}"

    def _existing_cas_serials(self) -> dict:
        serials: dict = {}
        for code, serial, month, year in PoliceCase.objects.values_list(
            "station__code", "cas_serial", "cas_month", "cas_year"
        ):
            key = (code, month, year)
            serials[key] = max(serials.get(key, 0), serial)
        return serials

    # ------------------------------------------------------------------ prosecutions

    def _prosecution(self, case, spec, offence, court, t) -> None:
        enrolled = self._court_day(t + self._days(0, 10))
        self._check(enrolled)
        gang = spec["gang_related"]
        p = self.do.enrol(
            actor=self.ctx.court_liaisons[court.code],
            police_case=case,
            court=court,
            case_number=self._case_number(court, enrolled.astimezone(SAST).date()),
            enrolled_on=enrolled.astimezone(SAST).date(),
            accused=self._accused(gang, spec["suburb"].code in GANG_AFFECTED_SUBURBS, offence),
            at=enrolled,
        )
        key = (f"{offence}_gang" if f"{offence}_gang" in OUTCOMES else "gang") if gang else offence
        try:
            # The first appearance is the enrolment; what happens there follows a few minutes later.
            p, t = self._path(p, spec, offence, self._pick(OUTCOMES[key]), enrolled + timedelta(minutes=5))
            if p.state in Prosecution.REMOVED_STATES and self.rng.random() < RE_ENROL_SHARE:
                t = self._sitting(t, 60, 240)
                following = self._sitting(t, 14, 42)
                p = self._act(
                    p,
                    "re_enrol",
                    t,
                    reason="committee_review",
                    next_date=self._day(following),
                    note="Re-enrolled after the priority committee's review",
                )
                self._path(p, spec, offence, self._pick(OUTCOMES["after_re_enrolment"]), following)
        except Stop:
            pass
        self._keep("prosecutions", self.do.settled(p))  # as the walk left it, for the steps that follow

    def _path(self, p, spec, offence, outcome, t):
        """Walk one matter to ``outcome`` through remands, a transfer and trial.

        ``t`` is the sitting where the next step happens; each step sets the date of the next sitting,
        so a matter left open where the walk reaches now has its next appearance in the future.
        Returns (matter, time of its last step).
        """
        rng = self.rng
        serious = offence in SERIOUS
        remands = rng.randint(0, 2) if outcome in ("plea", "divert") else rng.randint(1, 7)
        if serious and outcome in ("trial", "acquit"):
            remands += rng.randint(2, 5)
        at_district = self.courts_by_id[p.court_id].level == Court.Level.DISTRICT
        transfer_at = rng.randint(0, max(0, remands - 1)) if serious and at_district and remands else None
        for i in range(remands):
            if rng.random() < 0.06:
                p = self._act(p, "issue_warrant", t, note="Accused failed to appear")
                t = self._sitting(t, 14, 180)  # arrested on the warrant and brought before court
                following = self._sitting(t)
                p = self._act(
                    p,
                    "remand",
                    t,
                    reason="other",
                    next_date=self._day(following),
                    note="Warrant executed; accused before court",
                )
            elif i == transfer_at:
                following = self._sitting(t)
                p = self._transfer(p, spec, offence, t, following)
            else:
                following = self._sitting(t)
                reason = self._pick(self._postponements(offence))
                p = self._act(p, "remand", t, reason=reason, next_date=self._day(following))
            t = following
        return self._finish(p, spec, offence, outcome, t)

    def _transfer(self, p, spec, offence, t, following):
        _, regional = STATION_COURTS[spec["suburb"].station.code]
        many_accused = self.do.accused_count(p) >= 2
        to_high = offence == "murder" and spec["gang_related"] and many_accused and self.rng.random() < 0.5
        court = self.courts[HIGH_COURT if to_high else regional]
        return self._act(p, "transfer", t, court=court, next_date=self._day(following))

    def _finish(self, p, spec, offence, outcome, t):
        rng = self.rng
        removal_reasons = WITHDRAWAL_REASONS_GANG if spec["gang_related"] else WITHDRAWAL_REASONS
        if outcome in ("trial", "acquit"):
            verdict = self._sitting(t, 30, 150)
            p = self._act(p, "start_trial", t, next_date=self._day(verdict))
            t = verdict
            if outcome == "acquit":
                return self._act(p, "acquit", t, note="Not guilty: the State did not prove its case"), t
            if rng.random() < 0.1:  # witnesses turn, the State withdraws mid-trial
                return self._act(p, "withdraw", t, reason=self._pick(removal_reasons)), t
        if outcome in ("trial", "plea"):
            note = "Convicted on a guilty plea (s112)" if outcome == "plea" else "Convicted after trial"
            same_day = outcome == "plea" and offence not in SERIOUS and rng.random() < 0.4
            sentencing = t + timedelta(hours=1) if same_day else self._sitting(t, 14, 60)
            p = self._act(p, "convict", t, next_date=self._day(sentencing), note=note)
            sentences = SENTENCES.get(offence, SENTENCES["default"])
            return self._act(p, "sentence", sentencing, sentence=rng.choice(sentences)), sentencing
        if outcome == "withdraw":
            return self._act(p, "withdraw", t, reason=self._pick(removal_reasons)), t
        if outcome == "prov":
            return self._act(p, "withdraw_provisionally", t, reason=self._pick(PROVISIONAL_REASONS)), t
        if outcome == "strike":
            reason = self._pick(STRIKE_OFF_REASONS)
            note = "s342A: unreasonable delay" if reason == "other" else ""
            return self._act(p, "strike_off", t, reason=reason, note=note), t
        if outcome == "divert":
            return self._act(p, "divert", t, programme=rng.choice(DIVERSION_PROGRAMMES)), t
        return self._act(p, "issue_warrant", t, note="Accused failed to appear"), t

    def _act(self, p, name: str, at: datetime, **kwargs):
        """Take one prosecution transition as the NPA liaison of the court it is at, unless it is future."""
        self._check(at)
        actor = self.ctx.court_liaisons[self.courts_by_id[p.court_id].code]
        return self.do.step(p, name, actor=actor, at=at, **kwargs)

    def _postponements(self, offence) -> dict:
        if offence in ("murder", "attempted_murder", "sexual_offence"):
            return {**POSTPONEMENTS, "forensic_report_outstanding": 22}
        return POSTPONEMENTS

    def _accused(self, gang: bool, gang_area: bool, offence: str) -> list[dict]:
        rng = self.rng
        if gang and offence in ("murder", "attempted_murder"):
            count = self._pick({1: 45, 2: 30, 3: 15, 4: 10})
        else:
            count = self._pick({1: 80, 2: 15, 3: 5})
        people = []
        for _ in range(count):
            repeat_share = 0.18 if gang_area else 0.04
            if self.accused_pool and rng.random() < repeat_share:
                person = rng.choice(self.accused_pool)
            else:
                identifier = "".join(str(rng.randrange(10)) for _ in range(13))
                pseudonym = hmac.new(settings.PSEUDONYM_KEY.encode(), identifier.encode(), hashlib.sha256)
                person = {
                    "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                    "pseudonym": pseudonym.hexdigest(),
                }
                self.accused_pool.append(person)
            if person not in people:
                people.append(person)
        return people

    def _case_number(self, court, enrolled_on: date) -> str:
        """District courts number "A 123/2025", regional "RC 12/2025", the High Court "CC 4/2025".

        One counter per prefix and year across courts, so a matter transferred keeps a number no
        other matter at its new court has.
        """
        prefix = {"district": "A", "regional": "RC", "high": "CC"}[court.level]
        key = (prefix, enrolled_on.year)
        if key not in self.case_numbers:  # a court roll's numbers do not start at 1 in our window
            self.case_numbers[key] = self.rng.randint(
                *{"A": (800, 2500), "RC": (40, 300), "CC": (5, 40)}[prefix]
            )
        self.case_numbers[key] += self.rng.randint(1, 6)
        return f"{prefix} {self.case_numbers[key]}/{enrolled_on.year}"

    def _existing_case_numbers(self) -> dict:
        numbers: dict = {}
        for case_number in Prosecution.objects.values_list("case_number", flat=True):
            match = CASE_NUMBER_RE.match(case_number)
            if match:
                key = (match[1], int(match[3]))
                numbers[key] = max(numbers.get(key, 0), int(match[2]))
        return numbers

    # ------------------------------------------------------------------ time and chance

    def _pick(self, weights: dict):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))

    def _check(self, at: datetime) -> None:
        if at > self.ctx.now:
            raise Stop

    def _at(self, at: datetime) -> datetime:
        self._check(at)
        return at

    def _not_after_now(self, at: datetime) -> datetime:
        return min(at, self.ctx.now)

    def _court_day(self, moment: datetime) -> datetime:
        """A time the court sits (weekday, 09:30–15:00 SAST) on or after ``moment``."""
        day = moment.astimezone(SAST).date()
        while True:
            if day.weekday() < 5:
                sitting = datetime.combine(day, time(9, 30), SAST) + timedelta(
                    minutes=self.rng.randrange(330)
                )
                if sitting > moment:
                    return sitting
                if moment.astimezone(SAST).time() < time(15, 30):
                    return moment + timedelta(minutes=10)
            day += timedelta(days=1)

    def _sitting(self, after: datetime, low: int = 21, high: int = 56) -> datetime:
        """The court's sitting ``low``–``high`` days after ``after`` (or the next weekday)."""
        day = after.astimezone(SAST).date() + timedelta(days=self.rng.randint(low, high))
        return self._court_day(datetime.combine(day, time(0), SAST))

    def _later(self, after: datetime, low: int, high: int) -> datetime:
        """Office hours (weekday 08:00–16:30 SAST) ``low``–``high`` days after ``after``; Stop if future."""
        day = after.astimezone(SAST).date() + timedelta(days=self.rng.randint(low, high))
        while True:
            if day.weekday() < 5:
                moment = datetime.combine(day, time(8), SAST) + timedelta(minutes=self.rng.randrange(510))
                if moment > after:
                    return self._at(moment)
            day += timedelta(days=1)

    def _day(self, moment: datetime) -> date:
        return moment.astimezone(SAST).date()
