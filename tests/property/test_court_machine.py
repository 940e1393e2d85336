"""A matter on the roll through every service that moves it, against a reference model written here
from DESIGN.md ("The lifecycle"): the prosecution (its own transitions and the hearings that drive
them), its court-watching brief, and the withdrawal reviews its removals flag (with a meeting).

One machine for the three because they move each other: a hearing starts monitoring and moves the
prosecution; a removal flags a review; a re-enrolment closes the review it names and reopens the
brief; a final outcome closes the brief.
"""

import datetime as dt
from functools import partial

from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from casework import permissions as cw
from casework import services as cws
from casework import transitions
from casework.errors import InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from casework.models import Accused, Prosecution
from courtwatch import services
from courtwatch.models import Brief, Hearing, WithdrawalReview
from tests.factories import CourtFactory, PoliceCaseFactory, StationFactory

from .machine import CleanMachine, bounded, log_count, make_user

ON_ROLL = ("enrolled", "remanded", "warrant_issued", "trial")
FINALISED = (
    "convicted",
    "sentenced",
    "acquitted",
    "withdrawn",
    "provisionally_withdrawn",
    "struck_off",
    "diverted",
)
REMOVED = ("withdrawn", "provisionally_withdrawn", "struck_off")
TERMINAL = ("sentenced", "acquitted", "diverted")
STATES = set(ON_ROLL) | set(FINALISED)

# DESIGN.md, "Prosecution": transition -> (from states, to state).
TABLE = {
    "remand": ({"enrolled", "remanded", "warrant_issued"}, "remanded"),
    "transfer": ({"enrolled", "remanded"}, "remanded"),
    "start_trial": ({"enrolled", "remanded"}, "trial"),
    "convict": ({"enrolled", "remanded", "trial"}, "convicted"),
    "acquit": ({"trial"}, "acquitted"),
    "sentence": ({"convicted"}, "sentenced"),
    "withdraw": ({"enrolled", "remanded", "trial"}, "withdrawn"),
    "withdraw_provisionally": ({"enrolled", "remanded"}, "provisionally_withdrawn"),
    "strike_off": ({"enrolled", "remanded"}, "struck_off"),
    "issue_warrant": ({"enrolled", "remanded", "trial"}, "warrant_issued"),
    "divert": ({"enrolled", "remanded"}, "diverted"),
    "re_enrol": (set(REMOVED), "remanded"),
}
# docs/courtwatch.md: a hearing's outcome -> the prosecution transition it drives.
OUTCOMES = {
    "postponed": "remand",
    "trial_started": "start_trial",
    "convicted": "convict",
    "acquitted": "acquit",
    "sentenced": "sentence",
    "withdrawn": "withdraw",
    "provisionally_withdrawn": "withdraw_provisionally",
    "struck_off": "strike_off",
    "warrant_issued": "issue_warrant",
    "diverted": "divert",
    "transferred": "transfer",
}
BRIEF_TABLE = {
    "assign": {"unassigned", "assigned", "monitoring"},
    "start_monitoring": {"assigned"},
    "close": {"assigned", "monitoring"},
    "reopen": {"closed"},
}
REVIEW_TABLE = {
    "schedule": ("flagged", "on_agenda"),
    "decide": ("on_agenda", "decided"),
    "close": ("decided", "closed"),  # also from flagged / on_agenda once the matter is back on the roll
}
DECISIONS = ("re_enrol", "further_investigation", "uphold_withdrawal")
ACTORS = ("npa_a", "npa_b", "officer", "other_officer", "supervisor", "member", "admin")
WATCHERS = ("officer", "other_officer")
OFF_BY = st.sampled_from([0, 0, 0, 0, -1, 1])


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


