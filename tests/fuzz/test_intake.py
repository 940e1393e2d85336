"""HL7 and CSV fuzzing (issue 11): whatever arrives at the intake gets an answer, never an exception, and
nothing is half-written.

Inputs start from a good message or file and are spoiled the ways senders spoil them: cut short, grown
too large, in latin-1 or with invalid UTF-8, with odd separators declared in MSH or separators inside
fields, with CR/LF mixed. HL7 goes to ``inbound_receive_hl7`` (the single-message path); CSV to the
upload endpoint (bytes in, decoded there, then ``inbound_receive_csv``). Processing runs after commit
as a worker would. FUZZ_EXAMPLES scales the run (`make fuzz`).
"""

import itertools
import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from casework.models import Facility
from referrals import permissions
from referrals.intake import receive
from referrals.models import Admission, Channel, InboundMessage
from referrals.parsing import CSV_HEADER
from referrals.parsing.rules import sa_id_check_digit
from tests.referrals.helpers import adt, msa

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3")) * 20
RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
serial = itertools.count(1)

# ------------------------------------------------------------------ spoilers, bytes in, bytes out
ENDINGS = st.sampled_from(["\r", "\n", "\r\n", "\n\r", "\r\r", ""])
ODD = st.sampled_from(list("#!@$*%;,:/+=\t ") + ["\x00", "\x1c", "é", "ÿ"])


def _cut(data, draw):
    return data[: draw(st.integers(0, len(data)))]


def _grow(data, draw):
    at = draw(st.integers(0, len(data)))
    return (
        data[:at]
        + draw(st.sampled_from([b"A", b"|", b"^", b",", b"\r", b'"']))
        * draw(st.sampled_from([1_000, 70_000, 300_000]))
        + data[at:]
    )


def _latin1(data, draw):
    return data.replace(b"Doe", "Müller-Ĳsselmeer".encode("latin-1", "replace")).replace(
        b"tafelsig", "Café".encode("latin-1")
    )


def _bad_utf8(data, draw):
    at = draw(st.integers(0, len(data)))
    return (
        data[:at]
        + draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf0\x28\x8c", b"\x80"]))
        + data[at:]
    )


def _endings(data, draw):
    parts = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")
    return b"".join(p + draw(ENDINGS).encode() for p in parts)


def _splice(data, draw):
    at = draw(st.integers(0, len(data)))
    return (
        data[:at]
        + draw(st.sampled_from([b"|", b"^~\\&", b"\\", b"~", b"&", b",", b'"', b";", b"\x00"]))
        + data[at:]
    )


def _noise(data, draw):
    return draw(st.binary(max_size=300))


COMMON = [_cut, _grow, _latin1, _bad_utf8, _endings, _splice, _noise]


def _odd_msh(data, draw):
    """MSH declaring other separators: consistently used, or declared and then not used."""
    field, comp = draw(ODD).encode(), draw(ODD).encode()
    head = data[3:8]  # b"|^~\\&"
    declared = field + comp + head[2:]
    rest = data[8:]
    if draw(st.booleans()):
        rest = rest.replace(b"|", field).replace(b"^", comp)
    return b"MSH" + declared + rest


def spoiled(good, extra=()):
    @st.composite
    def build(draw):
        data = good().encode()
        for spoil in draw(st.lists(st.sampled_from(COMMON + list(extra)), min_size=1, max_size=3)):
            data = spoil(data, draw)
        return data

    return build()


# ------------------------------------------------------------------------------------------- HL7
def _good_hl7():
    n = next(serial)
    return adt(control=f"FUZZ{n:08d}", visit=f"FV{n:08d}")  # one length: a stable strategy


@pytest.fixture
def sender(make_sender):
    system = make_sender("hectis-fuzz", facilities=[Facility.objects.get(code="tygerberg")])
    return permissions.sender_of(system)  # as the MLLP listener holds it


def test_every_hl7_message_gets_an_ack_and_a_refused_one_leaves_no_admission(
    sender, django_capture_on_commit_callbacks, capsys
):
    answers = Counter()

    @FUZZ
    @given(raw=spoiled(_good_hl7, extra=[_odd_msh]))
    def receive_one(raw):
        before = Admission.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            answer = receive.inbound_receive_hl7(raw=raw, channel=Channel.HL7_MLLP, sender=sender)
        answers[answer.code] += 1
        assert answer.code in {"AA", "AE", "AR"}
        assert msa(answer.body)[1] == answer.code
        if answer.code != "AA":
            assert Admission.objects.count() == before
        if answer.message is not None and answer.message.pk is not None:
            _assert_whole(Admission.objects.filter(message=answer.message))

    receive_one()
    _print(capsys, "HL7 messages", answers)


# ------------------------------------------------------------------------------------------- CSV
def _good_csv():
    n = next(serial)
    rows = [",".join(CSV_HEADER)]
    for i in range(3):
        row = dict.fromkeys(CSV_HEADER, "")
        row.update(
            facility="tygerberg", visit_number=f"FC{n:08d}-{i}", arrival_at="2026-11-30 21:15",
            icd10_codes="S31.1 X99.4", patient_id_type="NI",
            patient_id=sa_id_check_digit(f"9001015{n % 1000:03d}{i}0"),
            name="Jo Doe", sex="M", age_years="23", suburb="tafelsig",
        )  # fmt: skip
        rows.append(",".join(row[c] for c in CSV_HEADER))
    return "\n".join(rows) + "\n"


def _delimiter(data, draw):
    return data.replace(b",", draw(st.sampled_from([b";", b"\t", b"|", b", ", b'","'])))


def _quote(data, draw):
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from([b'"', b'"a,b"', b'""', b'"\n"', b"\\,"])) + data[at:]


@pytest.fixture
def clerk(make_user):
    return make_user("health_capture", grants=[Facility.objects.get(code="tygerberg")])


def test_every_csv_upload_gets_a_report_or_a_400_and_stored_rows_are_whole(
    clerk, django_capture_on_commit_callbacks, capsys
):
    answers = Counter()
    client = APIClient()
    client.force_authenticate(clerk)

    @FUZZ
    @given(body=spoiled(_good_csv, extra=[_delimiter, _quote]))
    def upload(body):
        before = Admission.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/intake/csv/", data=body, content_type="text/csv")
        answers[response.status_code] += 1
        assert response.status_code in {200, 201, 400, 413, 422}, response.content[:300]
        if response.status_code == 400:
            assert Admission.objects.count() == before
            return
        if response.status_code == 413:
            return
        report = json.loads(response.content)  # the per-row report
        assert 0 <= report["accepted"] <= report["rows"]
        if response.status_code == 422:
            assert report["accepted"] == 0 and Admission.objects.count() == before
        batch = InboundMessage.objects.filter(channel=Channel.CSV).order_by("-pk").first()
        kept = Admission.objects.filter(message=batch)
        assert kept.count() <= report["accepted"]
        _assert_whole(kept)

    upload()
    _print(capsys, "CSV uploads", answers)


def _print(capsys, what, answers):
    with capsys.disabled():
        print(f"\nfuzz {what}: {sum(answers.values())} examples, answered {dict(sorted(answers.items()))}")


def _assert_whole(admissions):
    for a in admissions:
        assert a.facility_id and a.visit_number and a.arrival_at and a.mechanism, a.pk
