"""The permission matrix (issue 10): every role x every URL x scope A and scope B -> the table's answer.

The table is ``matrix.py``. The URL patterns come from the resolver, so a new URL fails
``test_every_url_of_the_project_is_in_the_matrix`` until a row says who may reach it. One world is
built per module (``world.py``); each case runs in a savepoint that is rolled back, so an allowed
write never leaks into the next case, and a refused one must leave the database as it was.
"""

import re

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from casework.models import Incident, PoliceCase, Prosecution, TransitionLog
from courtwatch.models import Brief, CommitteeMeeting, Feedback, Hearing, Notification, WithdrawalReview
from referrals.models import Admission, InboundMessage, Referral
from reporting.models import Subscription

from . import matrix
from .world import build_world, sign_in

CHECKED = {"cases": 0}


# ---------------------------------------------------------------- the project's URLs


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern)


def normalise(pattern: str) -> str | None:
    """``api/v1/^briefs/(?P<pk>[^/.]+)/$`` -> ``api/v1/briefs/<pk>/``; DRF's ``.json`` twins -> None."""
    p = pattern.replace("^", "").replace("$", "")
    p = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", p)
    p = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", p)
    if "<format>" in p:
        return None  # the format-suffix twin of a route: the same view, the same row
    return p


def project_routes() -> list[str]:
    seen = []
    for raw in _walk(get_resolver().url_patterns):
        route = normalise(raw)
        if route is not None and route not in seen:
            seen.append(route)
    return seen


def admin_models() -> dict[str, object]:
    """``admin/casework/court/`` -> the Court model, for every model registered in the admin."""
    return {f"admin/{m._meta.app_label}/{m._meta.model_name}/": m for m in django_admin.site._registry}


def admin_model_of(route: str):
    for prefix, model in admin_models().items():
        if route.startswith(prefix):
            return prefix, model
    return None, None


def test_every_url_of_the_project_is_in_the_matrix():
    uncovered = []
    for route in project_routes():
        if route.startswith("admin/"):
            prefix, model = admin_model_of(route)
            if model is not None:
                label = f"{model._meta.app_label}.{model._meta.model_name}"
                if label not in matrix.ADMIN_READ_ONLY | matrix.ADMIN_EDITABLE | matrix.ADMIN_OTHER:
                    uncovered.append(f"{route}  (admin model {label}: read-only or editable?)")
            elif (
                route not in {**matrix.ADMIN_PAGES, **matrix.ADMIN_OPEN_PAGES}
                and route not in matrix.ADMIN_ODD
            ):
                uncovered.append(route)
        elif route not in matrix.ROUTES:
            uncovered.append(route)
    assert not uncovered, "URLs the permission matrix does not cover (add a row):\n" + "\n".join(uncovered)


def test_every_row_of_the_matrix_is_a_url_of_the_project():
    routes = set(project_routes())
    assert not set(matrix.ROUTES) - routes, set(matrix.ROUTES) - routes


