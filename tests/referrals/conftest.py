import pytest

from casework.models import Facility, Suburb
from referrals.intake import receive
from referrals.models import Admission, InboundMessage

from .helpers import adt


@pytest.fixture
def facility(db):
    return Facility.objects.get(code="tygerberg")


@pytest.fixture
def other_facility(db):
    return Facility.objects.get(code="groote-schuur")


@pytest.fixture
def suburb(db):
    return Suburb.objects.select_related("station").order_by("code").first()


@pytest.fixture
def clerk(make_user, facility):
    return make_user("health_capture", grants=[facility])


@pytest.fixture
def admission(run_tasks, facility, suburb):
    """Thandiwe Mokoena's admission at ``facility``, received over HL7, injured in ``suburb``."""
    run_tasks(receive.inbound_receive_hl7, raw=adt(name="Mokoena^Thandiwe", obx={"SUBURB": suburb.code}))
    return Admission.objects.get()


@pytest.fixture
def sender(make_sender, facility):
    """The facility's registered sending system (its hospital interface engine)."""
    return make_sender("hectis-tygerberg", facilities=[facility], certificate_subject="hectis-tygerberg")


@pytest.fixture
def feed(sender):
    """The sending system's account: what HL7 and FHIR over HTTP authenticate as (its API token)."""
    return sender.account


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Run what the code queued after commit (tasks are eager in tests), like a live worker would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def statuses():
    return dict(InboundMessage.objects.values_list("control_id", "status"))
