"""Who may see and do what with hospital data; built on casework.permissions, the only place here
that asks about grants.

- ``health_capture``: admissions of their facilities, identity included; submits for them; refers.
- ``vpu_analyst``: every admission, de-identified (never identity).
- ``saps_liaison``: referrals of their stations, and the admission facts a referral needs.
- ``admin``: everything; every read of identity (and of raw messages) is audited.
- ``intake_integration`` (a group made by this app's migration): a hospital system's account;
  may submit HL7 / FHIR / CSV for any facility and read nothing.
"""

from django.db.models import Q, QuerySet

from casework import permissions as cw
from casework.models import Facility

from .models import Admission, InboundMessage, Referral

INTAKE_INTEGRATION = "intake_integration"


def is_integration(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cached = getattr(user, "_casetrail_integration", None)
    if cached is None:
        cached = user.groups.filter(name=INTAKE_INTEGRATION).exists()
        user._casetrail_integration = cached
    return cached


def may_use_intake(user) -> bool:
    """May this user send anything to the intake endpoints at all?"""
    return cw.is_admin(user) or is_integration(user) or cw.has_role(user, cw.HEALTH_CAPTURE)


def may_submit_for(user, facility: Facility) -> bool:
    if cw.is_admin(user) or is_integration(user):
        return True
    return cw.has_role(user, cw.HEALTH_CAPTURE) and cw.user_has_grant(user, facility)


def submittable_facilities(user) -> QuerySet[Facility]:
    if cw.is_admin(user) or is_integration(user):
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
