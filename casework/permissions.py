"""Who may see and do what: the one access layer, and the shared helpers the other apps build on.

This module (and each app's own ``permissions.py``) is the only code that asks guardian.
Every read starts from a ``visible_<things>(user)`` queryset, so a hidden object answers 404
exactly like a missing one. Grants are object-level: a SAPS liaison works the stations granted
to them, an NPA liaison the courts, an EC clerk the facilities (django-guardian, direct
foreign-key tables). Other apps widen what a role sees through ``register_scope`` (a court
watcher sees the prosecutions of their briefs) and who may move a prosecution through
``register_transition_rule``, so casework never imports them.

An NPA liaison's courts *serve* stations (``Court.stations``, reference data): they see the dockets
referred to the NPA from those stations only, and the prosecutions on their own courts' rolls.
Every ``may_*`` that takes an object checks it against the actor's scope, so a service called
with an object the actor cannot see refuses it whatever the entry point (docs/security.md).
"""

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from operator import itemgetter

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from .models import Court, Facility, Incident, PoliceCase, Prosecution, Station

HEALTH_CAPTURE = "health_capture"
VPU_ANALYST = "vpu_analyst"
SAPS_LIAISON = "saps_liaison"
NPA_LIAISON = "npa_liaison"
COURT_WATCHER = "court_watcher"
COURT_WATCH_SUPERVISOR = "court_watch_supervisor"
COMMITTEE_MEMBER = "committee_member"
MANAGER = "manager"
ADMIN = "admin"
ROLES = (
    HEALTH_CAPTURE,
    VPU_ANALYST,
    SAPS_LIAISON,
    NPA_LIAISON,
    COURT_WATCHER,
    COURT_WATCH_SUPERVISOR,
    COMMITTEE_MEMBER,
    MANAGER,
    ADMIN,
)

# -------------------------------------------------------------------- roles


def roles_of(user) -> frozenset[str]:
    """The user's roles (Django groups), cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_casetrail_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached |= {ADMIN}
        user._casetrail_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_admin(user) -> bool:
    return has_role(user, ADMIN)


# -------------------------------------------------------------------- accounts

FPS_REGISTRY = "fps_registry"
# Roles that read patient identity (DESIGN.md, "People"): a password alone is not enough for them.
TWO_FACTOR_ROLES = frozenset({ADMIN, HEALTH_CAPTURE, FPS_REGISTRY})


def must_use_two_factor(user) -> bool:
    """Admins, staff (the Django admin), and every role that reads identity sign in with a TOTP code too."""
    if not getattr(user, "is_authenticated", False):
        return False
    # fps_registry counts from the day it joins ROLES (roles_of reads only those groups).
    return bool(user.is_superuser or user.is_staff or roles_of(user) & TWO_FACTOR_ROLES)


def visible_api_tokens(user) -> QuerySet:
    """API tokens a user may list and revoke: their own; an admin, everyone's."""
    from knox.models import get_token_model  # knox's model is swappable: resolved at call time

    tokens = get_token_model().objects.select_related("user")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return tokens.none()
    return tokens if is_admin(user) else tokens.filter(user=user)


# -------------------------------------------------------------------- object grants

_GRANTS = {
    Station: "casework.work_station",
    Court: "casework.work_court",
    Facility: "casework.capture_facility",
}


def _granted(user, model) -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return model.objects.none()
    return get_objects_for_user(
        user, _GRANTS[model], klass=model, accept_global_perms=False, with_superuser=False
    )


def stations_of(user) -> QuerySet[Station]:
    return _granted(user, Station)


def courts_of(user) -> QuerySet[Court]:
    return _granted(user, Court)


def facilities_of(user) -> QuerySet[Facility]:
    return _granted(user, Facility)


def grant(user, obj) -> None:
    """Give a user (or group) the working grant on a station, court or facility."""
    assign_perm(_GRANTS[type(obj)], user, obj)


def revoke(user, obj) -> None:
    remove_perm(_GRANTS[type(obj)], user, obj)


def user_has_grant(user, obj) -> bool:
    return _granted(user, type(obj)).filter(pk=obj.pk).exists()


def stations_served_by_courts_of(user) -> QuerySet[Station]:
    """The stations whose dockets an NPA liaison's courts receive."""
    return Station.objects.filter(courts__in=courts_of(user)).distinct()


# -------------------------------------------------------------------- extension points

_scopes: dict[str, list[Callable]] = defaultdict(list)
_transition_rules: dict[str, list[Callable]] = defaultdict(list)