class CourtMachine(CleanMachine):
    name = "court (Prosecution + hearings, Brief, WithdrawalReview)"

    def __init__(self):
        super().__init__()
        station = StationFactory()
        self.courts = {"a": CourtFactory(), "b": CourtFactory()}
        self.courts["a"].stations.add(station)
        self.actors = {
            "npa_a": make_user(cw.NPA_LIAISON, self.courts["a"]),
            "npa_b": make_user(cw.NPA_LIAISON, self.courts["b"]),
            "officer": make_user(cw.COURT_WATCHER),
            "other_officer": make_user(cw.COURT_WATCHER),
            "supervisor": make_user(cw.COURT_WATCH_SUPERVISOR),
            "member": make_user(cw.COMMITTEE_MEMBER),
            "admin": make_user(cw.ADMIN),
        }
        case = PoliceCaseFactory(station=station, opened_on=days_ago(300))
        p = cws.prosecution_enrol(
            actor=self.actors["admin"],
            police_case=case,
            court=self.courts["a"],
            case_number=f"RC {case.pk}/2026",
            enrolled_on=days_ago(200),
            accused=[{"name": f"Accused {case.pk}"}, {"name": f"Co-accused {case.pk}"}],
        )
        self.p_id, self.enrolled_on = p.pk, p.enrolled_on
        brief = Brief.objects.get(prosecution=p)
        self.brief_id = brief.pk
        services.brief_assign(
            brief, actor=self.actors["supervisor"], version=1, officer=self.actors["officer"]
        )
        self.meeting = services.meeting_create(
            actor=self.actors["member"], date=timezone.localdate(), members=[self.actors["member"]]
        )
        # The reference model.
        self.p = {"state": "enrolled", "version": 1, "logs": 1, "court": "a", "enrolments": 1}
        self.brief = {"state": "assigned", "version": 2, "logs": 2, "hearings": 0}
        self.watcher = "officer"
        self.reviews: dict[int, dict] = {}

    # ------------------------------------------------------------------ objects as stored

    def prosecution(self) -> Prosecution:
        return Prosecution.objects.get(pk=self.p_id)

    def brief_row(self) -> Brief:
        return Brief.objects.get(pk=self.brief_id)

    def watched(self) -> list:
        return [
            self.prosecution(),
            self.brief_row(),
            *WithdrawalReview.objects.filter(prosecution_id=self.p_id),
        ]

    def counts(self):
        reviews = WithdrawalReview.objects.filter(prosecution_id=self.p_id).count()
        return (Hearing.objects.filter(prosecution_id=self.p_id).count(), reviews)

    # ------------------------------------------------------------------ who may (the design's roles)

    def may_move(self, actor: str, name: str) -> bool:
        if actor == "admin":
            return True
        if actor in ("npa_a", "npa_b"):
            return actor == f"npa_{self.p['court']}"
        # The brief's officer moves the matter as a hearing may; never re-enrols; nobody else moves it.
        return actor == self.watcher and name != "re_enrol"

    def may_brief(self, actor: str, name: str) -> bool:
        if actor in ("supervisor", "admin"):
            return True
        return actor == self.watcher and name in ("start_monitoring", "close")

    def may_review(self, actor: str) -> bool:
        return actor in ("member", "admin")

    # ------------------------------------------------------------------ the reference's effects

    def moved(self, name: str) -> None:
        """The prosecution took ``name``: what the design says follows, in the same transaction."""
        source, target = self.p["state"], TABLE[name][1]
        self.p.update(state=target, version=self.p["version"] + 1, logs=self.p["logs"] + 1)
        if name == "transfer":
            self.p["court"] = "b" if self.p["court"] == "a" else "a"
        if name == "re_enrol":
            self.p["enrolments"] += 1
            for pk, r in self.reviews.items():  # every open review closes as re-enrolled
                if r["state"] != "closed":
                    self.review_moved(pk, "closed")
            if self.brief["state"] == "closed":
                self.brief_moved("monitoring" if self.brief["hearings"] else "assigned")
        if target in REMOVED and source not in REMOVED:
            fresh = WithdrawalReview.objects.filter(prosecution_id=self.p_id).exclude(pk__in=self.reviews)
            review = fresh.get()  # exactly one new review, flagged, naming this removal
            assert (review.state, review.removal) == ("flagged", name)
            self.reviews[review.pk] = {"state": "flagged", "version": 1, "logs": 1, "decision": ""}
        if target in TERMINAL and self.brief["state"] in ("assigned", "monitoring"):
            self.brief_moved("closed")

    def brief_moved(self, target: str) -> None:
        self.brief.update(state=target, version=self.brief["version"] + 1, logs=self.brief["logs"] + 1)

    def review_moved(self, pk: int, target: str) -> None:
        r = self.reviews[pk]
        r.update(state=target, version=r["version"] + 1, logs=r["logs"] + 1)

    def first_error(self, allowed: bool, version: int, current: int, state_ok: bool):
        """The design's order of checks: who (403), which version (409), which state (400)."""
        if not allowed:
            return PermissionDenied
        if version != current:
            return StaleVersion
        return None if state_ok else NotAllowed

    # ------------------------------------------------------------------ the prosecution's services

    def fields(self, name: str) -> dict:
        other = self.courts["b" if self.p["court"] == "a" else "a"]
        return {
            "remand": {
                "reason": "defence_not_ready",
                "next_date": timezone.localdate() + dt.timedelta(days=30),
            },
            "transfer": {"court": other},
            "sentence": {"sentence": "Five years' imprisonment"},
            "withdraw": {"reason": "witness_unavailable"},
            "withdraw_provisionally": {"reason": "docket_not_at_court"},
            "strike_off": {"reason": "detention_48h_exceeded"},
            "divert": {"programme": "Youth diversion"},
            "re_enrol": {"reason": "The committee asked for it"},
        }.get(name, {})

    def take(self, name: str, actor: str, off_by: int = 0, **extra) -> None:
        version = self.p["version"] + off_by
        service = transitions.get(Prosecution, name).service
        kwargs = {**self.fields(name), **extra}
        call = partial(service, self.prosecution(), actor=self.actors[actor], version=version, **kwargs)
        expected = self.first_error(
            self.may_move(actor, name), version, self.p["version"], self.p["state"] in TABLE[name][0]
        )
        review = extra.get("review")
        still_open = [pk for pk, r in self.reviews.items() if r["state"] != "closed"]
        if expected is None and name == "re_enrol":
            if review is not None and review not in still_open:
                expected = InvalidInput  # a named review must be an open review of this matter
            if review is None and len(still_open) > 1:
                expected = InvalidInput  # several open: the re-enrolment names the one it answers
        if expected is not None:
            self.refused(expected, call, self.watched(), self.counts)
            return
        call()
        self.moved(name)
        self.count_step(took=name + (" naming its review" if review else ""))

    @rule(data=st.data())
    def move(self, data):
        """A transition allowed now, by someone who may take it, on the version they read."""
        names = [n for n, (sources, _to) in TABLE.items() if self.p["state"] in sources]
        if not names:  # sentenced, acquitted, diverted: the end of the road
            return
        name = data.draw(st.sampled_from(names))
        self.take(name, data.draw(st.sampled_from([a for a in ACTORS if self.may_move(a, name)])))

    @rule(name=st.sampled_from(sorted(TABLE)), actor=st.sampled_from(ACTORS), off_by=OFF_BY)
    def attempt(self, name, actor, off_by):
        """Any transition, by anyone, on a version that may be stale."""
        self.take(name, actor, off_by)

    @rule(data=st.data())
    def re_enrol_naming_a_review(self, data):
        if not self.reviews:
            return
        review = data.draw(st.sampled_from(sorted(self.reviews)))
        self.take("re_enrol", data.draw(st.sampled_from(["npa_a", "npa_b", "admin"])), review=review)

    @rule(
        name=st.sampled_from(["remand", "sentence", "divert", "re_enrol", "withdraw"]),
        actor=st.sampled_from(ACTORS),
    )
    def a_required_field_missing(self, name, actor):
        # The fields are checked before who, version and state.
        blank = {"remand": {"next_date": None}, "sentence": {"sentence": " "}, "divert": {"programme": ""}}
        blank.update(re_enrol={"reason": ""}, withdraw={"reason": "not_a_code"})
        service = transitions.get(Prosecution, name).service
        kwargs = {**self.fields(name), **blank[name]}
        call = partial(
            service, self.prosecution(), actor=self.actors[actor], version=self.p["version"], **kwargs
        )
        self.refused(InvalidInput, call, self.watched(), self.counts)

    # ------------------------------------------------------------------ hearings

    def valid_outcomes(self) -> set[str]:
        valid = {o for o, name in OUTCOMES.items() if self.p["state"] in TABLE[name][0]}
        return valid | ({"postponed"} if self.p["state"] == "trial" else set())

    @rule(
        outcome=st.sampled_from(sorted(OUTCOMES)),
        kind=st.sampled_from([str(t) for t in Hearing.Type]),
        actor=st.sampled_from(ACTORS),
        off_by=st.sampled_from([None, None, 0, 0, -1]),
    )
    def hearing(self, outcome, kind, actor, off_by):
        held_on = self.enrolled_on + dt.timedelta(days=1 + self.brief["hearings"])
        name = OUTCOMES[outcome]
        kwargs = {k: v for k, v in self.fields(name).items() if k != "court"}
        if name == "transfer":
            kwargs["new_court"] = self.fields(name)["court"]
        if name == "remand":
            kwargs["next_date"] = held_on + dt.timedelta(days=14)
        version = None if off_by is None else self.p["version"] + off_by
        call = partial(
            services.hearing_record,
            actor=self.actors[actor],
            prosecution=self.prosecution(),
            held_on=held_on,
            kind=kind,
            outcome=outcome,
            version=version,
            **kwargs,
        )
        allowed = actor == "admin" or actor == self.watcher
        current = self.p["version"]
        expected = self.first_error(
            allowed, current if version is None else version, current, outcome in self.valid_outcomes()
        )
        if expected is not None:
            self.refused(expected, call, self.watched(), self.counts)
            return
        hearing = call()
        self.brief["hearings"] += 1
        if self.brief["state"] == "assigned":
            self.brief_moved("monitoring")  # the first hearing (after an assignment) starts monitoring
        if self.p["state"] in TABLE[name][0]:
            self.moved(name)
            assert hearing.transition == name
        else:
            assert (hearing.transition, outcome, self.p["state"]) == ("", "postponed", "trial")
        self.count_step(took=f"hearing:{outcome}")

    @rule(data=st.data())
    def hear(self, data):
        """A hearing whose outcome can happen now, recorded by the brief's officer or an admin."""
        outcomes = sorted(self.valid_outcomes())
        if outcomes:
            outcome = data.draw(st.sampled_from(outcomes))
            actor = data.draw(st.sampled_from([self.watcher, "admin"]))
            self.hearing(outcome, "remand", actor, data.draw(st.sampled_from([None, 0])))

    @rule(data=st.data())
    def committee(self, data):
        """The next step of an open review, taken by a committee member on the version they read;
        once the committee has decided to re-enrol, the NPA re-enrols naming the review."""
        open_reviews = sorted(pk for pk, r in self.reviews.items() if r["state"] != "closed")
        if not open_reviews:
            return
        pk = data.draw(st.sampled_from(open_reviews))
        r = self.reviews[pk]
        if r["state"] == "decided" and self.p["state"] in REMOVED:
            self.take("re_enrol", f"npa_{self.p['court']}", review=pk)
            return
        name = {"flagged": "schedule", "on_agenda": "decide", "decided": "close"}[r["state"]]
        self.review_step(data, name, "member", 0, pk=pk)

    # ------------------------------------------------------------------ the brief's services

    @rule(
        name=st.sampled_from(sorted(BRIEF_TABLE)),
        actor=st.sampled_from(ACTORS),
        off_by=OFF_BY,
        to=st.sampled_from(WATCHERS),
    )
    def brief_step(self, name, actor, off_by, to):
        version = self.brief["version"] + off_by
        service = transitions.get(Brief, name).service
        extra = {"officer": self.actors[to]} if name == "assign" else {}
        call = partial(service, self.brief_row(), actor=self.actors[actor], version=version, **extra)
        state_ok = self.brief["state"] in BRIEF_TABLE[name]
        if name == "close":
            state_ok = state_ok and self.p["state"] in FINALISED  # only when the matter is finalised
        expected = self.first_error(self.may_brief(actor, name), version, self.brief["version"], state_ok)
        if expected is not None:
            self.refused(expected, call, self.watched(), self.counts)
            return
        call()
        target = {"assign": "assigned", "start_monitoring": "monitoring", "close": "closed"}.get(name)
        self.brief_moved(target or ("monitoring" if self.brief["hearings"] else "assigned"))
        if name == "assign":
            self.watcher = to  # the watch grant moves with the brief
        self.count_step(took=f"brief:{name}")

    # ------------------------------------------------------------------ the reviews' services

    @rule(
        data=st.data(),
        name=st.sampled_from(sorted(REVIEW_TABLE)),
        actor=st.sampled_from(ACTORS),
        off_by=OFF_BY,
    )
    def review_step(self, data, name, actor, off_by, pk=None):
        if not self.reviews:
            return
        pk = pk or data.draw(st.sampled_from(sorted(self.reviews)))
        decision = data.draw(st.sampled_from(DECISIONS))
        r = self.reviews[pk]
        version = r["version"] + off_by
        extra = {
            "schedule": {"meeting": self.meeting},
            "decide": {"decision": decision, "rationale": "The docket was never at court."},
            "close": {},
        }[name]
        service = transitions.get(WithdrawalReview, name).service
        review = WithdrawalReview.objects.get(pk=pk)
        call = partial(service, review, actor=self.actors[actor], version=version, **extra)
        state_ok = r["state"] == REVIEW_TABLE[name][0]
        if name == "close":  # a re-enrolment decision (or no decision) stays open while off the roll
            back = self.p["state"] not in REMOVED
            decided_ok = r["state"] == "decided" and (r["decision"] != "re_enrol" or back)
            state_ok = decided_ok or (r["state"] in ("flagged", "on_agenda") and back)
        expected = self.first_error(self.may_review(actor), version, r["version"], state_ok)
        if expected is not None:
            self.refused(expected, call, self.watched(), self.counts)
            return
        call()
        self.review_moved(pk, REVIEW_TABLE[name][1])
        if name == "decide":
            r["decision"] = decision
            if decision != "re_enrol":
                self.review_moved(pk, "closed")  # upheld or sent back for investigation: closed at once
        self.count_step(took=f"review:{name}" + (f":{decision}" if name == "decide" else ""))

    # ------------------------------------------------------------------ after every step

    @invariant()
    def the_prosecution_matches_the_model(self):
        p = self.prosecution()
        assert p.state in STATES
        got = {"state": p.state, "version": p.version, "logs": log_count(p), "enrolments": p.enrolments}
        got["court"] = "a" if p.court_id == self.courts["a"].pk else "b"
        assert got == self.p

    @invariant()
    def finalised_if_and_only_if_an_outcome_is_recorded(self):
        p = self.prosecution()
        outcomes = set(Accused.objects.filter(prosecution=p).values_list("outcome", flat=True))
        if p.state in FINALISED:
            assert p.finalised_on is not None and "" not in outcomes, (p.state, p.finalised_on, outcomes)
        else:
            assert p.finalised_on is None and outcomes == {""}, (p.state, p.finalised_on, outcomes)

    @invariant()
    def off_the_roll_means_a_review_of_that_removal(self):
        p = self.prosecution()
        if p.state in REMOVED:
            latest = WithdrawalReview.objects.filter(prosecution=p).order_by("-id").first()
            assert latest is not None and latest.removal == TABLE_BY_TARGET[p.state]

    @invariant()
    def the_brief_matches_the_model(self):
        b = self.brief_row()
        assert b.state in {"unassigned", "assigned", "monitoring", "closed"}
        hearings = Hearing.objects.filter(brief=b).count()
        assert (b.state, b.version, log_count(b), hearings) == tuple(self.brief.values())
        assert b.state != "closed" or self.prosecution().state in FINALISED

    @invariant()
    def the_reviews_match_the_model(self):
        stored = WithdrawalReview.objects.filter(prosecution_id=self.p_id)
        assert {r.pk for r in stored} == set(self.reviews)
        for r in stored:
            want = self.reviews[r.pk]
            assert r.state in {"flagged", "on_agenda", "decided", "closed"}
            assert (r.state, r.version, log_count(r), r.decision) == (
                want["state"],
                want["version"],
                want["logs"],
                want["decision"],
            )


