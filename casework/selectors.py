"""Every read done for a user starts from the access layer's visible_* querysets."""

import re

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Replace, Upper

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


# "CAS 123/04/2025", "cas123/4/2025": the word CAS is optional, spacing and case are free.
_CAS_PREFIX = re.compile(r"^\s*cas\b\s*|^\s*cas(?=\d)", re.IGNORECASE)
# A court case number once spaces are gone and letters upper-cased: "RC295/2026", "A1999/2026", "295/2026".
_CASE_NUMBER = re.compile(r"([A-Z]*)0*(\d{1,7})/(\d{4})")


def _cas_filter(search: str) -> Q:
    """A full CAS number matches exactly; a bare number matches the serial."""
    search = _CAS_PREFIX.sub("", search)
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


def _case_number_filter(search: str) -> Q | None:
    """A court case number in any spacing or case ("rc 295 / 2026" finds "RC 295/2026"); without its
    letters ("295/2026") it matches any court's prefix. Needs the ``case_number_key`` annotation."""
    match = _CASE_NUMBER.fullmatch(re.sub(r"\s+", "", search).upper())
    if not match:
        return None
    prefix, number, year = match.groups()
    return Q(case_number_key__regex=rf"^{prefix or '[A-Z]*'}0*{int(number)}/{year}$")


def prosecution_by_number(user, search: str) -> Prosecution | None:
    """The one visible prosecution whose court case number or CAS number is exactly ``search`` (in any
    spacing, case or prefix), or None when none or several are."""
    number, cas = _case_number_filter(search), _cas_filter(search.strip())
    qs = permissions.visible_prosecutions(user)
    q = (
        Q(pk__in=PoliceCase.objects.filter(cas).values("prosecutions"))
        if CAS_NUMBER_RE.match(_CAS_PREFIX.sub("", search))
        else Q(pk__in=[])
    )
    if number is not None:
        qs = qs.annotate(case_number_key=Replace(Upper("case_number"), Value(" "), Value("")))
        q |= number
    found = list(qs.filter(q).distinct()[:2])
    return found[0] if len(found) == 1 else None


def prosecution_list_for_user(
    user, *, search: str = "", state: str = "", court: str = "", police_case: int | str | None = None
) -> QuerySet[Prosecution]:
    qs = permissions.visible_prosecutions(user).select_related("court", "police_case__station")
    if search:
        s = search.strip()
        cas = _cas_filter(s)
        q = (
            Q(case_number__icontains=s)
            | Q(pk__in=PoliceCase.objects.filter(cas).values("prosecutions"))
            | Q(accused__name__icontains=s)
        )
        number = _case_number_filter(s)
        if number is not None:
            key = Replace(Upper("case_number"), Value(" "), Value(""))
            qs, q = qs.annotate(case_number_key=key), q | number
        qs = qs.filter(q).distinct()
    if state:
        qs = qs.filter(state=state)
    if court:
        qs = qs.filter(court__code=court)
    if police_case:
        qs = qs.filter(police_case_id=police_case)
    return qs.prefetch_related("accused")
