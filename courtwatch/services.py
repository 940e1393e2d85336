"""Every write in court watching: briefs, hearings, feedback, withdrawal reviews, meetings, notices.

One function per action, keyword-only arguments, an explicit ``actor`` (``None`` = the system).
State changes go through ``casework.services.apply_transition`` so they are locked, checked
(who 403, version 409, state 400), logged and reacted to like every other transition.
"""

import re
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from casework import services as cws
from casework.errors import AlreadyRecorded, InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from casework.models import (
    Accused,
    Court,
    Mechanism,
    PostponementReason,
    Prosecution,
    RemovalReason,
    TransitionLog,
)

from . import permissions as perms
from .models import Brief, CommitteeMeeting, Feedback, Hearing, Notification, WithdrawalReview
from .notifications import notify


def always(user, obj, name) -> bool:
    """For a step the system takes as part of an action the actor was already allowed to take."""
    return True


def not_before_last_change(at, obj):
    """A brief or review cannot change before its own last change (its log stays in order)."""
    at = at or timezone.now()
    return max(at, obj.state_changed_at) if obj.state_changed_at else at


def _code(field: str, value: str, choices) -> str:
    if value in (None, ""):
        raise InvalidInput({field: "This field is required."})
    if value not in choices.values:
        raise InvalidInput(
            {field: f"'{value}' is not a known code. Use one of: {', '.join(choices.values)}."}
        )
    return value


# -------------------------------------------------------------------- briefs


def brief_open(*, prosecution: Prosecution, actor=None) -> Brief | None:
    """Open the brief of a prosecution that arises from a Casetrail incident (else None)."""
    if not prosecution.police_case.incidents.exists():
        return None
    brief, created = Brief.objects.get_or_create(
        prosecution=prosecution,
        defaults={"next_appearance": prosecution.next_appearance or prosecution.enrolled_on},
    )
    if created:
        TransitionLog.objects.create(
            subject=brief, transition="open", from_state="", to_state=brief.state, actor=actor
        )
    return brief


def _check_officer(officer):
    if officer is None:
        raise InvalidInput({"officer": "This field is required."})
    if not perms.court_watchers().filter(pk=officer.pk).exists():
        raise InvalidInput({"officer": f"{officer.get_username()} is not an active court watcher."})


def brief_assign(brief: Brief, *, actor, version: int | None, officer, note: str = "", at=None) -> Brief:
    """Give the brief to a court watcher (or move it to another); the watch grant moves with it."""
    _check_officer(officer)
    with transaction.atomic():
        previous = Brief.objects.select_for_update().get(pk=brief.pk).officer
        brief = cws.apply_transition(
            brief,
            "assign",
            actor=actor,
            version=version,
            may=perms.may_transition_brief,
            reason="reassign" if previous else "assign",
            note=note,
            data={"officer": officer.get_username(), "previous": previous.get_username() if previous else ""},
            at=at,
            officer=officer,
        )
        if previous is not None and previous.pk != officer.pk:
            perms.revoke_watch(previous, brief)
        perms.grant_watch(officer, brief)
        if previous is None or previous.pk != officer.pk:
            notify(
                officer,
                Notification.Kind.BRIEF_ASSIGNED,
                key=f"brief_assigned:brief:{brief.pk}:v{brief.version}",
                subject=f"Brief assigned: {brief.prosecution}",
                body=f"You now watch {brief.prosecution}. Next appearance: {brief.next_appearance or '—'}.",
                url=f"/courtwatch/briefs/{brief.pk}/",
            )
        return brief


def _brief_step(name: str):
    def service(brief: Brief, *, actor, version: int | None, note: str = "", at=None) -> Brief:
        with transaction.atomic():
            return cws.apply_transition(
                brief, name, actor=actor, version=version, may=perms.may_transition_brief, note=note, at=at
            )

    service.__name__ = f"brief_{name}"
    service.__doc__ = f"Take '{name}' on a brief. Raises PermissionDenied, StaleVersion, NotAllowed."
    return service