def register_scope(kind: str, fn: Callable) -> None:
    """``fn(user) -> Q | None`` widens what ``visible_<kind>s(user)`` returns (kind: "prosecution",
    "incident")."""
    if fn not in _scopes[kind]:
        _scopes[kind].append(fn)


def register_transition_rule(kind: str, fn: Callable) -> None:
    """``fn(user, obj, name) -> bool`` lets another app allow a transition (kind: "prosecution")."""
    if fn not in _transition_rules[kind]:
        _transition_rules[kind].append(fn)


def _extra_scope(kind: str, user) -> Q | None:
    q = None
    for fn in _scopes[kind]:
        extra = fn(user)
        if extra is not None:
            q = extra if q is None else q | extra
    return q


# -------------------------------------------------------------------- visibility


def visible_prosecutions(user) -> QuerySet[Prosecution]:
    roles = roles_of(user)
    qs = Prosecution.objects.all()
    if not roles:
        return qs.none()
    if roles & {ADMIN, COURT_WATCH_SUPERVISOR}:
        return qs
    q = Q(pk__in=[])
    if NPA_LIAISON in roles:
        q |= Q(court__in=courts_of(user))
    if SAPS_LIAISON in roles:
        q |= Q(police_case__station__in=stations_of(user))
    extra = _extra_scope("prosecution", user)
    if extra is not None:
        q |= extra
    return qs.filter(q)


def visible_police_cases(user) -> QuerySet[PoliceCase]:
    roles = roles_of(user)
    qs = PoliceCase.objects.all()
    if not roles:
        return qs.none()
    if ADMIN in roles:
        return qs
    q = Q(pk__in=[])
    if SAPS_LIAISON in roles:
        q |= Q(station__in=stations_of(user))
    if NPA_LIAISON in roles:
        # A docket referred to the NPA waits for a prosecutor of a court serving its station.
        q |= Q(state=PoliceCase.State.REFERRED_TO_NPA, station__in=stations_served_by_courts_of(user))
    # Everyone else (the supervisor included) reaches dockets through the prosecutions they see.
    q |= Q(pk__in=visible_prosecutions(user).values("police_case"))
    return qs.filter(q).distinct()


def visible_incidents(user) -> QuerySet[Incident]:
    roles = roles_of(user)
    qs = Incident.objects.all()
    if not roles:
        return qs.none()
    if roles & {ADMIN, VPU_ANALYST}:
        return qs
    q = Q(pk__in=[])
    if SAPS_LIAISON in roles:
        # Incidents in their precincts: they link them when they open a docket.
        q |= Q(suburb__station__in=stations_of(user))
    if HEALTH_CAPTURE in roles:
        # The ones they recorded themselves (the rest come through their admissions: referrals scope).
        q |= Q(created_by=user)
    q |= Q(pk__in=visible_police_cases(user).values("incidents"))
    extra = _extra_scope("incident", user)
    if extra is not None:
        q |= extra
    return qs.filter(q).distinct()


# -------------------------------------------------------------------- actions

INCIDENT_CREATORS = {ADMIN, HEALTH_CAPTURE, SAPS_LIAISON, NPA_LIAISON}
GANG_ASSERTERS = {ADMIN, HEALTH_CAPTURE, SAPS_LIAISON, NPA_LIAISON, COMMITTEE_MEMBER}
# NPA decisions on a docket referred to it; the rest of the docket's life is SAPS's.
NPA_POLICE_CASE_TRANSITIONS = {"return_for_investigation", "decline_to_prosecute"}


def may_create_incident(user, suburb=None) -> bool:
    """May this user record an incident (in ``suburb``; None asks about the role only)?

    SAPS: suburbs of their stations' precincts. NPA: suburbs of the stations their courts serve.
    An EC clerk records where the patient was injured, which may be anywhere: their scope is the
    facility, checked on the admission (referrals.permissions.may_submit_for), not the suburb.
    """
    roles = roles_of(user)
    if not roles & INCIDENT_CREATORS:
        return False
    if suburb is None or roles & {ADMIN, HEALTH_CAPTURE}:
        return True
    if SAPS_LIAISON in roles and stations_of(user).filter(pk=suburb.station_id).exists():
        return True
    return NPA_LIAISON in roles and stations_served_by_courts_of(user).filter(pk=suburb.station_id).exists()


def may_open_police_case(user, station: Station) -> bool:
    return is_admin(user) or (has_role(user, SAPS_LIAISON) and user_has_grant(user, station))


