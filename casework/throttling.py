"""Rate limits, per user and per address, for the API and for the pages that export, report or take intake.

One registry (``scope_of``) says which requests belong to a tighter scope; the same throttle classes serve DRF
(``DEFAULT_THROTTLE_CLASSES``) and the pages (``casework.middleware.PageThrottleMiddleware``). Rates live in
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (env-overridable, docs/security.md "Throttling") and are read on
every request: DRF's own classes copy them once at import, so ``override_settings`` would not reach them.
History is kept in the default cache, which must be shared between processes in production (``CACHE_URL``).
"""

import math
import re

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

# Token issue and other credential exchanges. Views may also say ``throttle_scope = "auth"`` themselves.
_AUTH = re.compile(r"^/api/(v\d+/)?auth/")
# Sign-in forms: per address, so one place cannot spray passwords over many usernames (django-axes locks
# one username from one address; docs/security.md "Accounts").
_LOGIN_PAGES = re.compile(r"^/(accounts|admin)/login/$")
_INTAKE_API = re.compile(r"^/api/(v\d+/)?intake/")
_INTAKE_PAGES = re.compile(r"^/intake/(new|csv)/$")
_REPORTS = re.compile(r"^/(api/(v\d+/)?(reports|dashboard)|reports)/")
_EXPORT_PAGES = re.compile(r"^/reports/extract/")


def scope_of(request, view=None) -> str | None:
    """The tighter scope a request counts against, or None for the general limits only."""
    explicit = getattr(view, "throttle_scope", None)
    if explicit:
        return explicit
    path = request.path_info
    if _AUTH.match(path):
        return "auth"
    if _LOGIN_PAGES.match(path) and request.method == "POST":
        return "login"
    if _INTAKE_API.match(path) or (_INTAKE_PAGES.match(path) and request.method == "POST"):
        return "intake"
    if path.endswith(".csv") or request.GET.get("format") == "csv" or _EXPORT_PAGES.match(path):
        return "exports"
    if _REPORTS.match(path):
        return "reports"
    return None


class _SettingsRateThrottle(SimpleRateThrottle):
    """A throttle whose scope is chosen per request and whose rate is read from settings each time."""

    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self):  # the rate is resolved per request, in allow_request
        self.rate = None

    def scope_for(self, request, view) -> str | None:
        raise NotImplementedError

    def ident_for(self, request) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user-{user.pk}"
        return f"address-{self.get_ident(request)}"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident_for(request)}

    def allow_request(self, request, view):
        self.scope = self.scope_for(request, view)
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) if self.scope else None
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def wait(self):
        seconds = super().wait()
        return None if seconds is None else max(1, math.ceil(seconds))


class UserThrottle(_SettingsRateThrottle):
    """The general limit: per signed-in user (``user``), or per address for anonymous requests (``anon``).

    A sending system's intake meets its own limit (``intake``) instead: it is a machine sending a feed, and
    a person's per-minute limit would refuse a hospital's ordinary backlog."""

    def scope_for(self, request, view):
        if scope_of(request, view) == "intake":
            return None
        user = getattr(request, "user", None)
        return "user" if user is not None and user.is_authenticated else "anon"


class BurstThrottle(UserThrottle):
    """The same, per second (``burst``): a script firing a hundred requests at once is refused within the
    second, not only once a minute's allowance is spent."""

    def scope_for(self, request, view):
        return "burst" if super().scope_for(request, view) else None


class AddressThrottle(_SettingsRateThrottle):
    """Per address whoever signs in from it (``address``): many accounts from one place still meet a limit."""

    def scope_for(self, request, view):
        return "address"

    def ident_for(self, request):
        return f"address-{self.get_ident(request)}"


class ScopedThrottle(_SettingsRateThrottle):
    """The tighter limits of ``scope_of``: auth, intake, exports, reports; per user, or per address."""

    def scope_for(self, request, view):
        return scope_of(request, view)


class AddressScopedThrottle(ScopedThrottle):
    """The same scopes per address as well (``auth_address`` …) where a rate is set: one address cannot
    spread token guesses over many accounts."""

    def scope_for(self, request, view):
        scope = scope_of(request, view)
        return f"{scope}_address" if scope else None

    def ident_for(self, request):
        return f"address-{self.get_ident(request)}"


PAGE_THROTTLES = (AddressThrottle, ScopedThrottle, AddressScopedThrottle)


def page_wait(request) -> int | None:
    """Seconds to wait when a page request is over a limit, else None (and the request is counted)."""
    waits = []
    for cls in PAGE_THROTTLES:
        throttle = cls()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 1)
    return max(waits) if waits else None
