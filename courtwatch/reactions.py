"""How court watching reacts to casework events, inside the same transaction (STYLE.md §2).

Every reaction of this app is here, registered on ``casework.reactions`` at start-up
(``CourtwatchConfig.ready``). A handler that raises rolls the casework action back with it.

- a prosecution is enrolled → open its brief (when it arises from a Casetrail incident);
- a prosecution moves → its brief mirrors the next appearance;
- it enters withdrawn / provisionally withdrawn / struck off → flag a withdrawal review;
- it is re-enrolled → close its open reviews as re-enrolled (the one it answers named in
  ``data["review"]`` when several), tell the people who follow it, and reopen the brief;
- it reaches a terminal state (sentenced, acquitted, diverted) → close the brief.
"""

from casework.models import Prosecution
from casework.reactions import on
from casework.transitions import apply_transition

from . import services
from .models import Brief

TERMINAL_STATES = (Prosecution.State.SENTENCED, Prosecution.State.ACQUITTED, Prosecution.State.DIVERTED)


@on("prosecution_enrolled")
def open_brief(*, prosecution, actor, **_):
    services.brief_open(prosecution=prosecution, actor=actor)


@on("transition")
def follow_prosecution(*, obj, name, from_state, to_state, actor, reason, data, at=None, **_):
    if not isinstance(obj, Prosecution):
        return
    Brief.objects.filter(prosecution=obj).update(next_appearance=obj.next_appearance)
    if to_state in Prosecution.REMOVED_STATES and from_state not in Prosecution.REMOVED_STATES:
        services.review_flag(prosecution=obj, removal=name, reason=reason, actor=actor, at=at)
    if name == "re_enrol":
        services.reviews_close_on_re_enrolment(
            prosecution=obj, review_id=data.get("review"), actor=actor, at=at
        )
        brief = Brief.objects.select_for_update().filter(prosecution=obj).first()
        if brief is not None and brief.state == Brief.State.CLOSED:
            apply_transition(
                brief,
                "reopen",
                actor=actor,
                version=None,
                may=services.always,
                reason="re_enrolled",
                at=services.not_before_last_change(at, brief),
            )
    if to_state in TERMINAL_STATES:
        brief = Brief.objects.select_for_update().filter(prosecution=obj).first()
        if brief is not None and brief.state in (Brief.State.ASSIGNED, Brief.State.MONITORING):
            apply_transition(
                brief,
                "close",
                actor=actor,
                version=None,
                may=services.always,
                reason=to_state,
                at=services.not_before_last_change(at, brief),
            )
