"""Every allowed transition succeeds, and every other one is refused, for both casework machines.

The tables below are DESIGN.md's, written out independently of the models.
"""

import datetime

import pytest

from casework import services
from casework.errors import InvalidInput, NotAllowed
from casework.models import PoliceCase, Prosecution, TransitionLog
from tests.factories import CourtFactory, PoliceCaseFactory, ProsecutionFactory, set_state

CLOSED = ["closed_undetected", "closed_unfounded", "withdrawn_by_complainant", "declined_to_prosecute"]
POLICE_CASE_DESIGN = {
    "investigate": (["opened"], "investigating"),
    "refer_to_npa": (["investigating"], "referred_to_npa"),
    "return_for_investigation": (["referred_to_npa"], "investigating"),
    "decline_to_prosecute": (["referred_to_npa"], "declined_to_prosecute"),
    "close_undetected": (["opened", "investigating"], "closed_undetected"),
    "close_unfounded": (["opened", "investigating"], "closed_unfounded"),
    "complainant_withdraws": (["opened", "investigating"], "withdrawn_by_complainant"),
    "reopen": (CLOSED, "investigating"),
}
PROSECUTION_DESIGN = {
    "remand": (["enrolled", "remanded", "warrant_issued"], "remanded"),
    "transfer": (["enrolled", "remanded"], "remanded"),
    "start_trial": (["enrolled", "remanded"], "trial"),
    "convict": (["enrolled", "remanded", "trial"], "convicted"),
    "acquit": (["trial"], "acquitted"),
    "sentence": (["convicted"], "sentenced"),
    "withdraw": (["enrolled", "remanded", "trial"], "withdrawn"),
    "withdraw_provisionally": (["enrolled", "remanded"], "provisionally_withdrawn"),
    "strike_off": (["enrolled", "remanded"], "struck_off"),
    "issue_warrant": (["enrolled", "remanded", "trial"], "warrant_issued"),
    "divert": (["enrolled", "remanded"], "diverted"),
    "re_enrol": (["withdrawn", "provisionally_withdrawn", "struck_off"], "remanded"),
}
FINALISED = {
    "convicted",
    "sentenced",
    "acquitted",
    "withdrawn",
    "provisionally_withdrawn",
    "struck_off",
    "diverted",
}


def prosecution_fields(name):
    """Valid fields for each prosecution transition (the design's 'needs' column)."""
    return {
        "remand": {"reason": "docket_not_at_court", "next_date": datetime.date(2025, 3, 14)},
        "transfer": {"court": CourtFactory(level="high")},
        "sentence": {"sentence": "15 years' imprisonment"},
        "withdraw": {"reason": "witness_intimidated"},
        "withdraw_provisionally": {"reason": "docket_not_at_court"},
        "strike_off": {"reason": "detention_48h_exceeded"},
        "divert": {"programme": "NICRO youth programme"},
        "re_enrol": {"reason": "committee decision"},
    }.get(name, {})


def police_case_fields(name):
    needs_reason = {
        "return_for_investigation",
        "decline_to_prosecute",
        "close_unfounded",
        "complainant_withdraws",
        "reopen",
    }
    return {"reason": "recorded reason"} if name in needs_reason else {}


def cases(design, states):
    allowed, refused = [], []
    for name, (sources, target) in design.items():
        for state in states:
            (allowed if state in sources else refused).append((name, state, target))
    return allowed, refused


P_ALLOWED, P_REFUSED = cases(PROSECUTION_DESIGN, [s for s, _ in Prosecution.State.choices])
C_ALLOWED, C_REFUSED = cases(POLICE_CASE_DESIGN, [s for s, _ in PoliceCase.State.choices])


@pytest.mark.parametrize(("name", "state", "target"), P_ALLOWED)
def test_a_prosecution_takes_every_transition_the_design_allows(db, admin_user, name, state, target):
    p = ProsecutionFactory()
    set_state(p, state)
    moved = services.PROSECUTION_TRANSITIONS[name](
        p, actor=admin_user, version=p.version, **prosecution_fields(name)
    )
    p.refresh_from_db()
    assert (p.state, p.version) == (target, 2) == (moved.state, moved.version)
    log = TransitionLog.for_object(p).get()
    assert (log.transition, log.from_state, log.to_state, log.actor) == (name, state, target, admin_user)
    assert (p.finalised_on is not None) == (target in FINALISED)


@pytest.mark.parametrize(("name", "state", "target"), P_REFUSED)
def test_a_prosecution_refuses_every_transition_the_design_does_not_allow(
    db, admin_user, name, state, target
):
    p = ProsecutionFactory()
    set_state(p, state)
    with pytest.raises(NotAllowed) as refused:
        services.PROSECUTION_TRANSITIONS[name](
            p, actor=admin_user, version=p.version, **prosecution_fields(name)
        )
    p.refresh_from_db()
    assert (p.state, p.version) == (state, 1)
    assert not TransitionLog.for_object(p).exists()
    assert name not in refused.value.allowed


@pytest.mark.parametrize(("name", "state", "target"), C_ALLOWED)
def test_a_docket_takes_every_transition_the_design_allows(db, admin_user, name, state, target):
    case = PoliceCaseFactory()
    set_state(case, state)
    services.POLICE_CASE_TRANSITIONS[name](
        case, actor=admin_user, version=case.version, **police_case_fields(name)
    )
    case.refresh_from_db()
    assert (case.state, case.version) == (target, 2)
    assert TransitionLog.for_object(case).get().to_state == target


