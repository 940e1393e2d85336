"""django-axes hooks: who the client is (the same address the throttles count) and what a lockout says."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """AXES_CLIENT_IP_CALLABLE: DRF's rule, X-Forwarded-For believed only behind NUM_PROXIES proxies, so
    lockout and throttles count the same address and a client cannot pick its own by sending the header."""
    return BaseThrottle().get_ident(request)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): 429, in words, JSON for the API."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    text = _(
        "Too many failed sign-ins for this account from your address: signing in is locked for "
        "%(minutes)d minutes, even with the right password. An administrator can unlock it sooner."
    ) % {"minutes": minutes}
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": text}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"text": text}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