brief_start_monitoring = _brief_step("start_monitoring")
brief_close = _brief_step("close")
brief_reopen = _brief_step("reopen")

BRIEF_TRANSITIONS = {
    "assign": brief_assign,
    "start_monitoring": brief_start_monitoring,
    "close": brief_close,
    "reopen": brief_reopen,
}


@transaction.atomic
def brief_bulk_assign(*, actor, court: Court, officer, note: str = "") -> list[Brief]:
    """Assign every unassigned brief of open matters at ``court`` to one officer (supervisors)."""
    if actor is not None and not perms.is_brief_manager(actor):
        raise PermissionDenied("Only a court-watch supervisor assigns briefs.")
    if court is None:
        raise InvalidInput({"court": "This field is required."})
    _check_officer(officer)
    briefs = list(
        Brief.objects.select_for_update()
        .filter(state=Brief.State.UNASSIGNED, prosecution__court=court)
        .exclude(prosecution__state__in=Prosecution.FINALISED_STATES)
        .order_by("id")
    )
    return [brief_assign(b, actor=actor, version=None, officer=officer, note=note) for b in briefs]


# -------------------------------------------------------------------- hearings

OUTCOME_TRANSITIONS = {
    Hearing.Outcome.POSTPONED: "remand",
    Hearing.Outcome.TRIAL_STARTED: "start_trial",
    Hearing.Outcome.CONVICTED: "convict",
    Hearing.Outcome.ACQUITTED: "acquit",
    Hearing.Outcome.SENTENCED: "sentence",
    Hearing.Outcome.WITHDRAWN: "withdraw",
    Hearing.Outcome.PROVISIONALLY_WITHDRAWN: "withdraw_provisionally",
    Hearing.Outcome.STRUCK_OFF: "strike_off",
    Hearing.Outcome.WARRANT_ISSUED: "issue_warrant",
    Hearing.Outcome.DIVERTED: "divert",
    Hearing.Outcome.TRANSFERRED: "transfer",
}
REMOVAL_OUTCOMES = {
    Hearing.Outcome.WITHDRAWN,
    Hearing.Outcome.PROVISIONALLY_WITHDRAWN,
    Hearing.Outcome.STRUCK_OFF,
}


def outcomes_valid_now(prosecution: Prosecution) -> list[str]:
    """Outcomes a hearing may record given the prosecution's state.

    A trial postponed (part-heard) keeps the matter in ``trial``: casework's ``remand`` does not
    leave ``trial``, so "postponed" during a trial records the hearing and moves no state.
    """
    allowed = set(cws.allowed_from_state(prosecution))
    valid = [o for o, t in OUTCOME_TRANSITIONS.items() if t in allowed]
    if prosecution.state == Prosecution.State.TRIAL and Hearing.Outcome.POSTPONED not in valid:
        valid.insert(0, Hearing.Outcome.POSTPONED)
    return [str(o) for o in valid]


def _effective_time(day: date, prosecution: Prosecution):
    """When the outcome took effect: now for today, else 09:00 SAST that day, after the last change."""
    now = timezone.now()
    if day >= timezone.localdate():
        return now
    at = timezone.make_aware(datetime.combine(day, time(9, 0)))
    last = prosecution.state_changed_at
    if at <= last and timezone.localdate(last) == day:
        at = min(now, last + timedelta(seconds=1))
    return at