# ---------------------------------------------------------------- the world, once per module


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            w = build_world()
            w.clients = {role: _clients(user) for role, user in w.users.items()}
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield w
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Thousands of requests from the same users: throttle history is not what this test is about."""
    for cache in caches.all():
        cache.clear()


_COUNTED = (
    Incident,
    PoliceCase,
    Prosecution,
    TransitionLog,
    Admission,
    Referral,
    Brief,
    Hearing,
    Feedback,
    WithdrawalReview,
    CommitteeMeeting,
    Subscription,
)
_VERSIONED = (PoliceCase, Prosecution, Referral, Brief, WithdrawalReview)


def fingerprint(*, inbox: bool = True):
    """What a refused write must leave unchanged: row counts, versions (every transition bumps one),
    brief officers, notices read, feedback answered and, unless the intake keeps a rejection by
    design (``inbox=False``), the inbox. One query: the matrix runs thousands of these."""
    parts = [f"(SELECT count(*) FROM {m._meta.db_table})" for m in _COUNTED]
    parts += [f"(SELECT coalesce(sum(version), 0) FROM {m._meta.db_table})" for m in _VERSIONED]
    parts += [
        f"(SELECT coalesce(sum(coalesce(officer_id, 0) * id), 0) FROM {Brief._meta.db_table})",
        f"(SELECT count(*) FROM {Notification._meta.db_table} WHERE read_at IS NOT NULL)",
        f"(SELECT count(*) FROM {Feedback._meta.db_table} WHERE response <> '')",
    ]
    if inbox:
        t = InboundMessage._meta.db_table
        parts += [f"(SELECT count(*) FROM {t})", f"(SELECT string_agg(status, ',' ORDER BY id) FROM {t})"]
    with connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(parts))
        return cur.fetchone()


# ---------------------------------------------------------------- one case


def _clients(user) -> dict:
    """One API client and one signed-in page client per role, made once (sessions live in the world)."""
    api_client = APIClient()
    if user is not None:
        api_client.force_authenticate(user)
    return {"api": api_client, "page": sign_in(Client(), user)}


def _client(route: str, role: str, world, case=None):
    if case is not None and case.fresh_client:  # a case that ends its session (logout)
        return _clients(world.users[role])["api" if route.startswith("api/") else "page"]
    return world.clients[role]["api" if route.startswith("api/") else "page"]


def _url(route: str, case: matrix.Case, side) -> str:
    url = "/" + route
    if case.obj:
        obj = getattr(side, case.obj)
        key = getattr(obj, "token_key", obj.pk)  # API tokens are known by their key
        url = url.replace("<pk>", str(obj.pk)).replace("<id>", str(key))
        url = url.replace("<code>", str(getattr(obj, "code", obj.pk)))
        url = url.replace("<token_key>", str(getattr(obj, "token_key", obj.pk)))
    return url.replace("<name>", case.name)


def _send(client, route, case, side, world):
    url = _url(route, case, side)
    if case.method == "GET":
        return client.get(url, case.query)
    if case.method == "DELETE":
        return client.delete(url)
    body = case.body(world, side) if callable(case.body) else (case.body or {})
    if isinstance(body, str):
        return client.post(url, body, content_type="text/plain")
    if case.json and route.startswith("api/"):
        return client.post(url, body, format="json")
    return client.post(url, body)


def _statuses(expected) -> tuple:
    return expected if isinstance(expected, tuple) else (expected,)


def _listed_ids(response, case, side) -> bool:
    obj = getattr(side, case.listed)
    if case.marker:
        return case.marker.format(pk=obj.pk) in response.content.decode()
    data = response.json()
    rows = data.get("results", data) if isinstance(data, dict) else data
    return obj.pk in {row.get("id") for row in rows}


def _one(route, case, role, world, side):
    """Send the case for one scope inside a savepoint; (response, written?)."""
    before = fingerprint(inbox=case.inbox) if case.method != "GET" else None
    client = _client(route, role, world, case)
    with transaction.atomic():  # an allowed write is undone after the check
        r = _send(client, route, case, side, world)
        written = before is not None and fingerprint(inbox=case.inbox) != before
        transaction.set_rollback(True)
    return r, written


def check(route: str, case: matrix.Case, role: str, world) -> list[str]:
    """Run one case for both scopes; return what differs from the table."""
    expected = case.expect[role]
    problems = []
    # A list answers for both scopes at once; a page of no object has no scope.
    per_scope = bool(case.obj) or case.method != "GET"
    first = None
    for side in (world.a, world.b):
        mine = side is world.a
        CHECKED["cases"] += 1
        if per_scope or first is None:
            r, written = _one(route, case, role, world, side)
            first = (r, written)
        else:
            r, written = first
        where = f"{case.method} {_url(route, case, side)} as {role} (scope {'A' if mine else 'B'})"
        if r.status_code >= 500:
            problems.append(f"{where}: {r.status_code}")
            continue
        if not isinstance(expected, str):
            if r.status_code not in _statuses(expected):
                problems.append(f"{where}: {r.status_code}, table says {expected}")
            elif case.method != "GET" and r.status_code in (401, 403, 404) and written:
                problems.append(f"{where}: refused with {r.status_code} but wrote something")
            continue
        allowed = expected == "AB" or (expected == "A" and mine)
        if case.method != "GET":
            if allowed and r.status_code in (401, 403, 404):
                problems.append(f"{where}: refused with {r.status_code}, table says allowed")
            if not allowed:
                if r.status_code not in case.refused:
                    problems.append(f"{where}: {r.status_code}, table says refused {case.refused}")
                if written:
                    problems.append(f"{where}: refused but wrote something")
        elif case.listed:
            if allowed:
                if r.status_code != 200:
                    problems.append(f"{where}: {r.status_code}, table says listed")
                elif not _listed_ids(r, case, side):
                    problems.append(f"{where}: missing from the list, table says listed")
            elif r.status_code == 200 and _listed_ids(r, case, side):
                problems.append(f"{where}: listed, table says hidden")
            elif r.status_code not in (200, 403, 404):
                problems.append(f"{where}: {r.status_code}, table says hidden from the list")
        else:
            want = 200 if allowed else 404
            if r.status_code != want:
                problems.append(f"{where}: {r.status_code}, table says {want}")
    return problems


@pytest.mark.parametrize("route", [pytest.param(r, id=r or "/") for r in matrix.ROUTES])
def test_each_role_reaches_exactly_what_the_matrix_says(world, db, route):
    problems = []
    for case in matrix.ROUTES[route]:
        for role in matrix.ROLES:
            problems += check(route, case, role, world)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the admin


def _admin_routes():
    return [r for r in project_routes() if r.startswith("admin/") and r not in matrix.ADMIN_ODD]


def _admin_check(route: str, role: str, world) -> str | None:
    """One admin URL for one role; a problem, or None."""
    client = world.clients[role]["page"]
    prefix, model = admin_model_of(route)
    url = "/" + route
    CHECKED["cases"] += 1
    if model is None:
        expected = matrix.ADMIN_OPEN_PAGES.get(route)
        if expected is None:
            expected = matrix.ADMIN_PAGES[route] if role == "admin" else 302
        r = client.get(url)
        return None if r.status_code in _statuses(expected) else f"{url} as {role}: {r.status_code}"
    label = f"{model._meta.app_label}.{model._meta.model_name}"
    rest = route[len(prefix) :]
    if "<" in rest:
        obj = model.objects.order_by("pk").first()
        if obj is None:
            return None  # nothing of this kind in the world: the list page covers the model
        group = Group.objects.order_by("pk").first()
        url = url.replace("<user_id>", str(world.users["admin"].pk))
        url = url.replace("<group_id>", str(group.pk if group else 0))
        url = re.sub(r"<\w+>", str(obj.pk), url)
    r = client.get(url)
    if role != "admin":
        if r.status_code == 302 and "/admin/login/" in r["Location"]:
            return None
        return f"{url} as {role}: {r.status_code}, not sent to the admin login"
    read_only = label in matrix.ADMIN_READ_ONLY
    want = (200, 403)
    if rest == "add/":
        want = 403 if read_only else (200, 403) if label in matrix.ADMIN_OTHER else 200
    elif rest.endswith("/delete/") and read_only:
        want = 403
    elif rest == "<object_id>/":
        want = 302
    elif rest in ("", "<object_id>/change/", "<object_id>/history/"):
        want = 200
    if r.status_code not in _statuses(want):
        return f"{url} as admin: {r.status_code}, the table says {want}"
    if rest == "<object_id>/change/" and read_only:
        CHECKED["cases"] += 1
        before = fingerprint()
        with transaction.atomic():
            posted = client.post(url, {})
            after = fingerprint()
            transaction.set_rollback(True)
        if posted.status_code != 403 or before != after:
            return f"POST {url} as admin: {posted.status_code}, a read-only record must refuse (403)"
    return None


@pytest.mark.parametrize("route", _admin_routes())
def test_the_admin_is_for_admins_and_read_only_where_services_write(world, db, route):
    problems = [p for role in matrix.ROLES if (p := _admin_check(route, role, world))]
    assert not problems, "\n".join(problems)


@pytest.mark.ci_may_skip("skipped only when the matrix itself was deselected")
def test_the_matrix_says_how_many_cases_it_checked(request):
    """Last in the module: the count of (role, URL, scope) cases checked above."""
    if not CHECKED["cases"]:
        pytest.skip("the matrix did not run in this session (deselected)")
    line = f"permission matrix: {CHECKED['cases']} cases checked (roles x URLs x scopes A/B)"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():  # to the terminal, not into the captured output
        reporter.write("\n" + line + "\n")
