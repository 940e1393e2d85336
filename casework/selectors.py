"""Every read done for a user starts from the access layer's visible_* querysets."""

from django.db.models import Q, QuerySet

from . import permissions
from .inputs import ascii_int
from .models import CAS_NUMBER_RE, Incident, PoliceCase, Prosecution


def incident_list_for_user(user, *, suburb: str = "", mechanism: str = "") -> QuerySet[Incident]:
    qs = permissions.visible_incidents(user).select_related("suburb__station")
    if suburb:
        qs = qs.filter(suburb__code=suburb)
    if mechanism:
        qs = qs.filter(mechanism=mechanism)
    return qs


def _cas_filter(search: str) -> Q:
    """A full CAS number matches exactly; a bare number matches the serial."""
    match = CAS_NUMBER_RE.match(search)
    if match:
        serial, month, year = (int(g) for g in match.groups())
        return Q(cas_serial=serial, cas_month=month, cas_year=year)
    if ascii_int(search) is not None:
        return Q(cas_serial=ascii_int(search))
    return Q(pk__in=[])


def police_case_list_for_user(
    user, *, search: str = "", state: str = "", station: str = ""
) -> QuerySet[PoliceCase]:
    qs = permissions.visible_police_cases(user).select_related("station", "offence")
    if search:
        qs = qs.filter(_cas_filter(search.strip()) | Q(station__name__icontains=search.strip()))
    if state:
        qs = qs.filter(state=state)
    if station:
        qs = qs.filter(station__code=station)
    return qs.prefetch_related("incidents", "prosecutions")


def prosecution_list_for_user(
    user, *, search: str = "", state: str = "", court: str = "", police_case: int | str | None = None
) -> QuerySet[Prosecution]:
    qs = permissions.visible_prosecutions(user).select_related("court", "police_case__station")
    if search:
        s = search.strip()
        cas = _cas_filter(s)
        qs = qs.filter(
            Q(case_number__icontains=s)
            | Q(pk__in=PoliceCase.objects.filter(cas).values("prosecutions"))
            | Q(accused__name__icontains=s)
        ).distinct()
    if state:
        qs = qs.filter(state=state)
    if court:
        qs = qs.filter(court__code=court)
    if police_case:
        qs = qs.filter(police_case_id=police_case)
    return qs.prefetch_related("accused")