@pytest.mark.parametrize(("name", "state", "target"), C_REFUSED)
def test_a_docket_refuses_every_transition_the_design_does_not_allow(db, admin_user, name, state, target):
    case = PoliceCaseFactory()
    set_state(case, state)
    with pytest.raises(NotAllowed):
        services.POLICE_CASE_TRANSITIONS[name](
            case, actor=admin_user, version=case.version, **police_case_fields(name)
        )
    case.refresh_from_db()
    assert (case.state, case.version) == (state, 1)
    assert not TransitionLog.for_object(case).exists()


MISSING_FIELDS = [
    ("remand", {"next_date": datetime.date(2025, 3, 14)}, "reason"),
    ("remand", {"reason": "docket_not_at_court"}, "next_date"),
    ("remand", {"reason": "not_a_code", "next_date": datetime.date(2025, 3, 14)}, "reason"),
    ("transfer", {"court": None}, "court"),
    ("sentence", {"sentence": "  "}, "sentence"),
    ("withdraw", {"reason": ""}, "reason"),
    ("withdraw", {"reason": "because"}, "reason"),
    ("withdraw_provisionally", {"reason": ""}, "reason"),
    ("strike_off", {"reason": "court_roll_full"}, "reason"),
    ("divert", {"programme": ""}, "programme"),
]


@pytest.mark.parametrize(("name", "fields", "field"), MISSING_FIELDS)
def test_a_transition_without_its_required_field_is_refused_and_changes_nothing(
    db, admin_user, name, fields, field
):
    p = ProsecutionFactory()
    set_state(p, "remanded")
    kwargs = {"next_date": None, "reason": None} if name == "remand" else {}
    kwargs.update(fields)
    with pytest.raises(InvalidInput) as err:
        services.PROSECUTION_TRANSITIONS[name](p, actor=admin_user, version=p.version, **kwargs)
    assert field in err.value.errors
    p.refresh_from_db()
    assert (p.state, p.version) == ("remanded", 1)
    assert not TransitionLog.objects.exists()


def test_re_enrolment_needs_a_reason_and_counts_enrolments(db, admin_user):
    p = ProsecutionFactory()
    services.prosecution_withdraw(p, actor=admin_user, version=1, reason="docket_not_at_court")
    with pytest.raises(InvalidInput):
        services.prosecution_re_enrol(p, actor=admin_user, version=2, reason="")
    p = services.prosecution_re_enrol(
        p, actor=admin_user, version=2, reason="committee decision", next_date=datetime.date(2025, 6, 1)
    )
    assert (p.state, p.enrolments, p.finalised_on, p.removal_reason) == ("remanded", 2, None, "")
    assert p.next_appearance == datetime.date(2025, 6, 1)


def test_each_accused_gets_the_outcome_at_finalisation(db, admin_user):
    p = ProsecutionFactory(accused=["First Accused", "Second Accused"])
    set_state(p, "trial")
    services.prosecution_acquit(p, actor=admin_user, version=1)
    assert sorted(p.accused.values_list("outcome", flat=True)) == ["acquitted", "acquitted"]


def test_a_hearing_recorded_later_takes_effect_on_the_hearing_day(db, admin_user):
    from django.utils import timezone

    p = ProsecutionFactory()
    hearing_day = timezone.now() - datetime.timedelta(days=3)
    services.prosecution_withdraw(
        p, actor=admin_user, version=1, reason="witness_unavailable", at=hearing_day
    )
    p.refresh_from_db()
    assert p.finalised_on == hearing_day
    log = TransitionLog.for_object(p).get()
    assert log.at == hearing_day and log.recorded_at > hearing_day


def test_a_change_cannot_take_effect_in_the_future(db, admin_user):
    from django.utils import timezone

    p = ProsecutionFactory()
    with pytest.raises(InvalidInput):
        services.prosecution_issue_warrant(
            p, actor=admin_user, version=1, at=timezone.now() + datetime.timedelta(days=1)
        )
    p.refresh_from_db()
    assert p.state == "enrolled"


def test_an_enrolment_sits_at_the_start_of_its_timeline_even_when_hearings_are_recorded_later(db, admin_user):
    from django.utils import timezone

    case = PoliceCaseFactory(opened_on=datetime.date(2025, 1, 10))
    p = services.prosecution_enrol(
        actor=admin_user,
        police_case=case,
        court=CourtFactory(),
        case_number="A 1/2025",
        enrolled_on=datetime.date(2025, 2, 3),
        accused=[{"name": "X"}],
    )
    first_hearing = timezone.make_aware(datetime.datetime(2025, 2, 3, 10, 0))
    services.prosecution_remand(
        p,
        actor=admin_user,
        version=1,
        reason="court_roll_full",
        next_date=datetime.date(2025, 3, 3),
        at=first_hearing,
    )
    timeline = list(TransitionLog.for_object(p).order_by("at").values_list("transition", flat=True))
    assert timeline == ["enrol", "remand"]
    assert timezone.localtime(TransitionLog.for_object(p).first().at).date() == datetime.date(2025, 2, 3)
