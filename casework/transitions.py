"""Every state change: the one locked path (``apply_transition``), the one registry of what each
machine offers (``TransitionSpec``) and the one factory for plain transition services (``make_service``).

A spec names a model's transition, the form that describes its fields (pages and API validate
with it), the service that takes it and the rule for who may. Each app registers its own specs
at start-up (``<app>/transition_specs.py``, from ``AppConfig.ready``), so ``casework`` never
imports the apps that build on it. Pages, API, hearing outcomes, permission rules and reports
read the registry (``get``, ``specs_for``, ``removal_transitions``) instead of keeping lists.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from . import reactions
from .errors import InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from .inputs import ascii_int
from .models import Prosecution, TransitionLog

# -------------------------------------------------------------------- the machines


def transition_names(model) -> list[str]:
    """Every transition a stateful model declares, in declaration order."""
    field = model._meta.get_field("state")
    seen = []
    for t in field.get_all_transitions(model):
        if t.name not in seen:
            seen.append(t.name)
    return seen


def targets(model) -> dict[str, str]:
    """Transition name → the state it leads to, as the model's FSM declares."""
    found = {t.name: str(t.target) for t in model._meta.get_field("state").get_all_transitions(model)}
    return {name: found[name] for name in transition_names(model)}


def allowed_from_state(obj) -> list[str]:
    """Transitions possible from the object's current state, whoever asks, in the order the model declares."""
    possible = {t.name for t in obj.get_available_state_transitions()}
    return [name for name in transition_names(type(obj)) if name in possible]


def available_transitions(obj, user, may: Callable) -> list[str]:
    """Transitions this user may take now: possible from this state and permitted to them."""
    return [name for name in allowed_from_state(obj) if may(user, obj, name)]


def removal_transitions() -> dict[str, str]:
    """The prosecution transitions that take a matter off the roll: name → target state."""
    return {n: t for n, t in targets(Prosecution).items() if t in Prosecution.REMOVED_STATES}


# -------------------------------------------------------------------- the one locked path


def _lock_and_check(obj, name: str, *, actor, version, may: Callable):
    """Lock the row, then check who (403), which version (409), which state (400), in that order."""
    model = type(obj)
    if name not in transition_names(model):
        raise NotAllowed(name, obj.state, allowed_from_state(obj))
    locked = model.objects.select_for_update().get(pk=obj.pk)
    if actor is not None and not may(actor, locked, name):
        raise PermissionDenied(f"You may not take '{name}' on this {model._meta.verbose_name}.")
    if version is not None and locked.version != version:
        raise StaleVersion(current=locked.version, given=version)
    if not can_proceed(getattr(locked, name)):
        raise NotAllowed(name, locked.state, allowed_from_state(locked))
    return locked


def apply_transition(
    obj,
    name: str,
    *,
    actor,
    version: int | None,
    may: Callable,
    reason: str = "",
    note: str = "",
    data: dict | None = None,
    at=None,
    **kwargs,
):
    """Take transition ``name`` on ``obj`` for ``actor``; the one path every state change takes.

    ``at`` is when the change took effect (default now): a hearing recorded in the evening
    took effect at the hearing; the log keeps both ``at`` and when it was recorded.

    Order of checks: who (403), which version (409), which state (400). The version comes before
    the state so that of two people racing to withdraw the same matter the loser hears
    "someone else changed it", not "withdraw is not allowed". ``version=None`` is for callers
    that already hold the row (a hearing, a task): the row lock still serialises them.
    Must run inside ``transaction.atomic``; reactions registered by other apps run in it too.
    """
    locked = _lock_and_check(obj, name, actor=actor, version=version, may=may)
    from_state = locked.state
    at = at or timezone.now()
    if at > timezone.now():
        raise InvalidInput({"at": _("A change cannot take effect in the future.")})
    getattr(locked, name)(**kwargs)
    locked.state_changed_at = at
    if hasattr(locked, "on_state_changed"):
        locked.on_state_changed(at)
    locked.version += 1
    locked.save()
    moved = {"from_state": from_state, "to_state": locked.state, "actor": actor, "note": note or ""}
    TransitionLog.objects.create(
        subject=locked, transition=name, reason=reason or "", data=data or {}, at=at, **moved
    )
    reactions.emit("transition", obj=locked, name=name, reason=reason, data=data or {}, at=at, **moved)
    obj.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return locked


# -------------------------------------------------------------------- checks every service shares


def require(**fields) -> None:
    """InvalidInput naming every field that is missing (None, blank or empty)."""
    missing = {
        name: _("This field is required.") for name, value in fields.items() if value in (None, "", [])
    }
    if missing:
        raise InvalidInput(missing)


def code(field: str, value: str, choices) -> str:
    """``value`` if it is one of ``choices`` (TextChoices or a list of codes), else InvalidInput."""
    require(**{field: value})
    values = list(getattr(choices, "values", choices))
    if value not in values:
        raise InvalidInput(
            {
                field: _("'%(value)s' is not a known code. Use one of: %(codes)s.")
                % {"value": value, "codes": ", ".join(values)}
            }
        )
    return value


