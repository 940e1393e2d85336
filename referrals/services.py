"""The referral actions of ``referrals``: sending systems, the audited reads of identity and raw
messages, and referrals to SAPS with their transitions.

The intake itself (receive, store, process, the joining rule, CSV) lives in ``referrals.intake``
and dead letters in ``referrals.dead_letters``; docs/intake.md.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from casework import services as cw_services
from casework import transitions
from casework.errors import InvalidInput, PermissionDenied
from casework.models import PoliceCase, TransitionLog, parse_cas_number
from casework.transitions import apply_transition

from . import permissions
from .models import (
    Admission,
    IdentityRead,
    IdentityVersion,
    InboundMessage,
    PatientIdentity,
    Referral,
    SendingSystem,
)

# A docket chosen for a referral must be one of its station's (the form says the same).
NO_SUCH_DOCKET = _("No docket with this id at the referral's station.")


# ==================================================================== sending systems


@transaction.atomic
def sending_system_register(
    *,
    name: str,
    facilities,
    account=None,
    certificate_sha256: str = "",
    certificate_subject: str = "",
    active: bool = True,
    note: str = "",
) -> SendingSystem:
    """Register a sending system: its account (made when none is given: no password, group
    ``integration``; it authenticates over HTTP with an API token), its certificate and facilities."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils.text import slugify

    if account is None:
        account = get_user_model().objects.create_user(username=f"sender-{slugify(name)}"[:150])
        account.set_unusable_password()
        account.save()
    account.groups.add(Group.objects.get_or_create(name=permissions.INTEGRATION)[0])
    system = SendingSystem(
        name=name,
        account=account,
        certificate_sha256=certificate_sha256,
        certificate_subject=certificate_subject,
        active=active,
        note=note,
    )
    system.full_clean()
    system.save()
    sending_system_set_facilities(system=system, facilities=facilities)
    return system


@transaction.atomic
def sending_system_update(
    *,
    system: SendingSystem,
    facilities=None,
    certificate_sha256: str | None = None,
    certificate_subject: str | None = None,
    active: bool | None = None,
) -> SendingSystem:
    """Change what is given (None: kept). The MLLP listener sees it at its next refresh."""
    if certificate_sha256 is not None:
        system.certificate_sha256 = certificate_sha256
    if certificate_subject is not None:
        system.certificate_subject = certificate_subject
    if active is not None:
        system.active = active
    system.full_clean()
    system.save()
    if facilities is not None:
        sending_system_set_facilities(system=system, facilities=facilities)
    return system


@transaction.atomic
def sending_system_set_facilities(*, system: SendingSystem, facilities) -> None:
    """The facilities this system may send for: its account's facility grants (one source of truth)."""
    wanted = {f.pk: f for f in facilities}
    held = {f.pk: f for f in permissions.sender_facilities(system)}
    for pk, facility in wanted.items():
        if pk not in held:
            permissions.grant_facility(system.account, facility)
    for pk, facility in held.items():
        if pk not in wanted:
            permissions.revoke_facility(system.account, facility)


# ==================================================================== identity


def identity_read(*, admission: Admission, actor, purpose: str) -> PatientIdentity | None:
    """The one way to see who a patient is: checks the reader and writes the audit row first."""
    if not permissions.may_read_identity(actor, admission):
        raise PermissionDenied("You may not see who this patient is.")
    IdentityRead.objects.create(reader=actor, admission=admission, purpose=(purpose or "unspecified")[:200])
    return PatientIdentity.objects.filter(admission=admission).first()


def identity_versions_read(*, admission: Admission, actor, purpose: str) -> list[IdentityVersion]:
    """The identities an admission had before updates changed them (who replaced each, when, with
    which message); audited like a read of the identity."""
    if not permissions.may_read_identity(actor, admission):
        raise PermissionDenied("You may not see who this patient is.")
    IdentityRead.objects.create(
        reader=actor, admission=admission, purpose=f"identity versions: {purpose or 'unspecified'}"[:200]
    )
    return list(IdentityVersion.objects.filter(admission=admission).order_by("-replaced_at", "-id"))


def raw_message_read(*, message: InboundMessage, actor, purpose: str) -> str:
    """Raw messages carry identity: an admin's read of one is audited like identity."""
    if not permissions.may_replay(actor):
        raise PermissionDenied("Only administrators read raw messages.")
    IdentityRead.objects.create(reader=actor, message=message, purpose=(purpose or "unspecified")[:200])
    return message.raw


