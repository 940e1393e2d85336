"""Every write in court watching: briefs, hearings, feedback, withdrawal reviews, meetings, notices.

One function per action, keyword-only arguments, an explicit ``actor`` (``None`` = the system).
State changes go through ``casework.transitions.apply_transition`` so they are locked, checked
(who 403, version 409, state 400), logged and reacted to like every other transition.
"""

import datetime as dt
import re

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from casework import after_commit, transitions
from casework.errors import AlreadyRecorded, InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from casework.models import Accused, Court, Mechanism, Prosecution, TransitionLog
from casework.transitions import code

from . import permissions as perms
from .models import Brief, CommitteeMeeting, Feedback, Hearing, Notification, WithdrawalReview
from .notifications import notify, notify_re_enrolment
from .outcomes import OUTCOME_TRANSITIONS, effective_time, outcome_kwargs, outcomes_valid_now


def always(user, obj, name) -> bool:
    """For a step the system takes as part of an action the actor was already allowed to take."""
    return True


def not_before_last_change(at, obj):
    """A brief or review cannot change before its own last change (its log stays in order)."""
    at = at or timezone.now()
    return max(at, obj.state_changed_at) if obj.state_changed_at else at


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
        TransitionLog.record_start(brief, "open", actor=actor)
    return brief


def _check_officer(officer):
    if officer is None:
        raise InvalidInput({"officer": _("This field is required.")})
    if not perms.court_watchers().filter(pk=officer.pk).exists():
        raise InvalidInput(
            {"officer": _("%(name)s is not an active court watcher.") % {"name": officer.get_username()}}
        )


def brief_assign(brief: Brief, *, actor, version: int | None, officer, note: str = "", at=None) -> Brief:
    """Give the brief to a court watcher (or move it to another); the watch grant moves with it."""
    _check_officer(officer)
    with transaction.atomic():
        previous = Brief.objects.select_for_update().get(pk=brief.pk).officer
        brief = transitions.apply_transition(
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
                url=reverse("courtwatch:brief-detail", args=[brief.pk]),
            )
        return brief


def _brief_step(name: str):
    return transitions.make_service("brief", name, may=perms.may_transition_brief)


brief_start_monitoring = _brief_step("start_monitoring")
brief_close = _brief_step("close")
brief_reopen = _brief_step("reopen")


@transaction.atomic
def brief_bulk_assign(*, actor, court: Court, officer, note: str = "") -> list[Brief]:
    """Assign every unassigned brief of open matters at ``court`` to one officer (supervisors)."""
    if actor is not None and not perms.is_brief_manager(actor):
        raise PermissionDenied("Only a court-watch supervisor assigns briefs.")
    if court is None:
        raise InvalidInput({"court": _("This field is required.")})
    _check_officer(officer)
    briefs = list(
        Brief.objects.select_for_update()
        .filter(state=Brief.State.UNASSIGNED, prosecution__court=court)
        .exclude(prosecution__state__in=Prosecution.FINALISED_STATES)
        .order_by("id")
    )
    return [brief_assign(b, actor=actor, version=None, officer=officer, note=note) for b in briefs]


# -------------------------------------------------------------------- hearings


def _check_request(*, actor, prosecution, held_on, kind, outcome) -> Brief:
    """What a hearing must name before anything is locked; returns the matter's brief."""
    if prosecution is None:
        raise InvalidInput({"prosecution": _("This field is required.")})
    if held_on is None:
        raise InvalidInput({"date": _("This field is required.")})
    code("type", kind, Hearing.Type)
    code("outcome", outcome, Hearing.Outcome)
    brief = Brief.objects.filter(prosecution=prosecution).first()
    if brief is None:
        raise InvalidInput({"prosecution": _("This matter has no court-watching brief.")})
    if actor is not None and not perms.may_work_brief(actor, brief):
        raise PermissionDenied(
            "Only the officer assigned to this brief (or a supervisor) records its hearings."
        )
    return brief