def parse_version(value) -> int:
    """The version a client last read, from JSON or a form: pages and API parse it here alike.

    Missing or not a whole number is a field error (InvalidInput naming ``version``), never a
    conflict: a 409 means someone else changed the object, which nobody knows yet.
    """
    if value in (None, ""):
        raise InvalidInput({"version": _("This field is required: send the version you last read.")})
    if not (isinstance(value, int) and not isinstance(value, bool)):
        value = ascii_int(value)  # "3" from a form, never 3.5, 1e999, "²" or true
    if value is None or not 0 <= value < 2**31:
        raise InvalidInput({"version": _("A whole number is required.")})
    return value


# -------------------------------------------------------------------- the one service factory


def _log_reason(log_reason, values: dict) -> str:
    if callable(log_reason):
        return log_reason(values)
    return log_reason if log_reason is not None else values.get("reason") or ""


def _clean(fields: dict, *, required, codes) -> dict:
    """Strip text, then check required fields and codes in the order the fields are declared."""
    out = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    for field, value in out.items():
        if field in codes:
            code(field, value, codes[field])
        elif field in required:
            require(**{field: value})
    return out


def make_service(
    subject: str,
    name: str,
    *,
    may: Callable,
    fields: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
    codes: Mapping | None = None,
    to_method: Mapping[str, str] | None = None,
    log_reason: str | Callable | None = None,
    check: Callable | None = None,
    then: Callable | None = None,
    doc: str = "",
) -> Callable:
    """Build the service ``<subject>_<name>``: check its fields, take the transition, then ``then(obj)``.

    ``fields`` are the keyword arguments it takes besides actor, version, note, data and at (a
    ``reason`` is logged as the reason); ``to_method`` maps a field to the model method's argument
    (the rest are not passed on); ``log_reason`` fixes the logged reason (a text, or a function of
    the checked values); ``check(obj, values)`` adds a rule of its own after the fields' checks.
    """
    codes, to_method = dict(codes or {}), dict(to_method or {})

    def take(obj, *, actor, version: int | None, note: str = "", data=None, at=None, **given):
        unknown = set(given) - set(fields)
        if unknown:
            raise TypeError(f"{take.__name__}() got unexpected arguments: {', '.join(sorted(unknown))}")
        values = _clean({f: given.get(f) for f in fields}, required=required, codes=codes)
        if check is not None:
            check(obj, values)
        kwargs = {arg: values[f] for f, arg in to_method.items()}
        reason = _log_reason(log_reason, values)
        with transaction.atomic():
            obj = apply_transition(
                obj,
                name,
                actor=actor,
                version=version,
                may=may,
                reason=reason[:60],
                note=note,
                data=data,
                at=at,
                **kwargs,
            )
            if then is not None:
                then(obj)
            return obj

    take.__name__ = take.__qualname__ = f"{subject}_{name}"
    take.__doc__ = doc or f"Take '{name}'. Raises PermissionDenied, StaleVersion, NotAllowed, InvalidInput."
    return take


# -------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class TransitionSpec:
    """One transition a machine offers: its form (its fields), its service and who may take it."""

    model: type
    name: str
    form: type[forms.Form]
    service: Callable
    may: Callable

    @property
    def fields(self) -> list[str]:
        """The fields the transition takes (its form's, the note aside), in the form's order."""
        return [f for f in self.form.base_fields if f != "note"]

    @property
    def required(self) -> list[str]:
        return [f for f in self.fields if self.form.base_fields[f].required]

    @property
    def target(self) -> str:
        return targets(self.model)[self.name]


_specs: dict[type, dict[str, TransitionSpec]] = {}


def register(model, *, may: Callable, steps: Mapping[str, tuple[type[forms.Form], Callable]]) -> None:
    """Register a machine: ``steps`` maps each of the model's transitions to (form, service).

    Every transition the model declares must be registered, and nothing else: a missing or
    unknown one fails at start-up rather than answering 500 on a page.
    """
    declared = transition_names(model)
    if set(steps) != set(declared):
        raise ImproperlyConfigured(
            f"{model.__name__}: transitions {sorted(declared)} but specs for {sorted(steps)}."
        )
    _specs[model] = {
        n: TransitionSpec(model=model, name=n, form=steps[n][0], service=steps[n][1], may=may)
        for n in declared
    }


def specs_for(model) -> list[TransitionSpec]:
    """The specs of a machine, in the order the model declares its transitions."""
    return list(_specs.get(model, {}).values())


def get(model, name: str) -> TransitionSpec | None:
    """The spec of one transition, or None if the machine has no such transition."""
    return _specs.get(model, {}).get(name)


def may(user, obj, name: str) -> bool:
    """May ``user`` take ``name`` on ``obj`` (state aside)? The registered rule of its machine."""
    spec = get(type(obj), name)
    return spec is not None and spec.may(user, obj, name)


def available(obj, user) -> list[TransitionSpec]:
    """The specs of the transitions this user may take on ``obj`` now."""
    specs = _specs.get(type(obj), {})
    return [specs[n] for n in available_transitions(obj, user, may) if n in specs]


class Services(Mapping):
    """A read-only name → service view of one machine's registry (``PROSECUTION_TRANSITIONS``)."""

    def __init__(self, model):
        self.model = model

    def __getitem__(self, name: str) -> Callable:
        spec = get(self.model, name)
        if spec is None:
            raise KeyError(name)
        return spec.service

    def __iter__(self) -> Iterator[str]:
        return iter(_specs.get(self.model, {}))

    def __len__(self) -> int:
        return len(_specs.get(self.model, {}))
