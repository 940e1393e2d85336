"""The referral machine through its services, against DESIGN.md's "Referral" written out here."""

from functools import partial

from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from casework import permissions as cw
from casework import transitions
from casework.errors import InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from casework.models import TransitionLog
from referrals import services
from referrals.models import Admission, Referral
from tests.factories import FacilityFactory, IncidentFactory, PoliceCaseFactory, StationFactory, SuburbFactory

from .machine import CleanMachine, bounded, log_count, make_user

STATES = {"pending", "sent", "acknowledged", "case_opened", "declined"}
TABLE = {
    "send": ({"pending"}, "sent"),
    "acknowledge": ({"sent"}, "acknowledged"),
    "open_case": ({"acknowledged"}, "case_opened"),
    "decline": ({"pending", "sent", "acknowledged"}, "declined"),
    "reopen": ({"declined"}, "pending"),
}
# The hospital sends, declines and reopens; the station acknowledges, opens the case, declines, reopens.
HOSPITAL = {"send", "decline", "reopen"}
STATION = {"acknowledge", "open_case", "decline", "reopen"}
ACTORS = ("clerk", "other_clerk", "saps", "other_saps", "admin")


class ReferralMachine(CleanMachine):
    name = "referral"

    def __init__(self):
        super().__init__()
        station, facility = StationFactory(), FacilityFactory()
        suburb = SuburbFactory(station=station)
        self.actors = {
            "clerk": make_user(cw.HEALTH_CAPTURE, facility),
            "other_clerk": make_user(cw.HEALTH_CAPTURE, FacilityFactory()),
            "saps": make_user(cw.SAPS_LIAISON, station),
            "other_saps": make_user(cw.SAPS_LIAISON, StationFactory()),
            "admin": make_user(cw.ADMIN),
        }
        admission = Admission.objects.create(
            facility=facility,
            visit_number=f"V{suburb.pk}",
            arrival_at=timezone.now(),
            mechanism="sharp",
            suburb=suburb,
            incident=IncidentFactory(suburb=suburb),
        )
        self.referral = services.referral_create(admission=admission, actor=self.actors["clerk"])
        self.docket = PoliceCaseFactory(station=station, incidents=[])
        self.elsewhere = PoliceCaseFactory(incidents=[])
        self.state, self.version, self.logs = "pending", 1, 1

    def may(self, actor: str, name: str) -> bool:
        if actor == "admin":
            return True
        return (actor == "clerk" and name in HOSPITAL) or (actor == "saps" and name in STATION)

    def call(self, name, actor, version, **fields):
        defaults = {
            "decline": {"reason": "Does not want to lay a charge"},
            "open_case": {"police_case": self.docket},
        }
        service = transitions.get(Referral, name).service
        referral = Referral.objects.get(pk=self.referral.pk)
        kwargs = {**defaults.get(name, {}), **fields}
        return partial(service, referral, actor=self.actors[actor], version=version, **kwargs)

    def take(self, name, actor, off_by):
        version = self.version + off_by
        expected = None
        if not self.may(actor, name):
            expected = PermissionDenied
        elif version != self.version:
            expected = StaleVersion
        elif self.state not in TABLE[name][0]:
            expected = NotAllowed
        if expected is not None:
            self.refused(expected, self.call(name, actor, version), [self.referral, self.docket])
            return
        moved = self.call(name, actor, version)()
        self.state, self.version, self.logs = TABLE[name][1], self.version + 1, self.logs + 1
        assert (moved.state, moved.version) == (self.state, self.version)
        if name == "open_case":  # the docket links the admission's incident, with a row in its log
            assert list(self.docket.incidents.all()) == [self.referral.admission.incident]
        self.count_step(took=name)

    @rule(data=st.data())
    def move(self, data):
        names = [n for n, (sources, _to) in TABLE.items() if self.state in sources]
        if names:
            name = data.draw(st.sampled_from(names))
            self.take(name, data.draw(st.sampled_from([a for a in ACTORS if self.may(a, name)])), 0)

    @rule(
        name=st.sampled_from(sorted(TABLE)),
        actor=st.sampled_from(ACTORS),
        off_by=st.sampled_from([0, 0, -1, 1]),
    )
    def attempt(self, name, actor, off_by):
        self.take(name, actor, off_by)

    @rule(actor=st.sampled_from(ACTORS))
    def decline_without_a_reason(self, actor):
        self.refused(InvalidInput, self.call("decline", actor, self.version, reason=" "), [self.referral])

    @rule(actor=st.sampled_from(ACTORS))
    def open_a_docket_of_another_station(self, actor):
        call = self.call("open_case", actor, self.version, police_case=self.elsewhere)
        self.refused(InvalidInput, call, [self.referral, self.elsewhere])

    @invariant()
    def matches_the_model(self):
        r = Referral.objects.get(pk=self.referral.pk)
        assert r.state in STATES
        assert (r.state, r.version, log_count(r)) == (self.state, self.version, self.logs)
        assert TransitionLog.for_object(r).order_by("-id").first().to_state == self.state
        assert (r.police_case_id is not None) == (r.state == "case_opened")
        assert bool(r.decline_reason) == (r.state == "declined")


def test_the_registry_offers_the_designs_referral_transitions(db):
    registered = {s.name: s.target for s in transitions.specs_for(Referral)}
    assert registered == {n: to for n, (_sources, to) in TABLE.items()}


def test_the_referral_machine_keeps_the_design_through_its_services(db):
    run_state_machine_as_test(ReferralMachine, settings=bounded(10, 20))