def _check_not_stale(p: Prosecution, brief: Brief, *, version, held_on, kind, outcome) -> None:
    """The version before any state or field check: a loser of a race hears "someone else changed
    it" (409), not "this outcome is not allowed" (400) from the winner's new state."""
    if version is not None and version != p.version:
        raise StaleVersion(current=p.version, given=version)
    if version is not None:
        return
    # Without a version the lock alone would let ten identical submissions all pass (a postponement
    # is a self-loop); an identical hearing already on the brief is taken as this one, sent again.
    twin = brief.hearings.filter(date=held_on, type=kind, outcome=outcome).first()
    if twin is not None:
        raise AlreadyRecorded(
            _(
                "This hearing (%(date)s, %(type)s, %(outcome)s) is already recorded (hearing %(id)s). "
                "To record another, send the prosecution's current version."
            )
            % {
                "date": held_on,
                "type": dict(Hearing.Type.choices).get(kind, kind),
                "outcome": dict(Hearing.Outcome.choices).get(outcome, outcome),
                "id": twin.pk,
            },
            current=p.version,
        )


def _check_dates_and_courts(p: Prosecution, brief: Brief, *, held_on, outcome, next_date, court, new_court):
    """In order: the hearing's date, the next date, the courts, then whether the outcome can happen now."""
    today = timezone.localdate()
    if held_on > today:
        raise InvalidInput(
            {
                "date": _("A hearing cannot be recorded before it happens (today is %(today)s).")
                % {"today": today}
            }
        )
    if held_on < p.enrolled_on:
        raise InvalidInput(
            {
                "date": _("The matter was enrolled on %(date)s; the hearing cannot be earlier.")
                % {"date": p.enrolled_on}
            }
        )
    last = brief.hearings.order_by("-date").values_list("date", flat=True).first()
    if last and held_on < last:
        raise InvalidInput(
            {
                "date": _("A later hearing (%(date)s) is already recorded; record hearings in order.")
                % {"date": last}
            }
        )
    if next_date is not None and next_date <= held_on:
        raise InvalidInput({"next_date": _("The next date must be after the hearing date.")})
    if court is not None and court.pk != p.court_id:
        raise InvalidInput(
            {
                "court": _(
                    "The matter is on the roll at %(court)s; a move is recorded as outcome “%(outcome)s”."
                )
                % {"court": p.court, "outcome": Hearing.Outcome.TRANSFERRED.label}
            }
        )
    if outcome != Hearing.Outcome.TRANSFERRED and new_court is not None:
        raise InvalidInput({"new_court": _("A new court is only given for outcome 'transferred'.")})
    valid = outcomes_valid_now(p)
    if outcome not in valid:
        raise NotAllowed(outcome, p.state, valid)


def _drive_prosecution(
    hearing: Hearing, p: Prosecution, brief: Brief, *, actor, version, note, kwargs
) -> None:
    """Start monitoring, move the prosecution as the outcome says, and note the next appearance."""
    at = effective_time(hearing.date, p)
    # The first hearing starts monitoring; before the prosecution moves, so that a final
    # outcome can close the brief in the same step.
    if brief.state == Brief.State.ASSIGNED:
        brief = transitions.apply_transition(
            brief,
            "start_monitoring",
            actor=actor,
            version=None,
            may=always,
            note=f"hearing {hearing.pk}",
            at=not_before_last_change(at, brief),
        )
    from_state = p.state
    name = OUTCOME_TRANSITIONS[hearing.outcome]
    if name in transitions.allowed_from_state(p):
        service = transitions.get(Prosecution, name).service
        p = service(p, actor=actor, version=version, note=note, data={"hearing": hearing.pk}, at=at, **kwargs)
        hearing.transition = name
    elif version is not None and version != p.version:  # a part-heard trial: no move, still guarded
        raise StaleVersion(current=p.version, given=version)
    hearing.from_state, hearing.to_state = from_state, p.state
    hearing.save(update_fields=["transition", "from_state", "to_state"])
    later = p.next_appearance if p.next_appearance and p.next_appearance > hearing.date else None
    Brief.objects.filter(pk=brief.pk).update(next_appearance=hearing.next_date or later)


