"""HL7 v2 ADT intake: parsing per the profile, the ACK for every case, and what is stored."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from casework.models import GangAssertion, Incident
from referrals import tasks
from referrals.intake import process
from referrals.intake import receive as receiving
from referrals.models import Admission, InboundMessage, PatientIdentity
from referrals.parsing import common
from referrals.parsing.hl7 import parse_hl7
from referrals.parsing.rules import sa_id_check_digit

from .helpers import adt, err, msa

pytestmark = pytest.mark.django_db


def receive(run_tasks, raw, **kwargs):
    return run_tasks(receiving.inbound_receive_hl7, raw=raw, **kwargs)


@pytest.mark.parametrize(
    "codes, mechanism",
    [
        (["X93.4"], "firearm"),
        (["X95"], "firearm"),
        (["S21.1", "X99.0"], "sharp"),
        (["Y00.4"], "blunt"),
        (["Y04.0"], "bodily_force"),
        (["Y05.0"], "sexual"),
        (["T74.2", "Y04.0"], "sexual"),
        (["X91.0"], "strangulation"),
        (["X97.0"], "burn"),
        (["X98.1"], "burn"),
        (["X85.0"], "poisoning"),
        (["X90.0"], "poisoning"),
        (["X96.0"], "other"),
        (["Y09"], "other"),
        (["Y35.0"], ""),
        (["S06.0"], ""),
    ],
)
def test_the_mechanism_comes_from_the_who_icd10_external_cause(codes, mechanism):
    assert common.mechanism_of(codes) == mechanism


def test_legal_intervention_y35_is_not_an_assault():
    assert not common.is_assault("Y35.0")
    assert common.is_assault("X99.4")
    assert common.is_assault("T74.2")


def test_the_fourth_character_gives_the_place_when_nothing_better_is_sent():
    assert common.place_from_codes(["S31.1", "X99.4"]) == "street"
    assert common.place_from_codes(["X95.0"]) == "home"
    assert common.place_from_codes(["Y07.0"]) == ""  # Y06/Y07: the 4th character is the perpetrator


def test_every_field_of_the_profile_is_read(facility, suburb):
    arrival = timezone.now() - timedelta(hours=2)
    raw = adt(
        arrival=arrival,
        obx={
            "TRIAGE": "ORANGE",
            "INJURY_TIME": (arrival - timedelta(minutes=30))
            .astimezone(timezone.get_current_timezone())
            .strftime("%Y%m%d%H%M"),
            "PLACE_TYPE": "tavern",
            "SUBURB": suburb.name,
            "ROLE": "perpetrator",
            "GANG_SUSPECTED": "Y",
            "POLICE_INFORMED": "N",
        },
    )
    header, rec = parse_hl7(raw)
    assert (header.sender, header.control_id, header.event) == ("tygerberg", "MSG0001", "A04")
    assert rec.visit_number == "V0001"
    assert abs(rec.arrival_at - arrival) < timedelta(seconds=1)
    assert rec.injury_at == (arrival - timedelta(minutes=30)).replace(second=0, microsecond=0)
    assert rec.identifiers == [
        {"value": "77120", "authority": "tygerberg", "type": "MR"},
        {"value": "0105125800083", "authority": "ZAF", "type": "NI"},
    ]
    assert rec.name == "Jo Doe" and rec.sex == "female" and rec.date_of_birth.isoformat() == "2001-05-12"
    assert rec.icd10_codes == ["S31.1", "X99.0"] and rec.mechanism == "sharp"
    assert (rec.triage, rec.place_type, rec.suburb_text, rec.role) == (
        "orange",
        "tavern",
        suburb.name,
        "perpetrator",
    )
    assert (rec.gang_suspected, rec.police_informed) == (True, False)


def test_the_separators_msh_declares_are_honoured_at_the_door_and_in_processing(run_tasks, facility):
    # MSH-1 "#" and MSH-2 "!@\\&": the same message with other field, component and repetition separators.
    standard = adt(codes=["S31.1", "X99.0"])
    other = standard.replace("|", "#").replace("^", "!").replace("~", "@")
    assert other.startswith("MSH#!@\\&#")
    header, rec = parse_hl7(other)
    assert (header.sender, header.control_id, header.event) == ("tygerberg", "MSG0001", "A04")
    assert rec.identifiers == parse_hl7(standard)[1].identifiers
    assert rec.name == "Jo Doe" and rec.icd10_codes == ["S31.1", "X99.0"]
    answer = receive(run_tasks, other)
    assert answer.code == "AA", answer.body
    assert Admission.objects.get().visit_number == "V0001"


def test_the_door_refuses_what_processing_would_refuse(run_tasks, facility):
    # The precheck is the same reader as processing, stopping early: an empty diagnosis code is AE at
    # the door, not a dead letter later.
    answer = receive(run_tasks, adt(codes=["S31.1", ""]))
    assert answer.code == "AE" and "DG1(2)-3" in answer.text
    assert not Admission.objects.exists()


def test_the_acc_segment_gives_injury_time_cause_place_and_police(facility):
    arrival = timezone.now() - timedelta(hours=1)
    injury = (
        (arrival - timedelta(minutes=45)).astimezone(timezone.get_current_timezone()).strftime("%Y%m%d%H%M")
    )
    raw = adt(codes=["S21.1"], acc=f"ACC|{injury}|X95.4^^I10|street corner|||||||Y", obx={})
    _header, rec = parse_hl7(raw)
    assert rec.icd10_codes == ["S21.1", "X95.4"]
    assert rec.mechanism == "firearm"
    assert rec.place_type == "street"
    assert rec.police_informed is True
    assert rec.injury_at < rec.arrival_at


def test_a_good_message_is_stored_first_then_acknowledged_aa_and_processed(run_tasks, facility, suburb):
    # Born 12 May 2001 (adt's default), arrived the evening before her 24th birthday: 23.
    arrival = timezone.make_aware(datetime(2025, 5, 11, 21, 30))
    answer = receive(run_tasks, adt(arrival=arrival, obx={"SUBURB": suburb.code, "GANG_SUSPECTED": "Y"}))
    fields = msa(answer.body)
    assert fields[1:3] == ["AA", "MSG0001"]
    assert answer.body.startswith("MSH|^~\\&|CASETRAIL|WCG|HECTIS|tygerberg|")
    message = InboundMessage.objects.get()
    assert message.status == "processed" and message.attempts == 1
    admission = Admission.objects.get()
    assert message.admission == admission
    assert (admission.facility, admission.visit_number, admission.mechanism) == (facility, "V0001", "sharp")
    assert admission.age_years == 23
    assert admission.age_band == "15-24" and admission.suburb == suburb
    assert admission.incident.suburb == suburb and admission.incident.mechanism == "sharp"
    assert admission.incident.gang_related is True
    assert admission.incident.gang_assertions.get().source == GangAssertion.Source.EC_CLINICIAN
    assert PatientIdentity.objects.get(admission=admission).name == "Jo Doe"


def test_the_same_control_id_from_the_same_sender_gets_the_same_answer_and_one_admission(run_tasks, facility):
    first = receive(run_tasks, adt())
    again = receive(run_tasks, adt(visit="V-DIFFERENT"))
    assert again.body == first.body
    assert msa(again.body)[1] == "AA"
    assert InboundMessage.objects.count() == 1
    assert InboundMessage.objects.get().duplicates_seen == 1
    assert Admission.objects.count() == 1


def test_one_group_commit_answers_each_message_as_if_alone(facility):
    """The MLLP listener's batch: a copy of an id earlier in the same batch is that duplicate, a
    rejected message is kept as rejected, a visit without an assault code is filtered; one answer
    each, in order, and each good message stored once."""
    batch = [
        adt(control="B1", visit="V1"),
        adt(control="B2", visit="V2"),
        adt(control="B1", visit="V-OTHER"),  # the same id again, in the same batch
        adt(control="B3", visit=""),  # no visit number: AE, raw kept
        adt(control="B4", visit="V4", codes=["S06.0"]),  # no assault code: AA, metadata only
    ]
    answers = receiving.inbound_receive_hl7_batch(batch)
    assert [msa(a.body)[1] for a in answers] == ["AA", "AA", "AA", "AE", "AA"]
    assert answers[2].body == answers[0].body and answers[2].duplicate
    stored = {m.control_id: m for m in InboundMessage.objects.all()}
    assert sorted(stored) == ["B1", "B2", "B3", "B4"]
    assert stored["B1"].duplicates_seen == 1 and "V1" in stored["B1"].raw
    assert stored["B3"].status == "rejected" and "PV1-19" in stored["B3"].reason
    assert stored["B4"].status == "filtered" and stored["B4"].raw == ""
    assert [answers[i].message.pk for i in (0, 1)] == [stored["B1"].pk, stored["B2"].pk]


def test_the_same_control_id_from_another_sender_is_another_message(run_tasks, facility, other_facility):
    receive(run_tasks, adt())
    receive(run_tasks, adt(facility=other_facility.code))
    assert InboundMessage.objects.count() == 2
    assert Admission.objects.count() == 2


def test_a_visit_without_an_assault_code_is_acknowledged_and_keeps_only_metadata(run_tasks, facility):
    answer = receive(run_tasks, adt(codes=["S06.0", "Y35.0"]))
    assert msa(answer.body)[1] == "AA"
    message = InboundMessage.objects.get()
    assert message.status == "filtered"
    assert message.raw == ""
    assert (message.sender, message.control_id) == ("tygerberg", "MSG0001")
    assert Admission.objects.count() == 0 and PatientIdentity.objects.count() == 0


def test_an_unknown_facility_is_rejected_ar_and_the_raw_message_kept(run_tasks, db):
    answer = receive(run_tasks, adt(facility="nowhere-hospital"))
    assert msa(answer.body)[1] == "AR"
    assert "MSH^1^4" in err(answer.body) and "nowhere-hospital" in err(answer.body)
    message = InboundMessage.objects.get()
    assert message.status == "rejected" and "Unknown facility" in message.reason
    assert "Doe^Jo" in message.raw
    assert Admission.objects.count() == 0


def test_a_resent_message_after_a_rejection_is_evaluated_again(run_tasks, facility):
    receive(run_tasks, adt(visit=""))
    answer = receive(run_tasks, adt())
    assert msa(answer.body)[1] == "AA"
    assert list(InboundMessage.objects.order_by("id").values_list("status", flat=True)) == [
        "rejected",
        "processed",
    ]


@pytest.mark.parametrize(
    "raw, code, where",
    [
        ("hello, this is not HL7", "AR", "MSH"),
        (adt(visit=""), "AE", "PV1^1^19"),
        (adt(patient_id="", folder=""), "AE", "PID^1^3"),
        (adt(event="A02"), "AR", "MSH^1^9"),
        (adt(patient_class="I"), "AE", "PV1^1^2"),
        (adt(dob="20011345"), "AE", "PID^1^7"),
        (adt(obx={"TRIAGE": "PURPLE"}), "AE", ""),
    ],
)
def test_a_malformed_message_is_answered_ae_or_ar_naming_the_field_and_kept(
    run_tasks, facility, raw, code, where
):
    answer = receive(run_tasks, raw)
    assert msa(answer.body)[1] == code
    assert where in err(answer.body)
    message = InboundMessage.objects.get()
    assert message.status == "rejected" and message.reason
    assert message.raw  # raw kept
    assert Admission.objects.count() == 0


def test_an_arrival_in_the_future_is_an_error_in_content(run_tasks, facility):
    answer = receive(run_tasks, adt(arrival=timezone.now() + timedelta(days=2)))
    assert msa(answer.body)[1] == "AE"
    assert "PV1^1^44" in err(answer.body) and "future" in err(answer.body)


def test_an_a08_updates_the_same_admission_and_an_a03_sets_the_disposition(run_tasks, facility, suburb):
    receive(run_tasks, adt(control="C1"))
    receive(run_tasks, adt(control="C2", event="A08", obx={"SUBURB": suburb.code, "TRIAGE": "RED"}))
    discharge = adt(control="C3", event="A03", codes=[], obx={"DISPOSITION": "died"})
    answer = receive(run_tasks, discharge)
    assert msa(answer.body)[1] == "AA"
    admission = Admission.objects.get()
    assert (admission.triage, admission.suburb, admission.disposition) == ("red", suburb, "died")
    assert admission.mechanism == "sharp" and admission.incident is not None
    assert InboundMessage.objects.filter(status="processed").count() == 3


def test_admissions_of_the_same_place_mechanism_and_two_hours_join_one_incident(run_tasks, facility, suburb):
    t = timezone.now() - timedelta(hours=5)
    receive(run_tasks, adt(control="A", visit="V1", arrival=t, obx={"SUBURB": suburb.code}))
    receive(
        run_tasks,
        adt(
            control="B",
            visit="V2",
            arrival=t + timedelta(minutes=90),
            obx={"SUBURB": suburb.code},
            patient_id="9001015800088",
            folder="1",
        ),
    )
    receive(
        run_tasks,
        adt(
            control="C",
            visit="V3",
            arrival=t + timedelta(hours=4),
            obx={"SUBURB": suburb.code},
            patient_id="9001025800086",
            folder="2",
        ),
    )
    receive(
        run_tasks,
        adt(
            control="D",
            visit="V4",
            arrival=t,
            codes=["X95.0"],
            obx={"SUBURB": suburb.code},
            patient_id="9001035800084",
            folder="3",
        ),
    )
    a = {x.visit_number: x.incident_id for x in Admission.objects.all()}
    assert a["V1"] == a["V2"]
    assert a["V3"] != a["V1"] and a["V4"] != a["V1"]
    assert Incident.objects.count() == 3


def test_a_message_that_cannot_be_processed_becomes_a_dead_letter_with_its_reason(run_tasks, facility):
    receive(run_tasks, adt())
    message = InboundMessage.objects.get()
    # The same stored row, as if it had been corrupted between receipt and processing.
    InboundMessage.objects.filter(pk=message.pk).update(status="received")
    message.raw = message.raw.replace("PV1|1|E", "PV1|1|E").replace("V0001", "")
    message.save(update_fields=["raw"])
    Admission.objects.all().delete()
    process.inbound_process(message.pk)
    message.refresh_from_db()
    assert message.status == "failed"
    assert "PV1-19" in message.reason


def test_processing_twice_does_nothing_the_second_time(run_tasks, facility):
    receive(run_tasks, adt())
    message = InboundMessage.objects.get()
    incidents = Incident.objects.count()
    assert process.inbound_process(message.pk) == {}
    assert Admission.objects.count() == 1
    assert Incident.objects.count() == incidents
    message.refresh_from_db()
    assert message.status == "processed" and message.attempts == 1


def test_the_sweeper_rekicks_messages_stuck_in_processing(facility):
    # Stored but never processed: the task was lost (no on-commit run here).
    receiving.inbound_receive_hl7(raw=adt())
    message = InboundMessage.objects.get()
    InboundMessage.objects.filter(pk=message.pk).update(
        status="processing", attempts=1, status_changed_at=timezone.now() - timedelta(minutes=5)
    )
    result = tasks.sweep_inbound(older_than_seconds=60)
    assert result["released"] == 1 and result["kicked"] == 1
    message.refresh_from_db()
    assert message.status == "processed" and message.attempts == 2
    assert Admission.objects.count() == 1


@pytest.mark.postgres
def test_a_batch_of_waiting_messages_is_processed_together_and_joins_incidents_within_it(facility, suburb):
    t = timezone.now() - timedelta(hours=10)
    for i, minutes in enumerate([0, 30, 100, 400]):
        receiving.inbound_receive_hl7(
            raw=adt(
                control=f"B{i}",
                visit=f"VB{i}",
                arrival=t + timedelta(minutes=minutes),
                patient_id=sa_id_check_digit(f"900101500{i:03d}"),
                folder=str(i),
                obx={"SUBURB": suburb.code},
            )
        )
    first = InboundMessage.objects.order_by("id").first()
    results = process.inbound_process(first.pk)
    assert sorted(results.values()) == ["processed"] * 4
    incident_of = dict(Admission.objects.values_list("visit_number", "incident_id"))
    assert incident_of["VB0"] == incident_of["VB1"] == incident_of["VB2"]  # a chain, each within 2 h of one
    assert incident_of["VB3"] != incident_of["VB0"]
