"""Who may see and do what with hospital data; built on casework.permissions, the only place here
that asks about grants.

- ``health_capture``: admissions of their facilities, identity included; submits for them; refers.
- ``vpu_analyst``: every admission, de-identified (never identity).
- ``saps_liaison``: referrals of their stations, and the admission facts a referral needs.
- ``admin``: everything; every read of identity (and of raw messages) is audited.
- ``integration`` (a group made by this app's migrations): a registered sending system's account
  (``SendingSystem``); sends HL7 / FHIR / CSV for *its* facilities only and reads nothing. Its
  facilities are the account's facility grants, the same grants an EC clerk has: one source of truth.
"""

import ipaddress
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from casework import permissions as cw
from casework.models import Facility

from .models import Admission, Channel, InboundMessage, Referral, SendingSystem

INTEGRATION = "integration"


# -------------------------------------------------------------------- sending systems


@dataclass(frozen=True)
class Sender:
    """What the intake needs to know about a registered sending system, held in memory (the MLLP
    listener's event loop checks every message against it without a database read)."""

    id: int
    name: str
    facilities: frozenset[str]  # facility codes it may send for

    def may_send_for(self, facility_code: str) -> bool:
        return facility_code in self.facilities


@dataclass(frozen=True)
class SenderDirectory:
    """Every active sending system: by id, by certificate (fingerprint or subject CN) and by name."""

    senders: dict  # id -> Sender
    by_fingerprint: dict  # SHA-256 hex -> (id, the CN also required, or "")
    by_subject: dict  # CN -> id (senders registered by CN only)
    by_name: dict  # name -> id

    def for_certificate(self, fingerprint: str, subject_cn: str) -> Sender | None:
        """The sender a verified client certificate belongs to, or None (unknown: refuse it).

        A registered fingerprint must match; a sender registered by CN only accepts any certificate
        of our CA with that CN; a sender registered with both needs both.
        """
        pinned = self.by_fingerprint.get(SendingSystem.normalise_fingerprint(fingerprint))
        if pinned is not None:
            sender_id, cn = pinned
            return self.senders[sender_id] if not cn or cn == subject_cn else None
        sender_id = self.by_subject.get(subject_cn) if subject_cn else None
        return self.senders.get(sender_id)

    def get(self, sender_id: int | None) -> Sender | None:
        return self.senders.get(sender_id)

    def named(self, name: str) -> Sender | None:
        return self.senders.get(self.by_name.get(name))


def sender_facilities(system: SendingSystem) -> QuerySet[Facility]:
    """The facilities a sending system may send for: its account's facility grants."""
    return cw.facilities_of(system.account)


def grant_facility(account, facility: Facility) -> None:
    cw.grant(account, facility)


def revoke_facility(account, facility: Facility) -> None:
    cw.revoke(account, facility)


def sender_of(system: SendingSystem) -> Sender:
    codes = sender_facilities(system).values_list("code", flat=True)
    return Sender(system.pk, system.name, frozenset(codes))


def sender_directory() -> SenderDirectory:
    """Every active sender with its facilities (the listener loads this at start and refreshes it)."""
    directory = SenderDirectory({}, {}, {}, {})
    systems = SendingSystem.objects.filter(
        active=True, account__is_active=True, account__groups__name=INTEGRATION
    ).select_related("account")
    for system in systems:
        directory.senders[system.pk] = sender_of(system)
        directory.by_name[system.name] = system.pk
        if system.certificate_sha256:
            directory.by_fingerprint[system.certificate_sha256] = (system.pk, system.certificate_subject)
        elif system.certificate_subject:
            directory.by_subject[system.certificate_subject] = system.pk
    return directory


def sending_system_of(user) -> SendingSystem | None:
    """The active sending system whose account this is (a member of ``integration``), else None."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not hasattr(user, "_casetrail_sender"):
        user._casetrail_sender = SendingSystem.objects.filter(
            account=user, active=True, account__groups__name=INTEGRATION
        ).first()
    return user._casetrail_sender


def sender_for_user(user) -> Sender | None:
    system = sending_system_of(user)
    return sender_of(system) if system is not None else None


def is_integration(user) -> bool:
    return sending_system_of(user) is not None


def plain_peer_allowed(address: str, allowed: list) -> bool:
    """Plain (unencrypted) MLLP: only from an allow-listed address (networks from ``parse_networks``)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return any(ip in net for net in allowed)


def parse_networks(text: str) -> list:
    """``"127.0.0.1, 10.8.0.0/16"`` → networks; raises ValueError naming a bad entry."""
    networks = []
    for item in (text or "").replace(";", ",").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as e:
                raise ValueError(f"Not an address or network: '{item.strip()}'") from e
    return networks


# -------------------------------------------------------------------- who may submit


def may_send_messages(user) -> bool:
    """HL7 and FHIR over HTTP: registered sending systems only (machine channels)."""
    return is_integration(user)


def may_upload_csv(user) -> bool:
    """The CSV upload (API and page): a sending system, an EC clerk, an admin; rows are checked one by one."""
    return is_integration(user) or cw.is_admin(user) or cw.has_role(user, cw.HEALTH_CAPTURE)


def may_capture(user) -> bool:
    """The one-screen capture form: EC clerks (and admins)."""
    return cw.is_admin(user) or cw.has_role(user, cw.HEALTH_CAPTURE)


def may_use_intake(user) -> bool:
    """May this user send anything to the intake at all (any channel)?"""
    return may_upload_csv(user)