def _outcome_kwargs(outcome, *, reason, next_date, sentence, programme, new_court) -> dict:
    """The casework service's arguments for this outcome; raises InvalidInput naming the field."""
    if outcome == Hearing.Outcome.POSTPONED:
        _code("reason", reason, PostponementReason)
        if next_date is None:
            raise InvalidInput({"next_date": "A postponement needs the next date."})
        return {"reason": reason, "next_date": next_date}
    if outcome in REMOVAL_OUTCOMES:
        return {"reason": _code("reason", reason, RemovalReason)}
    if reason:
        raise InvalidInput({"reason": f"A reason code is not used for outcome '{outcome}'; use the note."})
    if outcome in (Hearing.Outcome.TRIAL_STARTED, Hearing.Outcome.CONVICTED):
        return {"next_date": next_date}
    if outcome == Hearing.Outcome.SENTENCED:
        if not (sentence or "").strip():
            raise InvalidInput({"sentence": "The sentence imposed is required."})
        return {"sentence": sentence}
    if outcome == Hearing.Outcome.DIVERTED:
        if not (programme or "").strip():
            raise InvalidInput({"programme": "The diversion programme is required."})
        return {"programme": programme}
    if outcome == Hearing.Outcome.TRANSFERRED:
        if new_court is None:
            raise InvalidInput({"new_court": "The court the matter is transferred to is required."})
        return {"court": new_court, "next_date": next_date}
    return {}


def hearing_record(
    *,
    actor,
    prosecution: Prosecution,
    date: date,
    type: str,
    outcome: str,
    reason: str = "",
    next_date: date | None = None,
    note: str = "",
    court: Court | None = None,
    new_court: Court | None = None,
    sentence: str = "",
    programme: str = "",
    officer=None,
    version: int | None = None,
) -> Hearing:
    """Record a hearing and move the prosecution as its outcome says, in one transaction.

    Raises PermissionDenied (not this user's brief), InvalidInput (a field, named), NotAllowed
    (outcome impossible from the prosecution's state; ``allowed`` lists the valid outcomes),
    StaleVersion (``version`` given and the prosecution changed meanwhile), AlreadyRecorded (no
    ``version`` and the same date, type and outcome already recorded on the brief: a resend or a twin).
    """
    if prosecution is None:
        raise InvalidInput({"prosecution": "This field is required."})
    if date is None:
        raise InvalidInput({"date": "This field is required."})
    _code("type", type, Hearing.Type)
    _code("outcome", outcome, Hearing.Outcome)
    brief = Brief.objects.filter(prosecution=prosecution).first()
    if brief is None:
        raise InvalidInput({"prosecution": "This matter has no court-watching brief."})
    if actor is not None and not perms.may_work_brief(actor, brief):
        raise PermissionDenied(
            "Only the officer assigned to this brief (or a supervisor) records its hearings."
        )
    with transaction.atomic():
        # Prosecution first, then brief: the order casework's transitions (and our reactions) lock in.
        p = Prosecution.objects.select_for_update().select_related("court").get(pk=prosecution.pk)
        brief = Brief.objects.select_for_update().get(pk=brief.pk)
        # The version before any state or field check: a loser of a race hears "someone else changed
        # it" (409), not "this outcome is not allowed" (400) from the winner's new state.
        if version is not None and version != p.version:
            raise StaleVersion(current=p.version, given=version)
        if version is None:
            # Without a version the lock alone would let ten identical submissions all pass (a postponement
            # is a self-loop); an identical hearing already on the brief is taken as this one, sent again.
            twin = brief.hearings.filter(date=date, type=type, outcome=outcome).first()
            if twin is not None:
                raise AlreadyRecorded(
                    f"This hearing ({date}, {type}, {outcome}) is already recorded (hearing {twin.pk}). "
                    "To record another, send the prosecution's current version.",
                    current=p.version,
                )
        today = timezone.localdate()
        if date > today:
            raise InvalidInput(
                {"date": f"A hearing cannot be recorded before it happens (today is {today})."}
            )
        if date < p.enrolled_on:
            raise InvalidInput(
                {"date": f"The matter was enrolled on {p.enrolled_on}; the hearing cannot be earlier."}
            )
        last = brief.hearings.order_by("-date").values_list("date", flat=True).first()
        if last and date < last:
            raise InvalidInput(
                {"date": f"A later hearing ({last}) is already recorded; record hearings in order."}
            )
        if next_date is not None and next_date <= date:
            raise InvalidInput({"next_date": "The next date must be after the hearing date."})
        if court is not None and court.pk != p.court_id:
            raise InvalidInput(
                {
                    "court": f"The matter is on the roll at {p.court}; "
                    "a move is recorded as outcome 'transferred'."
                }
            )
        if outcome != Hearing.Outcome.TRANSFERRED and new_court is not None:
            raise InvalidInput({"new_court": "A new court is only given for outcome 'transferred'."})
        valid = outcomes_valid_now(p)
        if outcome not in valid:
            raise NotAllowed(outcome, p.state, valid)
        kwargs = _outcome_kwargs(
            outcome,
            reason=reason,
            next_date=next_date,
            sentence=sentence,
            programme=programme,
            new_court=new_court,
        )
        if officer is None and perms.watches(actor, brief):
            officer = actor
        hearing = Hearing.objects.create(
            brief=brief,
            prosecution=p,
            date=date,
            court=p.court,
            type=type,
            outcome=outcome,
            reason=reason or "",
            next_date=next_date,
            officer=officer or brief.officer,
            notes=note or "",
            sentence=(sentence or "").strip(),
            programme=(programme or "").strip(),
            new_court=new_court,
            recorded_by=actor,
        )
        at = _effective_time(date, p)
        # The first hearing starts monitoring; before the prosecution moves, so that a final
        # outcome can close the brief in the same step.
        if brief.state == Brief.State.ASSIGNED:
            brief = cws.apply_transition(
                brief,
                "start_monitoring",
                actor=actor,
                version=None,
                may=always,
                note=f"hearing {hearing.pk}",
                at=not_before_last_change(at, brief),
            )
        from_state = p.state
        name = OUTCOME_TRANSITIONS[outcome]
        if name in cws.allowed_from_state(p):
            service = cws.PROSECUTION_TRANSITIONS[name]
            p = service(
                p, actor=actor, version=version, note=note, data={"hearing": hearing.pk}, at=at, **kwargs
            )
            hearing.transition = name
        elif version is not None and version != p.version:  # a part-heard trial: no move, still guarded
            raise StaleVersion(current=p.version, given=version)
        hearing.from_state, hearing.to_state = from_state, p.state
        hearing.save(update_fields=["transition", "from_state", "to_state"])
        upcoming = next_date or (
            p.next_appearance if p.next_appearance and p.next_appearance > date else None
        )
        Brief.objects.filter(pk=brief.pk).update(next_appearance=upcoming)
        return hearing


