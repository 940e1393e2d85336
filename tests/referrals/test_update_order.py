"""Updates of a visit in the order they were meant (issue 11 item 2): a discharge that arrives before
its admission is processed is kept, and an older message never overwrites a newer one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals import tasks
from referrals.intake import process, receive
from referrals.models import Admission, InboundMessage
from referrals.parsing import CSV_HEADER

from .helpers import adt, ts

Status = InboundMessage.Status
HOUR = timedelta(hours=1)


def dated(raw: str, when) -> str:
    """``raw`` with its message time (MSH-7 and EVN-2) set to ``when``."""
    segs = raw.split("\r")
    msh = segs[0].split("|")
    msh[6] = ts(when)
    segs[0] = "|".join(msh)
    evn = segs[1].split("|")
    evn[2] = ts(when)
    segs[1] = "|".join(evn)
    return "\r".join(segs)


def discharge(visit="V0001", control="MSG0002", disposition="died", when=None) -> str:
    """An A03 without DG1 (no assault code) carrying the disposition in PV1-36."""
    raw = adt(event="A03", control=control, visit=visit, codes=(), obx={})
    segs = raw.split("\r")
    pv1 = segs[3].split("|")
    pv1[36] = disposition
    segs[3] = "|".join(pv1)
    raw = "\r".join(segs)
    return dated(raw, when) if when else raw


def stored(raw: str) -> InboundMessage:
    """Received with processing not yet run (as when the workers are behind)."""
    return receive.inbound_receive_hl7(raw=raw).message


def process_one(message: InboundMessage) -> None:
    process.inbound_process(message.pk, batch=1)


def test_a_discharge_without_dg1_right_after_its_unprocessed_admission_is_stored_not_filtered(db):
    admit = stored(adt(event="A01", control="A1"))
    answer = receive.inbound_receive_hl7(raw=discharge(control="D1"))
    assert answer.text == "Accepted."
    assert answer.message.status == Status.RECEIVED
    assert answer.message.raw
    assert admit.status == Status.RECEIVED


def test_the_discharge_lands_on_the_admission_when_both_are_processed_together(db):
    admit = stored(adt(event="A01", control="A1"))
    out = stored(discharge(control="D1"))
    process.inbound_process(admit.pk)
    assert Admission.objects.get().disposition == "died"
    out.refresh_from_db()
    assert out.status == Status.PROCESSED


def test_the_discharge_processed_alone_first_processes_its_admission_before_it(db):
    admit = stored(adt(event="A01", control="A1"))
    out = stored(discharge(control="D1"))
    process_one(out)
    a = Admission.objects.get()
    assert a.disposition == "died"
    admit.refresh_from_db()
    out.refresh_from_db()
    assert (admit.status, out.status) == (Status.PROCESSED, Status.PROCESSED)
    assert out.admission_id == a.pk


def test_a_discharge_whose_admission_another_worker_holds_unfinished_is_a_dead_letter_not_filtered(db):
    admit = stored(adt(event="A01", control="A1"))
    out = stored(discharge(control="D1"))
    InboundMessage.objects.filter(pk=admit.pk).update(status=Status.PROCESSING, attempts=1)
    process_one(out)
    out.refresh_from_db()
    assert out.status == Status.FAILED
    assert "still being processed" in out.reason
    assert out.raw


def test_a_discharge_of_a_visit_nobody_sent_an_admission_for_is_still_filtered(db):
    stored(adt(event="A01", control="A1", visit="OTHER"))
    answer = receive.inbound_receive_hl7(raw=discharge(control="D1"))
    assert answer.message.status == Status.FILTERED
    assert answer.message.raw == ""


def test_an_older_admission_received_after_a_newer_update_does_not_overwrite_it(db):
    now = timezone.now()
    newer = stored(dated(adt(event="A08", control="U1", obx={"TRIAGE": "RED"}), now))
    older = stored(dated(adt(event="A01", control="A1", obx={"TRIAGE": "GREEN"}), now - HOUR))
    process_one(newer)
    process_one(older)
    a = Admission.objects.get()
    assert (a.triage, a.event) == ("red", "A08")
    older.refresh_from_db()
    assert older.status == Status.PROCESSED
    assert older.reason == "Older than the admission's last update: changed nothing."


def test_an_older_admission_in_the_same_batch_as_a_newer_update_does_not_overwrite_it(db):
    now = timezone.now()
    stored(dated(adt(event="A08", control="U1", obx={"TRIAGE": "RED"}), now))
    older = stored(dated(adt(event="A01", control="A1", obx={"TRIAGE": "GREEN"}), now - HOUR))
    process.inbound_process(older.pk)
    assert Admission.objects.get().triage == "red"


def test_an_update_newer_than_the_admission_applies(db):
    now = timezone.now()
    process_one(stored(dated(adt(event="A01", control="A1", obx={"TRIAGE": "GREEN"}), now - HOUR)))
    process_one(stored(dated(adt(event="A08", control="U1", obx={"TRIAGE": "RED"}), now)))
    a = Admission.objects.get()
    assert (a.triage, a.event) == ("red", "A08")


def test_of_two_updates_out_of_order_the_newer_stands(db):
    now = timezone.now()
    process_one(stored(dated(adt(event="A01", control="A1", obx={"TRIAGE": "GREEN"}), now - 2 * HOUR)))
    process_one(stored(dated(adt(event="A08", control="U2", obx={"TRIAGE": "RED"}), now)))
    process_one(stored(dated(adt(event="A08", control="U1", obx={"TRIAGE": "YELLOW"}), now - HOUR)))
    assert Admission.objects.get().triage == "red"


def test_without_a_message_time_the_evn_time_orders_updates(db):
    now = timezone.now()

    def undated_msh(raw):
        segs = raw.split("\r")
        msh = segs[0].split("|")
        msh[6] = ""
        segs[0] = "|".join(msh)
        return "\r".join(segs)

    process_one(stored(undated_msh(dated(adt(event="A08", control="U1", obx={"TRIAGE": "RED"}), now))))
    process_one(
        stored(undated_msh(dated(adt(event="A01", control="A1", obx={"TRIAGE": "GREEN"}), now - HOUR)))
    )
    assert Admission.objects.get().triage == "red"


def csv_update(clerk, triage: str) -> InboundMessage:
    """A CSV row for visit V0001 (no message time of its own: the time we received it)."""
    row = dict.fromkeys(CSV_HEADER, "")
    arrival = timezone.localtime(timezone.now() - HOUR).strftime("%Y-%m-%d %H:%M")
    row.update(facility="tygerberg", visit_number="V0001", arrival_at=arrival, icd10_codes="S31.1 X99.0")
    row.update(patient_id="0105125800083", patient_id_type="NI", sex="F", age_years="25", triage=triage)
    text = ",".join(CSV_HEADER) + "\n" + ",".join(row[c] for c in CSV_HEADER) + "\n"
    return receive.inbound_receive_csv(text=text, actor=clerk).message


def test_a_csv_row_received_after_the_last_message_time_applies(clerk):
    process_one(stored(dated(adt(event="A01", control="A1", obx={"TRIAGE": "GREEN"}), timezone.now() - HOUR)))
    process_one(csv_update(clerk, "red"))
    assert Admission.objects.get().triage == "red"


def test_a_csv_row_older_than_the_last_message_time_changes_nothing(clerk):
    ahead = timezone.now() + HOUR  # a hospital clock ahead of ours: its message is the newer
    process_one(stored(dated(adt(event="A08", control="U1", obx={"TRIAGE": "GREEN"}), ahead)))
    process_one(csv_update(clerk, "red"))
    assert Admission.objects.get().triage == "green"


def test_an_admission_and_its_discharge_in_one_batch_are_both_kept_and_the_discharge_lands(db):
    answers = receive.inbound_receive_hl7_batch([adt(event="A01", control="A1"), discharge(control="D1")])
    assert [a.message.status for a in answers] == [Status.RECEIVED, Status.RECEIVED]
    assert answers[1].message.raw
    process.inbound_process(answers[0].message.pk)
    assert Admission.objects.get().disposition == "died"


def test_an_update_finds_its_waiting_admission_by_visit_number_kept_at_receipt(db):
    admit = stored(adt(event="A01", control="A1", visit="V0042"))
    assert InboundMessage.objects.get(pk=admit.pk).visit_number == "V0042"
    other = receive.inbound_receive_hl7(raw=discharge(control="D9", visit="V0043"))
    assert other.message.status == Status.FILTERED
    assert other.message.visit_number == ""  # nothing of a filtered visit is kept beyond its metadata


def test_a_discharge_whose_admission_is_a_dead_letter_is_kept_and_lands_after_both_are_replayed(
    db, django_user_model
):
    from referrals.dead_letters import dead_letter_replay

    admit = stored(adt(event="A01", control="A1"))
    InboundMessage.objects.filter(pk=admit.pk).update(status=Status.FAILED, reason="database was away")
    answer = receive.inbound_receive_hl7(raw=discharge(control="D1"))
    assert answer.message.status == Status.RECEIVED  # not filtered: its admission may come back
    process_one(answer.message)
    out = InboundMessage.objects.get(pk=answer.message.pk)
    assert out.status == Status.FAILED
    assert f"dead letter (#{admit.pk})" in out.reason
    assert out.raw

    dead_letter_replay(message=admit, actor=None)
    process_one(admit)
    dead_letter_replay(message=out, actor=None)
    process_one(out)
    assert Admission.objects.get().disposition == "died"


@pytest.mark.postgres
def test_the_sweeper_processes_every_csv_file_whose_kick_was_lost_not_only_one_per_batch(clerk):
    files = [csv_update(clerk, triage) for triage in ("red", "orange", "yellow")]
    stored(adt(event="A01", control="A1", visit="V0002"))
    InboundMessage.objects.update(status_changed_at=timezone.now() - HOUR)  # all kicks lost an hour ago
    tasks.sweep_inbound(older_than_seconds=60)
    statuses = InboundMessage.objects.filter(pk__in=[f.pk for f in files]).values_list("status", flat=True)
    assert sorted(statuses) == ["processed", "processed", "processed"]
    assert InboundMessage.objects.exclude(status="processed").count() == 0