TABLE_BY_TARGET = {to: name for name, (_sources, to) in TABLE.items() if to in REMOVED}


def test_the_registry_offers_the_designs_transitions(db):
    assert {s.name: s.target for s in transitions.specs_for(Prosecution)} == {
        n: t for n, (_s, t) in TABLE.items()
    }
    assert {s.name for s in transitions.specs_for(Brief)} == set(BRIEF_TABLE)
    assert {s.name: s.target for s in transitions.specs_for(WithdrawalReview)} == {
        n: t for n, (_f, t) in REVIEW_TABLE.items()
    }


def test_a_matter_on_the_roll_keeps_the_design_through_every_service(db):
    run_state_machine_as_test(CourtMachine, settings=bounded(12, 40))


class Drawn:
    """Stands for Hypothesis's ``data`` in a walk written out by hand: every draw gives ``value``."""

    def __init__(self, value):
        self.value = value

    def draw(self, _strategy):
        return self.value


def test_a_re_enrolment_naming_the_committees_review_closes_it(db):
    # The machine's longest path, walked by hand so every run takes it, with the same checks.
    m = CourtMachine()
    try:
        m.take("withdraw", "npa_a")
        review = next(iter(m.reviews))
        m.review_step(Drawn("re_enrol"), "schedule", "member", 0, pk=review)
        m.review_step(Drawn("re_enrol"), "decide", "member", 0, pk=review)
        m.review_step(Drawn("re_enrol"), "close", "member", 0, pk=review)  # refused: still off the roll
        m.take("re_enrol", "npa_a", review=review)
        assert m.reviews[review]["state"] == "closed"
        for check in (
            m.the_prosecution_matches_the_model,
            m.the_brief_matches_the_model,
            m.the_reviews_match_the_model,
        ):
            check()
    finally:
        m.teardown()