# -------------------------------------------------------------------- feedback


@transaction.atomic
def feedback_create(
    *,
    actor,
    brief: Brief,
    category: str,
    text: str,
    recipient: str,
    recipient_detail: str = "",
    hearing: Hearing | None = None,
) -> Feedback:
    """Record what the watcher observed and told SAPS or the NPA."""
    if actor is not None and not perms.may_work_brief(actor, brief):
        raise PermissionDenied(
            "Only the officer assigned to this brief (or a supervisor) gives its feedback."
        )
    _code("category", category, Feedback.Category)
    _code("recipient", recipient, Feedback.Recipient)
    if not (text or "").strip():
        raise InvalidInput({"text": "Say what was observed."})
    if hearing is not None and hearing.brief_id != brief.pk:
        raise InvalidInput({"hearing": "That hearing belongs to another brief."})
    return Feedback.objects.create(
        brief=brief,
        hearing=hearing,
        category=category,
        text=text.strip(),
        recipient=recipient,
        recipient_detail=(recipient_detail or "").strip(),
        created_by=actor,
    )


@transaction.atomic
def feedback_record_response(*, actor, feedback: Feedback, response: str, responded_at=None) -> Feedback:
    """Record SAPS's or the NPA's answer to a piece of feedback."""
    feedback = Feedback.objects.select_for_update().select_related("brief").get(pk=feedback.pk)
    if actor is not None and not perms.may_work_brief(actor, feedback.brief):
        raise PermissionDenied("Only the officer assigned to this brief (or a supervisor) records responses.")
    if not (response or "").strip():
        raise InvalidInput({"response": "This field is required."})
    responded_at = responded_at or timezone.now()
    if responded_at > timezone.now():
        raise InvalidInput({"responded_at": "A response cannot be in the future."})
    if responded_at < feedback.created_at:
        raise InvalidInput({"responded_at": "A response cannot come before the feedback was given."})
    feedback.response = response.strip()
    feedback.responded_at = responded_at
    feedback.response_recorded_by = actor
    feedback.save(update_fields=["response", "responded_at", "response_recorded_by"])
    return feedback