def may_submit_for(user, facility: Facility) -> bool:
    """A sending system for its facilities only; an EC clerk for the facilities granted; an admin any."""
    if is_integration(user):
        return cw.user_has_grant(user, facility)
    if cw.is_admin(user):
        return True
    return cw.has_role(user, cw.HEALTH_CAPTURE) and cw.user_has_grant(user, facility)


def submittable_facilities(user) -> QuerySet[Facility]:
    if is_integration(user):
        return cw.facilities_of(user)
    if cw.is_admin(user):
        return Facility.objects.all()
    if cw.has_role(user, cw.HEALTH_CAPTURE):
        return cw.facilities_of(user)
    return Facility.objects.none()


# -------------------------------------------------------------------- admissions


def visible_admissions(user) -> QuerySet[Admission]:
    roles = cw.roles_of(user)
    qs = Admission.objects.all()
    if roles & {cw.ADMIN, cw.VPU_ANALYST}:
        return qs
    q = Q(pk__in=[])
    if cw.HEALTH_CAPTURE in roles:
        q |= Q(facility__in=cw.facilities_of(user))
    if cw.SAPS_LIAISON in roles:
        q |= Q(referral__station__in=cw.stations_of(user))
    return qs.filter(q)


def may_read_identity(user, admission: Admission) -> bool:
    if cw.is_admin(user):
        return True
    return cw.has_role(user, cw.HEALTH_CAPTURE) and cw.user_has_grant(user, admission.facility)


def may_refer(user, admission: Admission) -> bool:
    return may_read_identity(user, admission)


def incidents_of_my_admissions(user):
    """casework scope: a health_capture user sees incidents linked to their facilities' admissions."""
    if not cw.has_role(user, cw.HEALTH_CAPTURE):
        return None
    return Q(pk__in=Admission.objects.filter(facility__in=cw.facilities_of(user)).values("incident_id"))


# -------------------------------------------------------------------- referrals

# Transitions the hospital side takes; the station takes the rest.
HOSPITAL_TRANSITIONS = {"send", "decline", "reopen"}
STATION_TRANSITIONS = {"acknowledge", "open_case", "decline", "reopen"}


def visible_referrals(user) -> QuerySet[Referral]:
    roles = cw.roles_of(user)
    qs = Referral.objects.all()
    if cw.ADMIN in roles:
        return qs
    q = Q(pk__in=[])
    if cw.SAPS_LIAISON in roles:
        q |= Q(station__in=cw.stations_of(user))
    if cw.HEALTH_CAPTURE in roles:
        q |= Q(admission__facility__in=cw.facilities_of(user))
    return qs.filter(q)


def may_transition(user, referral: Referral, name: str) -> bool:
    if cw.is_admin(user):
        return True
    if (
        name in STATION_TRANSITIONS
        and cw.has_role(user, cw.SAPS_LIAISON)
        and cw.user_has_grant(user, referral.station)
    ):
        return True
    if name in HOSPITAL_TRANSITIONS and cw.has_role(user, cw.HEALTH_CAPTURE):
        return cw.user_has_grant(user, referral.admission.facility)
    return False


# -------------------------------------------------------------------- the inbox


def visible_inbound(user) -> QuerySet[InboundMessage]:
    """Raw messages carry identity: only admins see the inbox and the dead letters."""
    return InboundMessage.objects.all() if cw.is_admin(user) else InboundMessage.objects.none()


def may_replay(user) -> bool:
    return cw.is_admin(user)


def own_submissions(user) -> QuerySet[InboundMessage]:
    """What this person sent through the form or the CSV upload: theirs to follow, fix and resend."""
    if not may_upload_csv(user) or is_integration(user):
        return InboundMessage.objects.none()
    return InboundMessage.objects.filter(received_by=user, channel__in=[Channel.FORM, Channel.CSV])


def may_fix_submission(user, message: InboundMessage) -> bool:
    """The clerk who sent a form or CSV message may fix and resend what of it was refused."""
    return may_capture(user) and own_submissions(user).filter(pk=message.pk).exists()


# -------------------------------------------------------------------- minimisation (docs/security.md)


def identity_facility_ids(user) -> frozenset[int] | None:
    """The facilities whose admissions this user sees identified; None means every facility (admins).

    The same rule as ``may_read_identity``, computed once per request for lists.
    """
    if cw.is_admin(user):
        return None
    cached = getattr(user, "_casetrail_identity_facilities", None)
    if cached is None:
        cached = frozenset()
        if cw.has_role(user, cw.HEALTH_CAPTURE):
            cached = frozenset(cw.facilities_of(user).values_list("pk", flat=True))
        user._casetrail_identity_facilities = cached
    return cached


def sees_quasi_identifiers(user, admission: Admission) -> bool:
    """Exact age and date of birth, times to the minute, the visit number, the pseudonym, precise
    coordinates and the patient's other visits: only for those who may read the identity anyway
    (admins, the EC staff of the admission's facility). Everyone else gets the minimised view."""
    ids = identity_facility_ids(user)
    return ids is None or admission.facility_id in ids


def sees_repeat_visits(user) -> bool:
    """Repeat victimisation is the Violence Prevention Unit's work: analysts see how many earlier
    visits a patient had (a count), never the pseudonym that links them."""
    return cw.has_role(user, cw.VPU_ANALYST)


def may_use_pseudonym_filter(user) -> bool:
    """Filtering by pseudonym finds a patient's visits: only where the pseudonym is shown."""
    ids = identity_facility_ids(user)
    return ids is None or bool(ids)


# -------------------------------------------------------------------- retention and subject access


def may_request_subject_access(user) -> bool:
    """Everything held about one patient (POPIA s23): admins only, every request audited."""
    return cw.is_admin(user)


def may_see_retention(user) -> bool:
    return cw.is_admin(user)
