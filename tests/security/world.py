"""Two scopes, A and B, with one of everything in each, and a user per role granted scope A.

Built through the services where the services exist (so briefs, reviews and log rows are what the
app makes), and with the ORM where a test only arranges a starting point (admissions, messages).
Used by the scope tests and by the permission matrix (built once per module there).
"""

import datetime
from types import SimpleNamespace

from django.contrib.auth.models import Group
from django.utils import timezone

from casework import permissions as cw
from casework import services as cws
from casework.models import Court, PoliceCase
from courtwatch import services as cwt
from courtwatch.models import Brief, Notification, WithdrawalReview
from referrals import permissions as rp
from referrals.models import Admission, InboundMessage, Referral, SendingSystem
from tests.factories import (
    CourtFactory,
    DistrictFactory,
    FacilityFactory,
    OffenceFactory,
    StationFactory,
    SuburbFactory,
    UserFactory,
    set_state,
)


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def make_user(username: str, *groups: str, grants=(), **kwargs):
    user = UserFactory(username=username, **kwargs)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    for obj in grants:
        cw.grant(user, obj)
    return user


def _side(tag: str, district, offence) -> SimpleNamespace:
    """One scope: a facility, a station, a court serving it, a suburb in its precinct, and cases."""
    s = SimpleNamespace(tag=tag)
    s.facility = FacilityFactory(code=f"facility-{tag}", name=f"Hospital {tag}", district=district)
    s.station = StationFactory(code=f"station-{tag}", name=f"Station {tag}", district=district)
    s.court = CourtFactory(
        code=f"court-{tag}", name=f"Court {tag}", level=Court.Level.DISTRICT, district=district
    )
    s.court.stations.add(s.station)
    s.suburb = SuburbFactory(code=f"suburb-{tag}", name=f"Suburb {tag}", station=s.station)
    s.offence = offence
    s.incident = cws.incident_create(
        actor=None,
        occurred_at=timezone.now() - datetime.timedelta(days=200),
        suburb=s.suburb,
        mechanism="sharp",
        place_type="street",
    )
    s.admission = Admission.objects.create(
        facility=s.facility,
        visit_number=f"V-{tag}",
        arrival_at=timezone.now() - datetime.timedelta(days=200),
        mechanism="sharp",
        suburb=s.suburb,
        incident=s.incident,
        age_years=30,
        age_band="25-34",
        sex="male",
    )
    s.referral = Referral.objects.create(admission=s.admission, station=s.station)
    # A docket referred to the NPA, waiting for a prosecutor of the court that serves its station.
    s.police_case = cws.police_case_open(
        actor=None,
        station=s.station,
        cas_number=f"1/01/{days_ago(300).year}",
        offence=offence,
        opened_on=days_ago(300),
        incidents=[s.incident],
    )
    set_state(s.police_case, PoliceCase.State.REFERRED_TO_NPA)
    # A docket on the roll already, with its brief (from the enrolment reaction).
    s.enrolled_case = cws.police_case_open(
        actor=None,
        station=s.station,
        cas_number=f"2/01/{days_ago(300).year}",
        offence=offence,
        opened_on=days_ago(300),
        incidents=[s.incident],
    )
    s.prosecution = cws.prosecution_enrol(
        actor=None,
        police_case=s.enrolled_case,
        court=s.court,
        case_number=f"RC 1/{tag}",
        enrolled_on=days_ago(250),
        accused=[{"name": f"Accused {tag}"}],
    )
    s.brief = Brief.objects.get(prosecution=s.prosecution)
    # A matter withdrawn, with its committee review.
    s.withdrawn = cws.prosecution_enrol(
        actor=None,
        police_case=s.enrolled_case,
        court=s.court,
        case_number=f"RC 2/{tag}",
        enrolled_on=days_ago(250),
        accused=[{"name": f"Withdrawn accused {tag}"}],
    )
    cws.prosecution_withdraw(s.withdrawn, actor=None, version=None, reason="witness_intimidated")
    s.review = WithdrawalReview.objects.get(prosecution=s.withdrawn)
    s.message = InboundMessage.objects.create(
        channel="hl7_http",
        sender=s.facility.code,
        control_id=f"MSG-{tag}",
        raw="MSH|^~\\&|X|" + s.facility.code + "|",
        status=InboundMessage.DEAD[0],
        reason="MSH-9: unknown message type",
    )
    return s