# -------------------------------------------------------------------- withdrawal reviews


def normalise_name(name: str) -> str:
    """ "  Mr. J  van der  Merwe " → "j merwe mr van der": case, punctuation, spacing and order fold."""
    return " ".join(sorted(re.sub(r"[^\w\s]", " ", (name or "").lower()).split()))


def repeat_accused(prosecution: Prosecution) -> bool:
    """Is any accused (same pseudonym, or same normalised name) accused in another prosecution?"""
    accused = list(prosecution.accused.all())
    pseudonyms = {a.pseudonym for a in accused if a.pseudonym}
    names = {normalise_name(a.name) for a in accused} - {""}
    if not accused:
        return False
    q = Q(pseudonym__in=pseudonyms) if pseudonyms else Q(pk__in=[])
    for n in names:
        longest = max(n.split(), key=len)
        q |= Q(name__icontains=longest)
    for other in Accused.objects.filter(q).exclude(prosecution=prosecution).only("name", "pseudonym"):
        if (other.pseudonym and other.pseudonym in pseudonyms) or normalise_name(other.name) in names:
            return True
    return False


def priority_of(prosecution: Prosecution) -> list[str]:
    """The priority reasons, in the committee's order (fatal, firearm, gang-related, repeat accused)."""
    incidents = list(prosecution.police_case.incidents.all())
    reasons = []
    if any(i.fatal for i in incidents) or prosecution.police_case.offence.code == "murder":
        reasons.append(WithdrawalReview.Priority.FATAL)
    if any(i.mechanism == Mechanism.FIREARM for i in incidents):
        reasons.append(WithdrawalReview.Priority.FIREARM)
    if any(i.gang_related for i in incidents):
        reasons.append(WithdrawalReview.Priority.GANG_RELATED)
    if repeat_accused(prosecution):
        reasons.append(WithdrawalReview.Priority.REPEAT_ACCUSED)
    return [str(r) for r in reasons]


def review_flag(
    *, prosecution: Prosecution, removal: str, reason: str, actor=None, at=None
) -> WithdrawalReview:
    """Flag a withdrawal review for a matter that has just left the roll."""
    reasons = priority_of(prosecution)
    review = WithdrawalReview.objects.create(
        prosecution=prosecution,
        removal=removal,
        removal_reason=reason or "",
        flagged_at=at or timezone.now(),
        state_changed_at=at or timezone.now(),
        priority_reasons=reasons,
        priority_score=sum(WithdrawalReview.PRIORITY_WEIGHTS[r] for r in reasons),
    )
    TransitionLog.objects.create(
        subject=review,
        transition="flag",
        from_state="",
        to_state=review.state,
        actor=actor,
        reason=reason or "",
        data={"removal": removal, "priority": reasons},
        at=review.flagged_at,
    )
    return review


def review_schedule(
    review: WithdrawalReview,
    *,
    actor,
    version: int | None,
    meeting: CommitteeMeeting,
    note: str = "",
    at=None,
) -> WithdrawalReview:
    """Put the review on a committee meeting's agenda."""
    if meeting is None:
        raise InvalidInput({"meeting": "This field is required."})
    with transaction.atomic():
        return cws.apply_transition(
            review,
            "schedule",
            actor=actor,
            version=version,
            may=perms.may_transition_review,
            reason=f"meeting {meeting.pk}",
            note=note,
            data={"meeting": meeting.pk, "meeting_date": meeting.date.isoformat()},
            at=at,
            meeting=meeting,
        )