# ==================================================================== referrals


@transaction.atomic
def referral_create(*, admission: Admission, actor) -> Referral:
    """Refer an admission to the station whose precinct holds the place of injury."""
    if actor is not None and not permissions.may_refer(actor, admission):
        raise PermissionDenied("You may not refer this admission.")
    admission = (
        Admission.objects.select_for_update(of=("self",))
        .select_related("suburb__station")
        .get(pk=admission.pk)
    )
    if admission.suburb is None:
        raise InvalidInput(
            {"suburb": _("Set the suburb where the injury happened first: it decides the station.")}
        )
    if Referral.objects.filter(admission=admission).exists():
        raise InvalidInput({"admission": _("This admission has already been referred.")})
    referral = Referral.objects.create(
        admission=admission, station=admission.suburb.station, created_by=actor
    )
    TransitionLog.record_start(referral, "refer", actor=actor, note=f"to {referral.station.code}")
    return referral


@transaction.atomic
def referral_refer(*, admission: Admission, actor) -> Referral:
    """The clerk's one action "Refer to SAPS": the referral is made and sent to the station at once
    (it is never shown as referred while it still waits to be sent)."""
    referral = referral_create(admission=admission, actor=actor)
    return apply_transition(
        referral, "send", actor=actor, version=referral.version, may=permissions.may_transition
    )


@transaction.atomic
def referral_open_docket(
    referral: Referral, *, actor, version: int | None, cas_number: str, offence, opened_on
) -> tuple[Referral, PoliceCase, bool]:
    """The station's one flow from a referral to its docket: acknowledge it if still only sent, open the
    docket with this CAS number at the referral's station (or take the docket already open with it
    there), link the admission's incident and the docket. Returns (referral, docket, opened here).
    Raises InvalidInput naming ``cas_number``/``offence``/``opened_on``, PermissionDenied, StaleVersion."""
    if referral.state == Referral.State.SENT:
        referral = apply_transition(
            referral, "acknowledge", actor=actor, version=version, may=permissions.may_transition
        )
        version = referral.version
    try:
        serial, month, year = parse_cas_number(cas_number)
    except ValidationError as e:
        raise InvalidInput({"cas_number": e.messages}) from e
    docket = PoliceCase.objects.filter(
        station=referral.station, cas_serial=serial, cas_month=month, cas_year=year
    ).first()
    opened = docket is None
    if opened:
        docket = cw_services.police_case_open(
            actor=actor, station=referral.station, cas_number=cas_number, offence=offence, opened_on=opened_on
        )
    referral = referral_open_case(referral, actor=actor, version=version, police_case=docket)
    return referral, docket, opened


def _referral_step(name: str):
    return transitions.make_service("referral", name, may=permissions.may_transition, fields=("reason",))


referral_send = _referral_step("send")
referral_acknowledge = _referral_step("acknowledge")
referral_reopen = _referral_step("reopen")


def referral_decline(
    referral: Referral, *, actor, version: int | None, reason: str = "", note: str = "", at=None
) -> Referral:
    """The victim does not want to lay a charge; ``reason`` says why. Raises InvalidInput without one."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": _("This field is required: why is there no charge?")})
    if len(reason) > 60:  # the log's reason column is short; the whole text goes in the note
        note = f"{reason}\n{note}".strip()
    with transaction.atomic():
        return apply_transition(
            referral,
            "decline",
            actor=actor,
            version=version,
            may=permissions.may_transition,
            reason=reason[:60],
            note=note,
            at=at,
            why=reason,
        )


def referral_open_case(
    referral: Referral, *, actor, version: int | None, police_case: PoliceCase, note: str = "", at=None
) -> Referral:
    """The station opened a docket: link it, and link the admission's incident to the docket."""
    if police_case is None:
        raise InvalidInput({"police_case": _("This field is required.")})
    if police_case.station_id != referral.station_id:
        raise InvalidInput({"police_case": str(NO_SUCH_DOCKET)})
    with transaction.atomic():
        referral = apply_transition(
            referral,
            "open_case",
            actor=actor,
            version=version,
            may=permissions.may_transition,
            reason="",
            note=note,
            at=at,
            data={"police_case": police_case.pk, "cas_number": police_case.cas_number},
            police_case=police_case,
        )
        if referral.admission.incident_id:
            # Through casework's service, so the docket's log shows the link.
            cw_services.police_case_link_incidents(
                police_case=police_case, incident_ids=[referral.admission.incident_id], actor=actor, at=at
            )
        return referral