def hearing_record(
    *,
    actor,
    prosecution: Prosecution,
    held_on: dt.date,
    kind: str,
    outcome: str,
    reason: str = "",
    next_date: dt.date | None = None,
    note: str = "",
    court: Court | None = None,
    new_court: Court | None = None,
    sentence: str = "",
    programme: str = "",
    officer=None,
    version: int | None = None,
) -> Hearing:
    """Record a hearing (``held_on``, of ``kind``: the API's ``date`` and ``type``) and move the
    prosecution as its outcome says, in one transaction.

    Raises PermissionDenied (not this user's brief), InvalidInput (a field, named), NotAllowed
    (outcome impossible from the prosecution's state; ``allowed`` lists the valid outcomes),
    StaleVersion (``version`` given and the prosecution changed meanwhile), AlreadyRecorded (no
    ``version`` and the same date, type and outcome already recorded on the brief: a resend or a twin).
    """
    brief = _check_request(actor=actor, prosecution=prosecution, held_on=held_on, kind=kind, outcome=outcome)
    with transaction.atomic():
        # Prosecution first, then brief: the order casework's transitions (and our reactions) lock in.
        p = Prosecution.objects.select_for_update().select_related("court").get(pk=prosecution.pk)
        brief = Brief.objects.select_for_update().get(pk=brief.pk)
        _check_not_stale(p, brief, version=version, held_on=held_on, kind=kind, outcome=outcome)
        _check_dates_and_courts(
            p, brief, held_on=held_on, outcome=outcome, next_date=next_date, court=court, new_court=new_court
        )
        fields = {"reason": reason, "next_date": next_date, "sentence": sentence, "programme": programme}
        kwargs = outcome_kwargs(outcome, {**fields, "new_court": new_court})
        if officer is None and perms.watches(actor, brief):
            officer = actor
        hearing = Hearing.objects.create(
            brief=brief,
            prosecution=p,
            date=held_on,
            court=p.court,
            type=kind,
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
        _drive_prosecution(hearing, p, brief, actor=actor, version=version, note=note, kwargs=kwargs)
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
    code("category", category, Feedback.Category)
    code("recipient", recipient, Feedback.Recipient)
    if not (text or "").strip():
        raise InvalidInput({"text": _("Say what was observed.")})
    if hearing is not None and hearing.brief_id != brief.pk:
        raise InvalidInput({"hearing": _("That hearing belongs to another brief.")})
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
        raise InvalidInput({"response": _("This field is required.")})
    responded_at = responded_at or timezone.now()
    if responded_at > timezone.now():
        raise InvalidInput({"responded_at": _("A response cannot be in the future.")})
    if responded_at < feedback.created_at:
        raise InvalidInput({"responded_at": _("A response cannot come before the feedback was given.")})
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
    TransitionLog.record_start(
        review,
        "flag",
        actor=actor,
        at=review.flagged_at,
        reason=reason or "",
        data={"removal": removal, "priority": reasons},
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
        raise InvalidInput({"meeting": _("This field is required.")})
    with transaction.atomic():
        return transitions.apply_transition(
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
    code("decision", decision, WithdrawalReview.Decision)
    if not (rationale or "").strip():
        raise InvalidInput({"rationale": _("The committee's rationale is required.")})
    with transaction.atomic():
        locked = WithdrawalReview.objects.select_for_update().get(pk=review.pk)
        members = list(members_present or (locked.meeting.members.all() if locked.meeting else []))
        # Who, version and state are checked first (by apply_transition); then the members, and
        # raising rolls the decision back with the rest.
        review = transitions.apply_transition(
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
        _check_meeting_held(review, at)
        if not members:
            raise InvalidInput({"members_present": _("Name the members present.")})
        outsiders = [
            m.get_username() for m in members if not perms.committee_members().filter(pk=m.pk).exists()
        ]
        if outsiders:
            raise InvalidInput(
                {"members_present": _("Not committee members: %(names)s.") % {"names": ", ".join(outsiders)}}
            )
        review.members_present.set(members)
        if decision != WithdrawalReview.Decision.RE_ENROL:
            review = transitions.apply_transition(
                review, "close", actor=actor, version=None, may=always, reason=decision, at=at
            )
        return review


def _check_meeting_held(review: WithdrawalReview, at) -> None:
    """A decision is the meeting's: recorded on or after the day it sits, never before."""
    day = timezone.localdate(at) if at else timezone.localdate()
    if review.meeting is not None and review.meeting.date > day:
        when = formats.date_format(review.meeting.date, "l j F Y")
        raise InvalidInput(
            {
                "decision": _("The committee meets on %(day)s; record its decision on or after that day.")
                % {"day": when}
            }
        )


def review_close(review: WithdrawalReview, *, actor, version: int | None, note: str = "", at=None):
    """Close a decided review by hand (a re-enrolment decision closes itself on re-enrolment)."""
    with transaction.atomic():
        return transitions.apply_transition(
            review, "close", actor=actor, version=version, may=perms.may_transition_review, note=note, at=at
        )


def _named_review(prosecution: Prosecution, open_reviews: list, review_id):
    """The review a re-enrolment names, among the matter's open ones (None when none is named)."""
    if review_id in (None, ""):
        if len(open_reviews) > 1:
            text = _(
                "This matter has %(n)s open withdrawal reviews: choose the one this re-enrolment answers."
            )
            raise InvalidInput({"review": text % {"n": len(open_reviews)}})
        return open_reviews[0] if open_reviews else None
    try:
        review_id = int(review_id)
    except (TypeError, ValueError) as e:
        raise InvalidInput({"review": _("Choose the review from the list.")}) from e
    named = next((r for r in open_reviews if r.pk == review_id), None)
    if named is not None:
        return named
    if WithdrawalReview.objects.filter(pk=review_id, prosecution=prosecution).exists():
        raise InvalidInput({"review": _("That review of this matter is already closed.")})
    raise InvalidInput({"review": _("That is not a withdrawal review of this matter.")})


def reviews_close_on_re_enrolment(*, prosecution: Prosecution, review_id=None, actor, at=None) -> list:
    """A re-enrolment closes every open review of the matter as re-enrolled; ``review_id`` names the
    one it answers (required when several are open). The watcher, the supervisors and the committee
    are told after commit. InvalidInput (naming ``review``) rolls the re-enrolment back."""
    open_reviews = list(
        WithdrawalReview.objects.select_for_update()
        .filter(prosecution=prosecution)
        .exclude(state=WithdrawalReview.State.CLOSED)
        .order_by("flagged_at", "id")
    )
    named = _named_review(prosecution, open_reviews, review_id)
    closed = [
        transitions.apply_transition(
            review,
            "close",
            actor=actor,
            version=None,
            may=always,
            reason="re_enrolled",
            data={
                "prosecution": prosecution.pk,
                "enrolments": prosecution.enrolments,
                "answered": review.pk == getattr(named, "pk", None),
            },
            at=not_before_last_change(at, review),
        )
        for review in open_reviews
    ]
    after_commit.queue(notify_re_enrolment, prosecution.pk, prosecution.enrolments)
    return closed


@transaction.atomic
def meeting_create(*, actor, date: dt.date, members: list) -> CommitteeMeeting:
    """Call a committee meeting; members are committee members (users)."""
    if actor is not None and not perms.may_create_meeting(actor):
        raise PermissionDenied("Only committee members call committee meetings.")
    if date is None:
        raise InvalidInput({"date": _("This field is required.")})
    if not members:
        raise InvalidInput({"members": _("Name at least one member.")})
    outsiders = [m.get_username() for m in members if not perms.committee_members().filter(pk=m.pk).exists()]
    if outsiders:
        raise InvalidInput(
            {"members": _("Not committee members: %(names)s.") % {"names": ", ".join(outsiders)}}
        )
    meeting = CommitteeMeeting.objects.create(date=date, created_by=actor)
    meeting.members.set(members)
    return meeting
