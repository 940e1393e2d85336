"""The two-factor gate: a signed-in user who needs a second factor reaches nothing but sign-in, sign-out
and the two-factor pages until this session has been verified with a code.

Pages answer with a redirect to set-up (no device yet) or to "enter your code"; session-authenticated
API calls answer 403 in JSON. A call carrying ``Authorization: Token …`` is left to the token check: an
API token is issued only after a password and, for these users, a code (``api.TokenIssueView``).
Runs after django-otp's ``OTPMiddleware``, which sets ``request.user.is_verified()``.
"""

from functools import cached_property

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .. import health
from . import selectors


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def open_paths(self) -> tuple[str, ...]:
        return (
            reverse("login"),
            reverse("logout"),
            reverse("accounts:two-factor-setup"),
            reverse("accounts:two-factor-verify"),
            reverse("api-token-issue"),
            "/" + settings.STATIC_URL.lstrip("/"),
            "/i18n/",
            *health.PATHS,
        )

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path_info.startswith(self.open_paths)
            and not self._token_call(request)
            and selectors.two_factor_required(user)
        ):
            return self._stop(request, user)
        return self.get_response(request)

    @staticmethod
    def _token_call(request) -> bool:
        return request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("token ")

    @staticmethod
    def _stop(request, user):
        has_device = selectors.has_confirmed_device(user)
        name = "accounts:two-factor-verify" if has_device else "accounts:two-factor-setup"
        if request.path_info.startswith("/api/"):
            what = _("enter your code") if has_device else _("set up two-factor")
            return JsonResponse(
                {
                    "detail": _("This account needs two-factor verification: %(what)s at %(url)s first.")
                    % {"what": what, "url": reverse(name)}
                },
                status=403,
            )
        target = request.get_full_path() if request.method == "GET" else reverse("home")
        return redirect(f"{reverse(name)}?{urlencode({'next': target})}")
