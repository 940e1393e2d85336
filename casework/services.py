"""Every write a user (or a hearing, a task, the admin) can cause on incidents, dockets and prosecutions.

One function per action, keyword-only arguments, an explicit ``actor`` (``None`` means the
system itself: a Celery task or a migration, and skips the permission check). Each runs in
one transaction: lock the row, check who, check the version, check the state, change, log.
"""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from . import permissions, reactions, transitions
from .bulk import copy_insert
from .errors import InvalidInput, PermissionDenied
from .models import (
    Accused,
    Court,
    GangAssertion,
    Incident,
    Mechanism,
    Offence,
    PlaceType,
    PoliceCase,
    PostponementReason,
    Prosecution,
    RemovalReason,
    Station,
    Suburb,
    TransitionLog,
    parse_cas_number,
)
from .transitions import code as _code
from .transitions import require as _require

# -------------------------------------------------------------------- shared


def start_of_day(day: date):
    """The first moment of a SAST calendar day: when a record dated ``day`` took effect."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


# -------------------------------------------------------------------- incidents


GANG_SOURCE_BY_ROLE = {
    permissions.HEALTH_CAPTURE: GangAssertion.Source.EC_CLINICIAN,
    permissions.SAPS_LIAISON: GangAssertion.Source.SAPS,
    permissions.NPA_LIAISON: GangAssertion.Source.NPA_CHARGE,
    permissions.COMMITTEE_MEMBER: GangAssertion.Source.COMMITTEE,
}


def _gang_source_for(actor) -> str:
    roles = permissions.roles_of(actor) if actor else frozenset()
    for role, source in GANG_SOURCE_BY_ROLE.items():
        if role in roles:
            return source
    return GangAssertion.Source.SAPS


def _check_incident(*, occurred_at, suburb, mechanism: str, place_type: str, now=None) -> None:
    """The rules every new incident meets, whichever path records it."""
    _require(occurred_at=occurred_at, suburb=suburb)
    _code("mechanism", mechanism, Mechanism)
    if place_type:
        _code("place_type", place_type, PlaceType)
    if occurred_at > (now or timezone.now()):
        raise InvalidInput({"occurred_at": _("An incident cannot happen in the future.")})


@transaction.atomic
def incident_create(
    *,
    actor,
    occurred_at,
    suburb: Suburb,
    mechanism: str,
    fatal: bool = False,
    gang_related: bool = False,
    place_type: str = "",
    gang_basis: str = "",
    at=None,
) -> Incident:
    if actor is not None and not permissions.may_create_incident(actor):
        raise PermissionDenied("You may not record incidents.")
    _check_incident(occurred_at=occurred_at, suburb=suburb, mechanism=mechanism, place_type=place_type)
    if actor is not None and not permissions.may_create_incident(actor, suburb):
        raise PermissionDenied(f"You may not record incidents in {suburb}: it is outside your precincts.")
    incident = Incident.objects.create(
        occurred_at=occurred_at,
        suburb=suburb,
        mechanism=mechanism,
        fatal=fatal,
        place_type=place_type,
        created_by=actor,
    )
    if gang_related:
        _assert_gang(
            incident,
            actor=actor,
            gang_related=True,
            source=_gang_source_for(actor),
            basis=gang_basis,
            at=at,
        )
    reactions.emit("incident_changed", incident=incident)
    return incident


@transaction.atomic
def incident_create_many(*, actor, incidents: list[Incident]) -> list[Incident]:
    """Bulk ``incident_create`` for intake batches (unsaved Incident objects in, saved out).

    The same checks per incident; ``gang_related`` incidents must get their assertion from the
    caller in the same transaction. Emits ``incident_changed`` for the gang-related ones only:
    the facts of a new incident reach reporting through its admissions' own event.
    """
    if actor is not None and not permissions.may_create_incident(actor):
        raise PermissionDenied("You may not record incidents.")
    now = timezone.now()
    # The same checks, once per (mechanism, place type): what holds for the group's latest incident
    # (or one missing its time or suburb) holds for all of it. Per incident they cost more than the
    # insert when an intake backfill makes a million.
    groups: dict[tuple[str, str], list[Incident]] = {}
    for incident in incidents:
        groups.setdefault((incident.mechanism, incident.place_type), []).append(incident)
        incident.created_by = actor
    if actor is not None:
        suburbs = Suburb.objects.filter(pk__in={i.suburb_id for i in incidents if i.suburb_id})
        outside = [s for s in suburbs if not permissions.may_create_incident(actor, s)]
        if outside:
            raise PermissionDenied(
                f"You may not record incidents in {outside[0]}: it is outside your precincts."
            )
    for (mechanism, place_type), group in groups.items():
        worst = next((i for i in group if i.occurred_at is None or i.suburb_id is None), None)
        worst = worst or max(group, key=lambda i: i.occurred_at)
        _check_incident(
            occurred_at=worst.occurred_at,
            suburb=worst.suburb_id,
            mechanism=mechanism,
            place_type=place_type,
            now=now,
        )
    if connection.vendor == "postgresql":
        copy_insert(Incident, incidents)
    else:
        Incident.objects.bulk_create(incidents, batch_size=1000)
    for incident in incidents:
        if incident.gang_related:
            reactions.emit("incident_changed", incident=incident)
    return incidents


def _assert_gang(incident: Incident, *, actor, gang_related: bool, source: str, basis: str, at=None) -> None:
    GangAssertion.objects.create(
        incident=incident,
        gang_related=gang_related,
        source=source,
        basis=basis,
        asserted_by=actor,
        asserted_at=at or timezone.now(),
    )
    _apply_gang_rule([incident.pk])
    incident.refresh_from_db(fields=["gang_related"])


def _apply_gang_rule(incident_ids: list[int]) -> None:
    """The rule of every report: an incident is gang-related while its latest standing assertion says so."""
    latest = GangAssertion.objects.filter(incident=OuterRef("pk"), withdrawn_at__isnull=True)
    latest = latest.order_by("-asserted_at", "-id").values("gang_related")[:1]
    Incident.objects.filter(pk__in=incident_ids).update(gang_related=Coalesce(Subquery(latest), Value(False)))


@transaction.atomic
def incident_assert_gang_relatedness(
    *, incident: Incident, actor, gang_related: bool, basis: str, source: str = "", at=None
) -> Incident:
    """Record who says the incident is (or is not) gang-related and why; the latest standing one rules.

    ``at`` is when the assertion was made (default now).
    """
    if actor is not None and not permissions.may_assert_gang_relatedness(actor, incident):
        raise PermissionDenied("You may not assert gang-relatedness.")
    _require(basis=basis)
    source = _code("source", source, GangAssertion.Source) if source else _gang_source_for(actor)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _assert_gang(incident, actor=actor, gang_related=gang_related, source=source, basis=basis, at=at)
    reactions.emit("incident_changed", incident=incident)
    return incident


@transaction.atomic
def gang_assert_many(
    *, incident_ids_with_basis, source: str, actor=None, at=None, gang_related: bool = True
) -> list[int]:
    """``incident_assert_gang_relatedness`` for many (incident id, basis) pairs at once (intake
    batches, a CSV backfill): the same rule, set-based. An assertion already made with the same
    source and basis is not made again. Returns the ids of the incidents that got one.
    """
    wanted = dict.fromkeys((int(pk), basis) for pk, basis in incident_ids_with_basis)
    if not all(basis for _pk, basis in wanted):
        _require(basis="")
    source = _code("source", source, GangAssertion.Source)
    ids = sorted({pk for pk, _basis in wanted})
    if actor is not None:
        found = list(Incident.objects.filter(pk__in=ids))
        may = permissions.may_assert_gang_relatedness
        if len(found) != len(ids) or not all(may(actor, i) for i in found):
            raise PermissionDenied("You may not assert gang-relatedness.")
    for chunk in _chunks(ids):
        made = GangAssertion.objects.filter(incident_id__in=chunk, source=source)
        for pair in made.values_list("incident_id", "basis"):
            wanted.pop(pair, None)
    asserted_at = at or timezone.now()
    rows = [
        GangAssertion(
            incident_id=pk,
            gang_related=gang_related,
            source=source,
            basis=basis,
            asserted_by=actor,
            asserted_at=asserted_at,
        )
        for pk, basis in wanted
    ]
    if connection.vendor == "postgresql":
        copy_insert(GangAssertion, rows)
    else:
        GangAssertion.objects.bulk_create(rows, batch_size=1000)
    touched = sorted({pk for pk, _basis in wanted})
    for chunk in _chunks(touched):
        _apply_gang_rule(chunk)
        for incident in Incident.objects.filter(pk__in=chunk):
            reactions.emit("incident_changed", incident=incident)
    return touched


def _chunks(ids: list[int], size: int = 5000):
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


# -------------------------------------------------------------------- police cases


@transaction.atomic
def police_case_open(
    *,
    actor,
    station: Station,
    cas_number: str,
    offence: Offence,
    opened_on: date,
    incidents: list[Incident] = (),
    at=None,
) -> PoliceCase:
    """Open a docket. Raises InvalidInput (malformed or duplicate CAS number), PermissionDenied.

    ``at`` is when it took effect (default now), as for every transition.
    """
    _require(station=station, cas_number=cas_number, offence=offence, opened_on=opened_on)
    if actor is not None and not permissions.may_open_police_case(actor, station):
        raise PermissionDenied(f"You may not open dockets at {station}.")
    if actor is not None and not permissions.may_link_incidents(actor, incidents):
        # Hidden incidents answer like missing ones.
        raise InvalidInput({"incidents": _("No such incident.")})
    try:
        serial, month, year = parse_cas_number(cas_number)
    except ValidationError as e:
        raise InvalidInput({"cas_number": e.messages}) from e
    if opened_on > timezone.localdate():
        raise InvalidInput({"opened_on": _("A docket cannot be opened in the future.")})
    if (year, month) > (opened_on.year, opened_on.month):
        raise InvalidInput({"cas_number": _("The CAS month/year is after the date the docket was opened.")})
    if PoliceCase.objects.filter(station=station, cas_serial=serial, cas_month=month, cas_year=year).exists():
        raise InvalidInput(
            {
                "cas_number": _("CAS %(number)s already exists at %(station)s.")
                % {"number": cas_number, "station": station}
            }
        )
    try:
        with transaction.atomic():
            case = PoliceCase.objects.create(
                station=station,
                cas_serial=serial,
                cas_month=month,
                cas_year=year,
                offence=offence,
                opened_on=opened_on,
                state_changed_at=at or start_of_day(opened_on),
            )
    except IntegrityError as e:  # a concurrent open of the same CAS number won
        raise InvalidInput(
            {
                "cas_number": _("CAS %(number)s already exists at %(station)s.")
                % {"number": cas_number, "station": station}
            }
        ) from e
    case.incidents.set(incidents)
    TransitionLog.record_start(case, "open", actor=actor, note=f"CAS {case.cas_number}")
    reactions.emit("police_case_opened", police_case=case, actor=actor)
    return case


def _police_case_step(name: str, *, reason_required: bool = False):
    return transitions.make_service(
        "police_case",
        name,
        may=permissions.may_transition,
        fields=("reason",),
        required=("reason",) if reason_required else (),
    )


police_case_investigate = _police_case_step("investigate")
police_case_refer_to_npa = _police_case_step("refer_to_npa")
police_case_return_for_investigation = _police_case_step("return_for_investigation", reason_required=True)
police_case_decline_to_prosecute = _police_case_step("decline_to_prosecute", reason_required=True)
police_case_close_undetected = _police_case_step("close_undetected")
police_case_close_unfounded = _police_case_step("close_unfounded", reason_required=True)
police_case_complainant_withdraws = _police_case_step("complainant_withdraws", reason_required=True)
police_case_reopen = _police_case_step("reopen", reason_required=True)

# Derived from the registry (casework/transition_specs.py): name → service.
POLICE_CASE_TRANSITIONS = transitions.Services(PoliceCase)


@transaction.atomic
def police_case_link_incidents(*, police_case: PoliceCase, incident_ids, actor, at=None) -> PoliceCase:
    """Link incidents to a docket, with a row in its log (the state does not change).

    The caller has checked who may; this checks only that the incidents exist.
    """
    ids = sorted({int(i) for i in incident_ids})
    _require(incidents=ids)
    found = set(Incident.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if len(found) != len(ids):
        raise InvalidInput({"incidents": _("No such incident.")})
    case = PoliceCase.objects.select_for_update().get(pk=police_case.pk)
    case.incidents.add(*ids)
    TransitionLog.objects.create(
        subject=case,
        transition="link_incidents",
        from_state=case.state,
        to_state=case.state,
        actor=actor,
        note=f"Incident(s) {', '.join(str(i) for i in ids)}",
        data={"incidents": ids},
        at=at or timezone.now(),
    )
    return case


# -------------------------------------------------------------------- prosecutions


def _check_enrolment(
    *, actor, police_case, court, case_number, enrolled_on, accused
) -> tuple[str, list[str]]:
    """The rules a new matter on the roll meets; returns its case number and accused names, trimmed."""
    _require(
        police_case=police_case,
        court=court,
        case_number=(case_number or "").strip(),
        enrolled_on=enrolled_on,
        accused=accused,
    )
    if actor is not None and not permissions.may_enrol_prosecution(actor, court):
        raise PermissionDenied(f"You may not enrol matters at {court}.")
    if actor is not None and not permissions.may_enrol_prosecution(actor, court, police_case):
        # A docket the actor cannot see (another court's station) answers like a missing one.
        raise InvalidInput({"police_case": _("No such docket.")})
    case_number = case_number.strip()
    names = [(a.get("name") or "").strip() for a in accused]
    if not all(names):
        raise InvalidInput({"accused": _("Every accused needs a name.")})
    if enrolled_on > timezone.localdate():
        raise InvalidInput({"enrolled_on": _("A matter cannot be enrolled in the future.")})
    if enrolled_on < police_case.opened_on:
        raise InvalidInput({"enrolled_on": _("A matter cannot be enrolled before its docket was opened.")})
    if Prosecution.objects.filter(court=court, case_number__iexact=case_number).exists():
        raise InvalidInput(
            {
                "case_number": _("%(number)s is already on the roll at %(court)s.")
                % {"number": case_number, "court": court}
            }
        )
    return case_number, names


@transaction.atomic
def prosecution_enrol(
    *,
    actor,
    police_case: PoliceCase,
    court: Court,
    case_number: str,
    enrolled_on: date,
    accused: list[dict],
    at=None,
) -> Prosecution:
    """Put a matter on a court roll. Other apps react (courtwatch opens a brief)."""
    case_number, names = _check_enrolment(
        actor=actor,
        police_case=police_case,
        court=court,
        case_number=case_number,
        enrolled_on=enrolled_on,
        accused=accused,
    )
    try:
        with transaction.atomic():
            prosecution = Prosecution.objects.create(
                police_case=police_case,
                court=court,
                case_number=case_number,
                enrolled_on=enrolled_on,
                # Dated by its enrolment, so hearings recorded later sort after it on the timeline.
                state_changed_at=at or start_of_day(enrolled_on),
            )
    except IntegrityError as e:
        raise InvalidInput(
            {
                "case_number": _("%(number)s is already on the roll at %(court)s.")
                % {"number": case_number, "court": court}
            }
        ) from e
    Accused.objects.bulk_create(
        [
            Accused(prosecution=prosecution, name=n, pseudonym=a.get("pseudonym", ""))
            for n, a in zip(names, accused, strict=True)
        ]
    )
    # Kept as written, so in no language: the case number and the court, nothing to translate.
    TransitionLog.record_start(prosecution, "enrol", actor=actor, note=f"{case_number} · {court}")
    reactions.emit("prosecution_enrolled", prosecution=prosecution, actor=actor)
    return prosecution


def _settle_accused(outcome: str):
    """What finalising does to the accused still pending: they share the matter's outcome."""

    def settle(p: Prosecution) -> None:
        p.accused.filter(outcome="").update(outcome=outcome)

    return settle


