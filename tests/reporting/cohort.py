# ruff: noqa: E501  (SQL, SVG markup and a cohort table read better unwrapped)
"""Small cohorts with known outcomes, built through casework services (the code under test only reads).

Conviction cohort, finalised in March 2025 (SAST) unless said otherwise:

| p   | court | district | station | offence        | mechanism | gang | path                                   |
|-----|-------|----------|---------|----------------|-----------|------|----------------------------------------|
| P1  | A     | D1       | S1      | murder         | firearm   | yes  | trial → convicted 03-05                |
| P2  | A     | D1       | S1      | murder         | firearm   | yes  | convicted 02-20 → sentenced 03-10      |
| P3  | A     | D1       | S2      | assault_gbh    | sharp     | yes  | trial → acquitted 03-12                |
| P4  | B     | D2       | S2      | assault_gbh    | sharp     | no*  | withdrawn 03-03 docket_not_at_court    |
| P5  | B     | D2       | S1      | murder         | firearm   | yes  | prov. withdrawn 03-15 witness_intimid. |
| P6  | B     | D2       | S2      | assault_gbh    | sharp     | no   | struck off 02-01 → committee 02-10 → re-enrolled 02-15 → convicted 03-20 |
| P7  | A     | D1       | S2      | murder         | blunt     | no   | diverted 03-25                         |
| P8  | B     | D2       | S2      | assault_gbh    | sharp     | no   | warrant issued 03-08 (not finalised)   |
| P9  | A     | D1       | S1      | murder         | firearm   | no   | convicted 04-02 (outside the period)   |
| P10 | A     | D1       | S2      | sexual_offence | sharp     | no   | withdrawn 02-20 complainant_withdrew   |

* P4's incident was asserted gang-related by the EC, then SAPS asserted it is not: not gang-related.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from casework import services
from casework.models import Offence
from courtwatch.models import WithdrawalReview
from referrals.models import Admission, Referral
from reporting import rollups
from tests.factories import (
    CourtFactory,
    DistrictFactory,
    FacilityFactory,
    StationFactory,
    SuburbFactory,
    set_state,
)

SAST = ZoneInfo("Africa/Johannesburg")


def sast(y, m, d, h=12, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=SAST)


@dataclass
class Cohort:
    ref: dict = field(default_factory=dict)
    p: dict = field(default_factory=dict)


def reference() -> dict:
    d1 = DistrictFactory(code="d1", name="District One")
    d2 = DistrictFactory(code="d2", name="District Two")
    s1 = StationFactory(code="s1", name="Station One", district=d1)
    s2 = StationFactory(code="s2", name="Station Two", district=d2)
    return {
        "d1": d1,
        "d2": d2,
        "s1": s1,
        "s2": s2,
        "a": CourtFactory(code="court-a", name="Court A", district=d1),
        "b": CourtFactory(code="court-b", name="Court B", district=d2),
        "x": SuburbFactory(code="suburb-x", name="Suburb X", station=s1),
        "y": SuburbFactory(code="suburb-y", name="Suburb Y", station=s2),
        "f1": FacilityFactory(code="fac-1", name="Facility One", district=d1),
        "f2": FacilityFactory(code="fac-2", name="Facility Two", district=d2),
        "murder": Offence.objects.get_or_create(code="murder", defaults={"name": "Murder"})[0],
        "assault_gbh": Offence.objects.get_or_create(code="assault_gbh", defaults={"name": "Assault GBH"})[0],
        "sexual_offence": Offence.objects.get_or_create(
            code="sexual_offence", defaults={"name": "Sexual offence"}
        )[0],
    }


_serial = iter(range(1, 100000))


def enrol(ref, *, court, station, offence, mechanism, gang, name, occurred=None):
    suburb = ref["x"] if station == "s1" else ref["y"]
    incident = services.incident_create(
        actor=None,
        occurred_at=occurred or sast(2024, 12, 1),
        suburb=suburb,
        mechanism=mechanism,
        gang_related=gang,
        gang_basis="EC note" if gang else "",
    )
    case = services.police_case_open(
        actor=None,
        station=ref[station],
        cas_number=f"{next(_serial)}/12/2024",
        offence=ref[offence],
        opened_on=date(2024, 12, 2),
        incidents=[incident],
    )
    p = services.prosecution_enrol(
        actor=None,
        police_case=case,
        court=ref[court],
        case_number=name,
        enrolled_on=date(2025, 1, 10),
        accused=[{"name": f"Accused {name}"}],
    )
    p.incident = incident
    return p


def committee_decides_to_re_enrol(p, *, on: date):
    """The flagged review of a removed matter is decided 're_enrol' (arranged directly: the committee's
    own flow is courtwatch's to test)."""

    review = WithdrawalReview.objects.get(prosecution=p)
    WithdrawalReview.objects.filter(pk=review.pk).update(
        state=WithdrawalReview.State.DECIDED,
        decision=WithdrawalReview.Decision.RE_ENROL,
        state_changed_at=datetime(on.year, on.month, on.day, 10, tzinfo=SAST),
    )
    return review


def conviction_cohort() -> Cohort:
    ref = reference()
    c = Cohort(ref=ref)
    mk = lambda name, court, station, offence, mech, gang: enrol(  # noqa: E731
        ref, court=court, station=station, offence=offence, mechanism=mech, gang=gang, name=name
    )
    sv = services
    kw = {"actor": None, "version": None}

    p1 = mk("P1", "a", "s1", "murder", "firearm", True)
    sv.prosecution_start_trial(p1, at=sast(2025, 2, 1), **kw)
    sv.prosecution_convict(p1, at=sast(2025, 3, 5), **kw)

    p2 = mk("P2", "a", "s1", "murder", "firearm", True)
    sv.prosecution_convict(p2, at=sast(2025, 2, 20), **kw)
    sv.prosecution_sentence(p2, sentence="15 years", at=sast(2025, 3, 10), **kw)

    p3 = mk("P3", "a", "s2", "assault_gbh", "sharp", True)
    sv.prosecution_start_trial(p3, at=sast(2025, 2, 1), **kw)
    sv.prosecution_acquit(p3, at=sast(2025, 3, 12), **kw)

    p4 = mk("P4", "b", "s2", "assault_gbh", "sharp", True)
    sv.incident_assert_gang_relatedness(
        incident=p4.incident, actor=None, gang_related=False, basis="SAPS: domestic dispute", source="saps"
    )
    sv.prosecution_withdraw(p4, reason="docket_not_at_court", at=sast(2025, 3, 3), **kw)

    p5 = mk("P5", "b", "s1", "murder", "firearm", True)
    sv.prosecution_withdraw_provisionally(p5, reason="witness_intimidated", at=sast(2025, 3, 15), **kw)

    p6 = mk("P6", "b", "s2", "assault_gbh", "sharp", False)
    sv.prosecution_strike_off(p6, reason="investigation_incomplete", at=sast(2025, 2, 1), **kw)
    review = committee_decides_to_re_enrol(p6, on=date(2025, 2, 10))
    sv.prosecution_re_enrol(p6, reason="committee decision", review=review.pk, at=sast(2025, 2, 15), **kw)
    sv.prosecution_convict(p6, at=sast(2025, 3, 20), **kw)

    p7 = mk("P7", "a", "s2", "murder", "blunt", False)
    sv.prosecution_divert(p7, programme="NICRO", at=sast(2025, 3, 25), **kw)

    p8 = mk("P8", "b", "s2", "assault_gbh", "sharp", False)
    sv.prosecution_issue_warrant(p8, at=sast(2025, 3, 8), **kw)

    p9 = mk("P9", "a", "s1", "murder", "firearm", False)
    sv.prosecution_convict(p9, at=sast(2025, 4, 2), **kw)

    p10 = mk("P10", "a", "s2", "sexual_offence", "sharp", False)
    sv.prosecution_withdraw(p10, reason="complainant_withdrew", at=sast(2025, 2, 20), **kw)

    c.p = {f"P{i}": p for i, p in enumerate([p1, p2, p3, p4, p5, p6, p7, p8, p9, p10], 1)}
    return c


MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


def admissions_cohort(ref=None):
    """Six admissions; four arrive in March 2025 SAST.

    a1 F1 Mon 03-03 22:30 15-24 male   firearm street Suburb X (S1)  gang-related incident
    a2 F1 Mon 03-03 23:10 25-34 male   sharp   tavern Suburb X (S1)
    a3 F1 Sun 03-09 01:15 15-24 female sharp   home   Suburb Y (S2)
    a4 F2 Sat 03-15 21:00 0-14  female blunt   home   Suburb Y (S2)
    a5 F2 Tue 04-01 00:30 SAST (still 31 March in UTC): April
    a6 F2 Fri 02-28 23:30 SAST: February
    """
    ref = ref or reference()
    rows = [
        ("a1", "f1", sast(2025, 3, 3, 22, 30), "15-24", "male", "firearm", "street", "x"),
        ("a2", "f1", sast(2025, 3, 3, 23, 10), "25-34", "male", "sharp", "tavern", "x"),
        ("a3", "f1", sast(2025, 3, 9, 1, 15), "15-24", "female", "sharp", "home", "y"),
        ("a4", "f2", sast(2025, 3, 15, 21, 0), "0-14", "female", "blunt", "home", "y"),
        ("a5", "f2", sast(2025, 4, 1, 0, 30), "35-44", "male", "sharp", "street", "y"),
        ("a6", "f2", sast(2025, 2, 28, 23, 30), "35-44", "male", "sharp", "street", "y"),
    ]
    out = {}
    for name, fac, at, band, sex, mech, place, suburb in rows:
        out[name] = Admission.objects.create(
            facility=ref[fac],
            visit_number=name,
            arrival_at=at,
            injury_at=at,
            age_band=band,
            sex=sex,
            mechanism=mech,
            place_type=place,
            suburb=ref[suburb],
        )
    incident = services.incident_create(
        actor=None, occurred_at=sast(2025, 3, 3, 22), suburb=ref["x"], mechanism="firearm", gang_related=True
    )
    Admission.objects.filter(pk=out["a1"].pk).update(incident=incident)
    rollups.rebuild_all()
    out["ref"] = ref
    return out


def attrition_cohort():
    """March 2025: admissions a1-a4 (``admissions_cohort``); incidents:
    i1 (a1's) → docket → referred to NPA → prosecuted → convicted;
    i2 (a2's) → docket closed undetected;
    i3 (a3's) → referral declined ("Victim does not want to lay a charge"), no docket;
    i4 (no admission) → nothing.
    """
    cohort = admissions_cohort()
    ref = cohort["ref"]
    i1 = Admission.objects.get(pk=cohort["a1"].pk).incident
    mk = lambda at, s: services.incident_create(actor=None, occurred_at=at, suburb=ref[s], mechanism="sharp")  # noqa: E731
    i2, i3, _i4 = mk(sast(2025, 3, 3, 23), "x"), mk(sast(2025, 3, 9, 1), "y"), mk(sast(2025, 3, 20), "y")
    Admission.objects.filter(pk=cohort["a2"].pk).update(incident=i2)
    Admission.objects.filter(pk=cohort["a3"].pk).update(incident=i3)
    kw = {"actor": None, "version": None}
    c1 = services.police_case_open(
        actor=None,
        station=ref["s1"],
        cas_number="1/03/2025",
        offence=ref["murder"],
        opened_on=date(2025, 3, 5),
        incidents=[i1],
    )
    services.police_case_investigate(c1, at=sast(2025, 3, 6), **kw)
    services.police_case_refer_to_npa(c1, at=sast(2025, 3, 7), **kw)
    p = services.prosecution_enrol(
        actor=None,
        police_case=c1,
        court=ref["a"],
        case_number="RC 1/2025",
        enrolled_on=date(2025, 3, 8),
        accused=[{"name": "A"}],
    )
    services.prosecution_convict(p, at=sast(2025, 5, 1), **kw)
    c2 = services.police_case_open(
        actor=None,
        station=ref["s1"],
        cas_number="2/03/2025",
        offence=ref["assault_gbh"],
        opened_on=date(2025, 3, 20),
        incidents=[i2],
    )
    services.police_case_close_undetected(c2, at=sast(2025, 4, 1), **kw)
    r = Referral.objects.create(admission=Admission.objects.get(pk=cohort["a3"].pk), station=ref["s2"])
    set_state(r, "declined")
    Referral.objects.filter(pk=r.pk).update(decline_reason="Victim does not want to lay a charge")
    return cohort
