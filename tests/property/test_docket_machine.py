"""The docket machine (PoliceCase) through its services, against the design's table written out here."""

from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from casework import permissions as cw
from casework import transitions
from casework.errors import InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from casework.models import PoliceCase, TransitionLog
from tests.factories import CourtFactory, PoliceCaseFactory, StationFactory

from .machine import BOUNDED, CleanMachine, log_count, make_user

CLOSED = ("closed_undetected", "closed_unfounded", "withdrawn_by_complainant", "declined_to_prosecute")
STATES = {"opened", "investigating", "referred_to_npa", *CLOSED}
# DESIGN.md, "Police case": transition -> (from states, to state).
TABLE = {
    "investigate": ({"opened"}, "investigating"),
    "refer_to_npa": ({"investigating"}, "referred_to_npa"),
    "return_for_investigation": ({"referred_to_npa"}, "investigating"),
    "decline_to_prosecute": ({"referred_to_npa"}, "declined_to_prosecute"),
    "close_undetected": ({"opened", "investigating"}, "closed_undetected"),
    "close_unfounded": ({"opened", "investigating"}, "closed_unfounded"),
    "complainant_withdraws": ({"opened", "investigating"}, "withdrawn_by_complainant"),
    "reopen": (set(CLOSED), "investigating"),
}
NEEDS_REASON = {
    "return_for_investigation",
    "decline_to_prosecute",
    "close_unfounded",
    "complainant_withdraws",
    "reopen",
}
NPA_DECISIONS = {"return_for_investigation", "decline_to_prosecute"}
ACTORS = ("saps", "npa", "other_saps", "watcher", "admin")


class DocketMachine(CleanMachine):
    name = "docket (PoliceCase)"

    def __init__(self):
        super().__init__()
        station, elsewhere = StationFactory(), StationFactory()
        court = CourtFactory()
        court.stations.add(station)
        self.actors = {
            "saps": make_user(cw.SAPS_LIAISON, station),
            "npa": make_user(cw.NPA_LIAISON, court),
            "other_saps": make_user(cw.SAPS_LIAISON, elsewhere),
            "watcher": make_user(cw.COURT_WATCHER),
            "admin": make_user(cw.ADMIN),
        }
        self.case = PoliceCaseFactory(station=station)
        TransitionLog.record_start(self.case, "open", actor=None)
        self.state, self.version, self.logs = "opened", 1, 1

    # -- the reference model
    def may(self, actor: str, name: str) -> bool:
        if actor == "admin":
            return True
        if actor == "saps":
            return name not in NPA_DECISIONS
        # An NPA liaison sees a docket only while it is referred to the NPA (from a served station).
        return actor == "npa" and name in NPA_DECISIONS and self.state == "referred_to_npa"

    def expected_error(self, actor, name, version):
        if not self.may(actor, name):
            return PermissionDenied
        if version != self.version:
            return StaleVersion
        if self.state not in TABLE[name][0]:
            return NotAllowed
        return None

    def call(self, name, actor, version, reason="a reason"):
        service = transitions.get(PoliceCase, name).service
        case = PoliceCase.objects.get(pk=self.case.pk)
        return lambda: service(case, actor=self.actors[actor], version=version, reason=reason)

    # -- the rules
    @rule(
        name=st.sampled_from(sorted(TABLE)),
        actor=st.sampled_from(ACTORS),
        off_by=st.sampled_from([0, 0, 0, 0, -1, 1]),
    )
    def take(self, name, actor, off_by):
        version = self.version + off_by
        expected = self.expected_error(actor, name, version)
        if expected is not None:
            self.refused(expected, self.call(name, actor, version), [self.case])
            return
        moved = self.call(name, actor, version)()
        self.state, self.version, self.logs = TABLE[name][1], self.version + 1, self.logs + 1
        assert moved.state == self.state and moved.version == self.version
        self.count_step(took=name)

    @rule(data=st.data())
    def move(self, data):
        """A transition the design allows now, by someone who may take it."""
        name = data.draw(st.sampled_from([n for n, (sources, _t) in TABLE.items() if self.state in sources]))
        actor = data.draw(st.sampled_from([a for a in ACTORS if self.may(a, name)]))
        self.take(name, actor, 0)

    @rule(name=st.sampled_from(sorted(NEEDS_REASON)), actor=st.sampled_from(ACTORS))
    def without_a_reason(self, name, actor):
        # The fields are checked before who, version and state: a missing reason is always 422.
        self.refused(InvalidInput, self.call(name, actor, self.version, reason="  "), [self.case])

    # -- after every step
    @invariant()
    def matches_the_model(self):
        case = PoliceCase.objects.get(pk=self.case.pk)
        assert case.state in STATES
        assert (case.state, case.version, log_count(case)) == (self.state, self.version, self.logs)

    @invariant()
    def the_log_ends_in_the_state(self):
        last = TransitionLog.for_object(self.case).order_by("-id").first()
        assert last.to_state == self.state


def test_the_registry_offers_the_designs_docket_transitions(db):
    assert {s.name: s.target for s in transitions.specs_for(PoliceCase)} == {
        n: t for n, (_f, t) in TABLE.items()
    }


def test_the_docket_machine_keeps_the_design_through_its_services(db):
    run_state_machine_as_test(DocketMachine, settings=BOUNDED)