def _not_before_enrolment(p: Prosecution, values: dict) -> None:
    if values["next_date"] < p.enrolled_on:
        raise InvalidInput({"next_date": _("The next date cannot be before the matter was enrolled.")})


def _not_the_same_court(p: Prosecution, values: dict) -> None:
    if values["court"].pk == p.court_id:
        raise InvalidInput({"court": _("The matter is already at this court.")})


def _clear_outcomes(p: Prosecution) -> None:
    p.accused.update(outcome="")


def _prosecution_step(name: str, **how):
    return transitions.make_service("prosecution", name, may=permissions.may_transition, **how)


NEXT_DATE = {"next_date": "next_date"}

prosecution_remand = _prosecution_step(
    "remand",
    fields=("reason", "next_date"),
    required=("next_date",),
    codes={"reason": PostponementReason},
    to_method=NEXT_DATE,
    check=_not_before_enrolment,
    doc="Postpone to ``next_date`` for a postponement reason.",
)
_transfer = _prosecution_step(
    "transfer",
    fields=("court", "next_date"),
    required=("court",),
    to_method={"court": "court", "next_date": "next_date"},
    log_reason=lambda values: values["court"].code,
    check=_not_the_same_court,
)
prosecution_start_trial = _prosecution_step("start_trial", fields=("next_date",), to_method=NEXT_DATE)
prosecution_convict = _prosecution_step(
    "convict",
    fields=("next_date",),
    to_method=NEXT_DATE,
    then=_settle_accused(Accused.Outcome.CONVICTED),
    doc="Guilty verdict (or plea); ``next_date`` is the sentencing date when known.",
)
prosecution_acquit = _prosecution_step("acquit", then=_settle_accused(Accused.Outcome.ACQUITTED))
prosecution_sentence = _prosecution_step(
    "sentence", fields=("sentence",), required=("sentence",), to_method={"sentence": "sentence"}
)


