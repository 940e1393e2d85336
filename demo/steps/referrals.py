"""Step "referrals": the EC admissions behind the demo incidents, and their referrals to SAPS.

Each admission arrives as an HL7 v2 ADT^A04 through the real intake (``intake.receive.inbound_receive_hl7``,
processed in-process), with the incident's suburb, mechanism code and injury time, so the joining
rule (same suburb, mechanism, within two hours) links it to the incident casework made. Incidents
that became dockets get a referral that went pending → sent → acknowledged → case_opened; some
others were declined by the victim. Names and ID numbers are synthetic.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from referrals import permissions, services
from referrals.forms import ICD10_FOR_MECHANISM
from referrals.intake import receive
from referrals.models import Admission, Referral
from referrals.parsing.rules import sa_id_check_digit

FACILITIES = [
    "mitchells-plain-dh",
    "khayelitsha-dh",
    "tygerberg",
    "groote-schuur",
    "heideveld-ec",
    "karl-bremer",
]
GIVEN = ["Thandi", "Sipho", "Ashwin", "Chantal", "Lwazi", "Fatima", "Jason", "Nomsa", "Riaan", "Zola"]
FAMILY = [
    "Adams",
    "Mokoena",
    "Jacobs",
    "Petersen",
    "Ndlovu",
    "Williams",
    "Dlamini",
    "Isaacs",
    "Mthembu",
    "Cloete",
]
TRIAGE = ["RED", "ORANGE", "ORANGE", "YELLOW", "YELLOW", "GREEN"]


def ts(moment) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H%M%S")


def seed(ctx) -> None:
    now = timezone.now()
    clerk = ctx.users["health_capture"]
    made = 0
    total = len(ctx.incidents)
    # Messages are stored in batches of 100: on commit the first kick processes the whole batch
    # at once, as a busy listener's worker would, instead of one task per message.
    for start in range(0, total, 100):
        with transaction.atomic():
            for n, incident in enumerate(ctx.incidents[start : start + 100], start=start + 1):
                made += _admit(ctx, incident, now)
                ctx.progress("admissions", n, total)
    referrals = _referrals(ctx, clerk, now)
    ctx.say(f"  {made} admissions through HL7 intake, {referrals} referrals to SAPS")


def _admit(ctx, incident, now) -> int:
    """Send the incident's victims' admissions as HL7 A04s; the number accepted."""
    rng = ctx.rng
    made = 0
    arrival = incident.occurred_at + timedelta(minutes=rng.randint(20, 110))
    if arrival > now - timedelta(minutes=5):
        return 0
    for victim in range(2 if rng.random() < 0.08 else 1):
        fac = FACILITIES[rng.randrange(len(FACILITIES))]
        visit = f"D{incident.pk:07d}{victim}"
        born = f"{rng.randrange(60, 99)}{rng.randrange(1, 12):02d}{rng.randrange(1, 28):02d}"
        idno = sa_id_check_digit(f"{born}{rng.randrange(10**6):06d}")  # the intake checks the check digit
        pv1 = ["PV1", "1", "E", f"EC^^^{fac}"] + [""] * 15 + [visit] + [""] * 24 + [ts(arrival)]
        obx = {
            "TRIAGE": rng.choice(TRIAGE),
            "INJURY_TIME": ts(incident.occurred_at),
            "SUBURB": incident.suburb.code,
            "PLACE_TYPE": incident.place_type or "street",
            "ROLE": "victim" if rng.random() < 0.92 else "perpetrator",
            "GANG_SUSPECTED": "Y" if incident.gang_related and rng.random() < 0.7 else "N",
            "POLICE_INFORMED": "Y" if rng.random() < 0.3 else "N",
        }
        segments = [
            f"MSH|^~\\&|HECTIS|{fac}|CASETRAIL|WCG|{ts(arrival)}||ADT^A04^ADT_A01|DEMO{visit}|P|2.5",
            f"EVN|A04|{ts(arrival)}",
            f"PID|1||F{incident.pk}{victim}^^^{fac}^MR~{idno}^^^ZAF^NI||{rng.choice(FAMILY)}^{rng.choice(GIVEN)}"
            f"||19{idno[:2]}{idno[2:4]}{idno[4:6]}|{rng.choice('MMMF')}",
            "|".join(pv1),
            f"DG1|1||S21.1^^I10||{ts(arrival)[:8]}|F",
            f"DG1|2||{ICD10_FOR_MECHANISM[incident.mechanism]}^^I10||{ts(arrival)[:8]}|F",
        ]
        segments += [f"OBX|{i}|CE|{k}^{k}^CASETRAIL||{v}||||||F" for i, (k, v) in enumerate(obx.items(), 1)]
        answer = receive.inbound_receive_hl7(raw="\r".join(segments) + "\r")
        made += answer.code == "AA"
    return made


def _referrals(ctx, clerk, now) -> int:
    rng = ctx.rng
    count = 0
    with_case = {}
    for case in ctx.police_cases:
        for incident in case.incidents.all():
            with_case.setdefault(incident.pk, case)
    # The service-made incidents' admissions only: the bulk history has its referrals (``volume``).
    mine = Admission.objects.filter(incident__in=[i.pk for i in ctx.incidents], suburb__isnull=False)
    for admission in mine.select_related("suburb__station", "incident"):
        case = with_case.get(admission.incident_id)
        if Referral.objects.filter(admission=admission).exists():
            continue
        if case is None and rng.random() > 0.15:
            continue
        liaison = ctx.station_liaisons.get(admission.suburb.station.code)
        # The EC clerk where they hold the facility's grant; the administrator elsewhere.
        ec = clerk if permissions.may_refer(clerk, admission) else ctx.users["admin"]
        referral = services.referral_create(admission=admission, actor=ec)
        count += 1
        sent_at = min(admission.arrival_at + timedelta(hours=2), now)
        referral = services.referral_send(referral, actor=ec, version=referral.version, at=sent_at)
        if case is None:
            services.referral_decline(
                referral,
                actor=ec,
                version=referral.version,
                reason="Victim does not want to lay a charge.",
                at=min(sent_at + timedelta(hours=1), now),
            )
            continue
        if liaison is None or case.station_id != referral.station_id:
            continue
        ack_at = min(sent_at + timedelta(hours=rng.randint(2, 30)), now)
        referral = services.referral_acknowledge(referral, actor=liaison, version=referral.version, at=ack_at)
        opened = timezone.make_aware(timezone.datetime.combine(case.opened_on, timezone.datetime.min.time()))
        services.referral_open_case(
            referral,
            actor=liaison,
            version=referral.version,
            police_case=case,
            at=min(max(opened, ack_at), now),
        )
    return count