def review_decide(
    review: WithdrawalReview,
    *,
    actor,
    version: int | None,
    decision: str,
    rationale: str,
    members_present=None,
    note: str = "",
    at=None,
) -> WithdrawalReview:
    """Record the committee's decision. Upholding or asking for further investigation closes the
    review at once; a re-enrolment decision closes when the matter is re-enrolled with this review."""
    _code("decision", decision, WithdrawalReview.Decision)
    if not (rationale or "").strip():
        raise InvalidInput({"rationale": "The committee's rationale is required."})
    with transaction.atomic():
        locked = WithdrawalReview.objects.select_for_update().get(pk=review.pk)
        members = list(members_present or (locked.meeting.members.all() if locked.meeting else []))
        # Who, version and state are checked first (by apply_transition); then the members, and
        # raising rolls the decision back with the rest.
        review = cws.apply_transition(
            review,
            "decide",
            actor=actor,
            version=version,
            may=perms.may_transition_review,
            reason=decision,
            note=note,
            data={"members_present": [m.get_username() for m in members]},
            at=at,
            decision=decision,
            rationale=rationale.strip(),
            decided_by=actor,
        )
        if not members:
            raise InvalidInput({"members_present": "Name the members present."})
        outsiders = [
            m.get_username() for m in members if not perms.committee_members().filter(pk=m.pk).exists()
        ]
        if outsiders:
            raise InvalidInput({"members_present": f"Not committee members: {', '.join(outsiders)}."})
        review.members_present.set(members)
        if decision != WithdrawalReview.Decision.RE_ENROL:
            review = cws.apply_transition(
                review, "close", actor=actor, version=None, may=always, reason=decision, at=at
            )
        return review


def review_close(review: WithdrawalReview, *, actor, version: int | None, note: str = "", at=None):
    """Close a decided review by hand (a re-enrolment decision closes itself on re-enrolment)."""
    with transaction.atomic():
        return cws.apply_transition(
            review, "close", actor=actor, version=version, may=perms.may_transition_review, note=note, at=at
        )


REVIEW_TRANSITIONS = {"schedule": review_schedule, "decide": review_decide, "close": review_close}


def review_link_re_enrolment(*, prosecution: Prosecution, review_id, actor, at=None) -> WithdrawalReview:
    """A re-enrolment names the review that asked for it: check it, close it. InvalidInput rolls back."""
    try:
        review_id = int(review_id)
    except (TypeError, ValueError) as e:
        raise InvalidInput({"review": "A review id (a whole number) is required."}) from e
    review = WithdrawalReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None or review.prosecution_id != prosecution.pk:
        raise InvalidInput({"review": f"Review {review_id} is not a withdrawal review of this matter."})
    if (
        review.state != WithdrawalReview.State.DECIDED
        or review.decision != WithdrawalReview.Decision.RE_ENROL
    ):
        raise InvalidInput(
            {
                "review": f"Review {review_id} has not decided to re-enrol "
                f"(state '{review.state}', decision '{review.decision or 'none'}')."
            }
        )
    return cws.apply_transition(
        review,
        "close",
        actor=actor,
        version=None,
        may=always,
        reason="re_enrolled",
        data={"prosecution": prosecution.pk, "enrolments": prosecution.enrolments},
        at=not_before_last_change(at, review),
    )


@transaction.atomic
def meeting_create(*, actor, date: date, members: list) -> CommitteeMeeting:
    """Call a committee meeting; members are committee members (users)."""
    if actor is not None and not perms.may_create_meeting(actor):
        raise PermissionDenied("Only committee members call committee meetings.")
    if date is None:
        raise InvalidInput({"date": "This field is required."})
    if not members:
        raise InvalidInput({"members": "Name at least one member."})
    outsiders = [m.get_username() for m in members if not perms.committee_members().filter(pk=m.pk).exists()]
    if outsiders:
        raise InvalidInput({"members": f"Not committee members: {', '.join(outsiders)}."})
    meeting = CommitteeMeeting.objects.create(date=date, created_by=actor)
    meeting.members.set(members)
    return meeting
