"""Request-wide safety nets (docs/security.md, "Settings and hardening" and "Throttling").

- ``SecurityMiddleware``: Django's (HSTS, HTTPS redirect, nosniff …), but a client on this very host talking
  plain HTTP to an app that declares no TLS proxy is served instead of redirected.
- ``SessionLimitsMiddleware``: a signed-in session ends after ``SESSION_IDLE_SECONDS`` without a request and
  ``SESSION_ABSOLUTE_SECONDS`` after sign-in, whatever the activity.
- ``NoStoreMiddleware``: no browser or proxy keeps a copy of an answer that may carry identity.
- ``PageThrottleMiddleware``: the API's rate limits for the pages that export, report or take intake.
"""

import ipaddress

from django.conf import settings
from django.contrib.auth import logout
from django.middleware.security import SecurityMiddleware as DjangoSecurityMiddleware
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from . import health, throttling

SIGNED_IN_AT = "casetrail_signed_in_at"
LAST_SEEN_AT = "casetrail_last_seen_at"


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def _from_this_host(request) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class SecurityMiddleware(DjangoSecurityMiddleware):
    """Plain HTTP from the loopback, with no TLS proxy declared, is a local client (a health check, an
    operator's curl, a proxy on this host that does not say the scheme): redirecting it to an HTTPS port
    nobody listens on would only break it, and no network sees that traffic. Every other plain request is
    redirected, and where a proxy is declared (SECURE_PROXY_SSL_HEADER) its word decides, as in Django."""

    def process_request(self, request):
        if not settings.SECURE_PROXY_SSL_HEADER and _from_this_host(request):
            return None
        if request.path_info in health.PATHS:  # a load balancer probes plain HTTP; nothing private there
            return None
        return super().process_request(request)


class SessionLimitsMiddleware:
    """Idle and absolute session limits, both kept in the session itself (epoch seconds).

    Django's own expiry (SESSION_COOKIE_AGE, renewed by SESSION_SAVE_EVERY_REQUEST) drops an idle session
    too; checking here as well keeps the rule independent of the session backend. An ended session is
    signed out and the request goes on as anonymous: pages send it to sign in, the API answers 401/403.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            session = request.session
            signed_in = session.get(SIGNED_IN_AT)
            last_seen = session.get(LAST_SEEN_AT, signed_in)
            if signed_in is None:
                session[SIGNED_IN_AT] = now
            elif (
                now - signed_in > settings.SESSION_ABSOLUTE_SECONDS
                or now - (last_seen or now) > settings.SESSION_IDLE_SECONDS
            ):
                logout(request)
            if request.user.is_authenticated:
                session[LAST_SEEN_AT] = now
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every API answer and on every page served to a signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if _is_api(request) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private; Expires now
        return response


class PageThrottleMiddleware:
    """The same limits as the API (``casework.throttling``) on the pages; the API throttles in DRF itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _is_api(request) and request.path_info not in health.PATHS:  # probed every few seconds
            wait = throttling.page_wait(request)
            if wait is not None:
                response = render(request, "429.html", {"retry_after": wait}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)
