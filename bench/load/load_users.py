"""The load test's people: court watchers with briefs, EC clerks, SAPS liaisons, managers, an analyst who
polls the dashboard, and the HL7 feed's sending system, each with an API token and (for the pages) a
session made here the way signing in makes one. Idempotent: a second run reuses users and briefs."""

import datetime

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from knox.models import AuthToken

from casework import permissions
from casework.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from casework.models import District, Facility, Prosecution, Station
from courtwatch import services as courtwatch
from courtwatch.models import Brief
from referrals import services as intake

FEED_FACILITY = "load-feed"
BRIEFS_PER_WATCHER = 25
STATIONS_PER_LIAISON = 6


def _user(username: str, role: str):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_active": True})
    user.groups.add(Group.objects.get(name=role))
    return user


def _token(user) -> str:
    AuthToken.objects.filter(user=user).delete()
    _, token = AuthToken.objects.create(user, expiry=datetime.timedelta(hours=10))
    return token


def _session(user) -> str:
    """A signed-in session, as the sign-in form leaves it (pages only; no second factor for these roles)."""
    now = int(timezone.now().timestamp())
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now
    session.create()
    return session.session_key


def _credentials(user, **extra) -> dict:
    return {"username": user.username, "token": _token(user), "session": _session(user), **extra}


def _watchers(n: int) -> list[dict]:
    supervisor = _user("load.supervisor", permissions.COURT_WATCH_SUPERVISOR)
    taken = set(Brief.objects.values_list("prosecution_id", flat=True))
    yesterday = timezone.now() - datetime.timedelta(days=1)
    free = (
        Prosecution.objects.filter(state=Prosecution.State.REMANDED, state_changed_at__lt=yesterday)
        .exclude(pk__in=taken)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    free = iter(list(free[: n * BRIEFS_PER_WATCHER]))
    out = []
    for i in range(1, n + 1):
        watcher = _user(f"load.watcher.{i}", permissions.COURT_WATCHER)
        briefs = list(Brief.objects.filter(officer=watcher).values_list("prosecution_id", flat=True))
        while len(briefs) < BRIEFS_PER_WATCHER:
            prosecution = Prosecution.objects.get(pk=next(free))
            brief = courtwatch.brief_open(prosecution=prosecution, actor=supervisor)
            courtwatch.brief_assign(brief, actor=supervisor, version=None, officer=watcher)
            briefs.append(prosecution.pk)
        out.append(_credentials(watcher, prosecutions=briefs))
    return out


def ensure(n: int) -> dict:
    """Every load user, n per role, with what locust needs to act as them."""
    facilities = list(Facility.objects.filter(code__startswith="bench-f-").order_by("code"))
    stations = list(Station.objects.filter(code__startswith="bench-s-").order_by("code"))
    clerks, liaisons, managers = [], [], []
    for i in range(1, n + 1):
        clerk = _user(f"load.clerk.{i}", permissions.HEALTH_CAPTURE)
        facility = facilities[i % len(facilities)]
        permissions.grant(clerk, facility)
        clerks.append({"username": clerk.username, "token": _token(clerk), "facility": facility.code})
        saps = _user(f"load.saps.{i}", permissions.SAPS_LIAISON)
        own = stations[(i - 1) * STATIONS_PER_LIAISON : i * STATIONS_PER_LIAISON]
        for station in own:  # each liaison works stations of their own: no two race for one referral
            permissions.grant(saps, station)
        liaisons.append(_credentials(saps, stations=[s.code for s in own]))
        managers.append(_credentials(_user(f"load.manager.{i}", permissions.MANAGER)))
    analyst = _user("load.analyst", permissions.VPU_ANALYST)
    feed_facility, _ = Facility.objects.get_or_create(
        code=FEED_FACILITY,
        defaults={"name": "Load feed hospital", "kind": "district", "district": District.objects.first()},
    )
    from referrals.models import SendingSystem

    sender = SendingSystem.objects.filter(name="load-feed").first() or intake.sending_system_register(
        name="load-feed", facilities=[feed_facility]
    )
    return {
        "watchers": _watchers(n),
        "clerks": clerks,
        "liaisons": liaisons,
        "managers": managers,
        "analyst": {"username": analyst.username, "token": _token(analyst)},
        "feed": {"token": _token(sender.account), "facility": FEED_FACILITY},
    }