def build_world() -> SimpleNamespace:
    district = DistrictFactory(code="district-ab", name="District AB")
    offence = OffenceFactory(code="attempted_murder", name="Attempted murder")
    a, b = _side("a", district, offence), _side("b", district, offence)
    w = SimpleNamespace(a=a, b=b, users={})
    u = w.users
    u["health_capture"] = make_user("role-health-capture", cw.HEALTH_CAPTURE, grants=[a.facility])
    u["vpu_analyst"] = make_user("role-vpu-analyst", cw.VPU_ANALYST)
    u["saps_liaison"] = make_user("role-saps-liaison", cw.SAPS_LIAISON, grants=[a.station])
    u["npa_liaison"] = make_user("role-npa-liaison", cw.NPA_LIAISON, grants=[a.court])
    u["court_watcher"] = make_user("role-court-watcher", cw.COURT_WATCHER)
    u["court_watch_supervisor"] = make_user("role-supervisor", cw.COURT_WATCH_SUPERVISOR)
    u["committee_member"] = make_user("role-committee", cw.COMMITTEE_MEMBER)
    u["manager"] = make_user("role-manager", cw.MANAGER)
    u["admin"] = make_user("role-admin", cw.ADMIN, is_staff=True, is_superuser=True)
    u["integration"] = make_user("role-integration", rp.INTEGRATION, grants=[a.facility])
    SendingSystem.objects.create(name="Sender A", account=u["integration"])
    u["anonymous"] = None
    w.watcher_b = make_user("other-court-watcher", cw.COURT_WATCHER)
    w.committee_b = make_user("other-committee", cw.COMMITTEE_MEMBER)
    w.manager_b = make_user("other-manager", cw.MANAGER)

    # Scope A's brief is the role's; scope B's another watcher's. Each has a hearing and feedback.
    for side, officer in ((a, u["court_watcher"]), (b, w.watcher_b)):
        cwt.brief_assign(side.brief, actor=None, version=None, officer=officer)
        side.hearing = cwt.hearing_record(
            actor=None,
            prosecution=side.prosecution,
            held_on=days_ago(200),
            kind="remand",
            outcome="postponed",
            reason="witness_absent",
            next_date=days_ago(100),
        )
        side.feedback = cwt.feedback_create(
            actor=None,
            brief=side.brief,
            category="docket_incomplete",
            text="The docket had no statements.",
            recipient="saps",
        )
        side.brief.refresh_from_db()
        side.prosecution.refresh_from_db()
    a.meeting = cwt.meeting_create(actor=None, date=days_ago(-7), members=[u["committee_member"]])
    b.meeting = cwt.meeting_create(actor=None, date=days_ago(-14), members=[w.committee_b])
    a.notification = Notification.objects.filter(user=u["court_watcher"]).first()
    b.notification = Notification.objects.filter(user=w.watcher_b).first()
    try:  # API tokens (knox), one per watcher: own and other scope for the token endpoints
        from knox.models import get_token_model

        a.token, _ = get_token_model().objects.create(user=u["court_watcher"])
        b.token, _ = get_token_model().objects.create(user=w.watcher_b)
    except ImportError:
        pass
    for side in (a, b):
        for obj in ("referral", "review", "brief", "prosecution", "police_case"):
            getattr(side, obj).refresh_from_db()
    return w


def sign_in(client, user):
    """Sign ``user`` in on a page client, with the session verified by a second factor where the
    project asks for one (django-otp): the matrix tests what each role reaches once signed in."""
    if user is None:
        return client
    client.force_login(user)
    try:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice
    except ImportError:  # no two-factor in this build
        return client
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="matrix", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
