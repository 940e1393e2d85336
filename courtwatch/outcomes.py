"""What a hearing's outcome does to the prosecution: the one table, and what derives from it.

Each outcome names the prosecution transition it drives. The fields an outcome needs, their
checks and the casework service's arguments come from that transition's registered spec (its
form, ``casework.transitions``); who may move a matter by hearing follows from the same table.
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import transitions
from casework.errors import InvalidInput
from casework.models import Prosecution

from .models import Hearing

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
# What a hearing outcome can do to a prosecution; re-enrolment stays with the NPA (after a review).
HEARING_TRANSITIONS = frozenset(OUTCOME_TRANSITIONS.values())

# A hearing's ``court`` is where it was heard; the court a matter moves to is its ``new_court``.
HEARING_FIELD = {"court": "new_court"}
# What the watcher is told when an outcome's required field is missing (by the transition's field).
MISSING = {
    "next_date": _("A postponement needs the next date."),
    "sentence": _("The sentence imposed is required."),
    "programme": _("The diversion programme is required."),
    "court": _("The court the matter is transferred to is required."),
}


def _spec(outcome) -> transitions.TransitionSpec:
    return transitions.get(Prosecution, OUTCOME_TRANSITIONS[outcome])


def outcome_fields() -> dict[str, list[str]]:
    """Outcome → the hearing's optional fields it uses; the phone form shows only those (the rest
    stay valid without JavaScript: the service ignores what an outcome does not use)."""
    return {str(o): [HEARING_FIELD.get(f, f) for f in _spec(o).fields] for o in OUTCOME_TRANSITIONS}


def outcomes_valid_now(prosecution: Prosecution) -> list[str]:
    """Outcomes a hearing may record given the prosecution's state.

    A trial postponed (part-heard) keeps the matter in ``trial``: casework's ``remand`` does not
    leave ``trial``, so "postponed" during a trial records the hearing and moves no state.
    """
    allowed = set(transitions.allowed_from_state(prosecution))
    valid = [o for o, t in OUTCOME_TRANSITIONS.items() if t in allowed]
    if prosecution.state == Prosecution.State.TRIAL and Hearing.Outcome.POSTPONED not in valid:
        valid.insert(0, Hearing.Outcome.POSTPONED)
    return [str(o) for o in valid]


def _codes(form_field) -> list[str]:
    """The codes a choice field accepts (none for a model choice or a free field)."""
    if not hasattr(form_field, "choices") or hasattr(form_field, "queryset"):
        return []
    return [str(c) for c, _label in form_field.choices if c != ""]


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def outcome_kwargs(outcome, values: dict) -> dict:
    """The casework service's arguments for this outcome from the hearing's ``values``.

    Raises InvalidInput naming the hearing's field, in the order the transition's form declares them.
    """
    spec = _spec(outcome)
    if values.get("reason") and "reason" not in spec.fields:
        raise InvalidInput(
            {
                "reason": _("A reason code is not used for outcome “%(outcome)s”; use the note.")
                % {"outcome": dict(Hearing.Outcome.choices).get(outcome, outcome)}
            }
        )
    kwargs = {}
    for field in spec.fields:
        name = HEARING_FIELD.get(field, field)
        value = values.get(name)
        codes = _codes(spec.form.base_fields[field])
        if codes:
            transitions.code(name, value, codes)
        elif field in spec.required and _blank(value):
            raise InvalidInput({name: MISSING.get(field, _("This field is required."))})
        kwargs[field] = value
    return kwargs


def effective_time(day: date, prosecution: Prosecution):
    """When the outcome took effect: now for today, else 09:00 SAST that day, after the last change."""
    now = timezone.now()
    if day >= timezone.localdate():
        return now
    at = timezone.make_aware(datetime.combine(day, time(9, 0)))
    last = prosecution.state_changed_at
    if at <= last and timezone.localdate(last) == day:
        at = min(now, last + timedelta(seconds=1))
    return at


# ---------------------------------------------------------------- the phone form's help (derived)

# Outcomes that take the matter off the roll: the form asks for a confirmation before recording them.
CONFIRM_OUTCOMES = frozenset(
    o for o, t in OUTCOME_TRANSITIONS.items() if t in ("withdraw", "withdraw_provisionally", "strike_off")
)


def outcome_reasons() -> dict[str, list[tuple[str, str]]]:
    """Outcome → the reason codes (with their words) it accepts; empty when it takes no reason."""
    out = {}
    for o in OUTCOME_TRANSITIONS:
        spec = _spec(o)
        field = spec.form.base_fields.get("reason")
        out[str(o)] = [(str(c), str(label)) for c, label in field.choices if c != ""] if field else []
    return out


def outcome_required() -> dict[str, list[str]]:
    """Outcome → the hearing fields it requires (besides date, type and outcome)."""
    return {str(o): [HEARING_FIELD.get(f, f) for f in _spec(o).required] for o in OUTCOME_TRANSITIONS}


def default_hearing_type(prosecution: Prosecution, *, heard_before: bool) -> str:
    """The hearing a matter at this stage most likely has next: a first appearance for a new matter,
    a trial day on trial, sentencing after conviction, else a remand."""
    s = Prosecution.State
    if prosecution.state == s.ENROLLED and not heard_before:
        return Hearing.Type.FIRST_APPEARANCE
    if prosecution.state == s.TRIAL:
        return Hearing.Type.TRIAL
    if prosecution.state == s.CONVICTED:
        return Hearing.Type.SENTENCING
    return Hearing.Type.REMAND