def may_link_incidents(user, incidents) -> bool:
    """A docket links only incidents its opener may see (hidden ones are as good as missing)."""
    ids = {i.pk for i in incidents}
    return not ids or visible_incidents(user).filter(pk__in=ids).count() == len(ids)


def may_see_police_case(user, case: PoliceCase) -> bool:
    return visible_police_cases(user).filter(pk=case.pk).exists()


def may_enrol_prosecution(user, court: Court, police_case: PoliceCase | None = None) -> bool:
    """Admins; an NPA liaison at a court they hold, for a docket they can see (``police_case``
    None asks about the court only)."""
    if is_admin(user):
        return True
    if not (has_role(user, NPA_LIAISON) and user_has_grant(user, court)):
        return False
    return police_case is None or may_see_police_case(user, police_case)


def may_transition(user, obj, name: str) -> bool:
    """May this user take transition ``name`` on a police case or prosecution (state aside)?

    Nobody moves what they cannot see; a court-watch supervisor moves no case at all.
    """
    if is_admin(user):
        return True
    if isinstance(obj, PoliceCase):
        # A docket is SAPS's to move, except the prosecutor's decisions on it (nolle prosequi).
        if (
            name not in NPA_POLICE_CASE_TRANSITIONS
            and has_role(user, SAPS_LIAISON)
            and user_has_grant(user, obj.station)
        ):
            return True
        return (
            name in NPA_POLICE_CASE_TRANSITIONS
            and has_role(user, NPA_LIAISON)
            and may_see_police_case(user, obj)
        )
    if isinstance(obj, Prosecution):
        if has_role(user, NPA_LIAISON) and user_has_grant(user, obj.court):
            return True
        return any(rule(user, obj, name) for rule in _transition_rules["prosecution"])
    return False


def may_assert_gang_relatedness(user, incident: Incident) -> bool:
    """The roles that assert (EC, SAPS, NPA, committee), on an incident they can see."""
    if is_admin(user):
        return True
    if not roles_of(user) & GANG_ASSERTERS:
        return False
    return visible_incidents(user).filter(pk=incident.pk).exists()


# -------------------------------------------------------------------- menus


@dataclass(frozen=True)
class MenuEntry:
    """A link in a menu: its label (lazily translated), URL name and query string."""

    label: str
    url_name: str
    query: str = ""


@dataclass(frozen=True)
class Card:
    """A start-page card: a title, a line of text and its links (the first one the main button)."""

    title: str
    text: str
    links: tuple[MenuEntry, ...]


EVERYONE = None  # an entry every signed-in user sees
_menus: dict[str, list[tuple[int, frozenset[str] | None, MenuEntry | Card]]] = defaultdict(list)


def register_menu(menu: str, order: int, roles: Collection[str] | None, item: MenuEntry | Card) -> None:
    """Show ``item`` in ``menu`` ("main", "home" cards, an app's sub-menu) to users holding any of
    ``roles`` (``EVERYONE``: every signed-in user), sorted by ``order``. Each app registers its own
    entries at start-up, so casework never imports them. The pages check access again."""
    entry = (order, None if roles is None else frozenset(roles), item)
    if entry not in _menus[menu]:
        _menus[menu].append(entry)


def menu_for(user, menu: str = "main") -> list[MenuEntry | Card]:
    """The entries of ``menu`` this user sees, in order: the only place a menu asks about roles."""
    if not getattr(user, "is_authenticated", False):
        return []
    roles = roles_of(user)
    shown = sorted(
        (entry for entry in _menus[menu] if entry[1] is None or entry[1] & roles), key=itemgetter(0)
    )
    return [item for _order, _who, item in shown]


# Casework's own entries; the other apps register theirs in their ``menus.py`` (AppConfig.ready).
register_menu("main", 10, EVERYONE, MenuEntry(_("Cases"), "case-list"))
register_menu("main", 900, {ADMIN}, MenuEntry(_("Admin"), "admin:index"))
register_menu("main", 1000, EVERYONE, MenuEntry(_("API"), "api-docs"))


# -------------------------------------------------------------------- minimisation (docs/security.md)


def sees_exact_incident_time(user, incident: Incident) -> bool:
    """An incident made from an admission carries the patient's injury time: to the minute only for
    admins and the EC staff whose admissions it holds (the ``incident_identity`` scope, registered by
    referrals); everyone else sees it to the hour."""
    if is_admin(user):
        return True
    q = _extra_scope("incident_identity", user)
    return q is not None and Incident.objects.filter(q, pk=incident.pk).exists()