def _removal(name: str):
    return _prosecution_step(
        name,
        fields=("reason",),
        codes={"reason": RemovalReason},
        to_method={"reason": "reason_code"},
        then=_settle_accused(Accused.Outcome.WITHDRAWN),
        doc=f"Take the matter off the roll ('{name}') for a reason code; flags a withdrawal review.",
    )


prosecution_withdraw = _removal("withdraw")
prosecution_withdraw_provisionally = _removal("withdraw_provisionally")
prosecution_strike_off = _removal("strike_off")
prosecution_issue_warrant = _prosecution_step(
    "issue_warrant", doc="The accused failed to appear; the matter waits for the warrant to be executed."
)
prosecution_divert = _prosecution_step(
    "divert",
    fields=("programme",),
    required=("programme",),
    to_method={"programme": "programme"},
    log_reason="diversion",
    then=_settle_accused(Accused.Outcome.DIVERTED),
)
_re_enrol = _prosecution_step(
    "re_enrol",
    fields=("reason", "next_date"),
    required=("reason",),
    to_method=NEXT_DATE,
    then=_clear_outcomes,
)


def prosecution_transfer(p, *, actor, version, court: Court, next_date=None, note="", data=None, at=None):
    """Move the matter to another court (district → regional → high)."""
    _require(court=court)
    data = {**(data or {}), "from_court": p.court.code, "to_court": court.code}
    return _transfer(
        p, actor=actor, version=version, court=court, next_date=next_date, note=note, data=data, at=at
    )


def prosecution_re_enrol(
    p, *, actor, version, reason: str, review: int | None = None, next_date=None, note="", data=None, at=None
):
    """Put a withdrawn or struck-off matter back on the roll; ``review`` links the committee's decision."""
    _require(reason=(reason or "").strip())
    data = {**(data or {}), "review": review} if review else data
    return _re_enrol(
        p, actor=actor, version=version, reason=reason, next_date=next_date, note=note, data=data, at=at
    )


# Derived from the registry (casework/transition_specs.py): name → service.
PROSECUTION_TRANSITIONS = transitions.Services(Prosecution)
