"""What HL7 and CSV fuzzing (tests/fuzz/test_intake.py) found at the intake's doors: each stays fixed."""

import pytest

from casework.models import Facility
from referrals.models import Admission, InboundMessage
from referrals.parsing import CSV_HEADER

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(make_user):
    return make_user("health_capture", grants=[Facility.objects.get(code="tygerberg")])


@pytest.mark.parametrize(
    "header",
    [
        ",".join(CSV_HEADER).replace("visit_number", "visit\rnumber"),  # a bare CR inside a header cell
        ",".join(CSV_HEADER) + "," + "A" * 140_000,  # a header cell over the csv module's limit
    ],
    ids=["bare-cr-in-header", "header-cell-too-long"],
)
def test_a_csv_whose_header_cannot_be_read_is_refused_with_a_report_not_a_500(api, clerk, header):
    body = (header + "\ntygerberg,V1,2026-11-30 21:15,S31.1 X99.4,9001015009003\n").encode()
    response = api(clerk).post("/api/v1/intake/csv/", data=body, content_type="text/csv")
    assert response.status_code == 422
    assert response.json()["accepted"] == 0
    assert response.json()["problems"][0]["row"] == 1
    assert response.json()["problems"][0]["field"] == "csv"
    assert InboundMessage.objects.get().status == "rejected"
    assert not Admission.objects.exists()
