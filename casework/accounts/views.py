"""Account pages: the account overview, password change, two-factor set-up and verification, API tokens."""

from base64 import b32encode

import django_otp
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import permissions
from ..errors import InvalidInput, PermissionDenied
from . import selectors, services
from .forms import CodeForm


@login_required
def account(request):
    user = request.user
    return render(
        request,
        "registration/account.html",
        {
            "two_factor_on": selectors.has_confirmed_device(user),
            "two_factor_required": permissions.must_use_two_factor(user),
            "token_count": selectors.api_token_list_for_user(user).filter(user=user).count(),
        },
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view: the old password, then a new one that passes every validator. Saving it revokes the
    user's API tokens (``passwords.ApiTokensRevokedOnPasswordChange``) and keeps this session signed in."""

    template_name = "registration/change_password.html"
    success_url = reverse_lazy("accounts:password-change-done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/change_password_done.html"


@never_cache
@login_required
def two_factor_setup(request):
    """Show a new secret (text and an otpauth:// link for the app), then confirm it with a code."""
    try:
        device = services.two_factor_device_to_enrol(user=request.user)
    except PermissionDenied:
        if request.user.is_verified():
            messages.info(request, _("Two-factor is already on for your account."))
            return redirect("accounts:account")
        return redirect(_with_next("accounts:two-factor-verify", request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_enrol(user=request.user, code=form.cleaned_data["code"])
        except InvalidInput as e:
            form.add_error("code", e.errors["code"])
        else:
            django_otp.login(request, device)
            messages.success(
                request, _("Two-factor is on. You will be asked for a code each time you sign in.")
            )
            return redirect(_next(request))
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "otpauth_uri": device.config_url,
            "required": permissions.must_use_two_factor(request.user),
            "next": _next(request),
        },
    )


@never_cache
@login_required
def two_factor_verify(request):
    """Enter the current code to verify this session."""
    if not selectors.has_confirmed_device(request.user):
        return redirect(_with_next("accounts:two-factor-setup", request))
    if request.user.is_verified():
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except InvalidInput as e:
            form.add_error("code", e.errors["code"])
        else:
            django_otp.login(request, device)
            return redirect(_next(request))
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next(request)})


@never_cache
@login_required
def api_tokens(request):
    """The user's live API tokens; POST makes a new one, shown on this answer only (only its hash is kept)."""
    new_token = None
    if request.method == "POST":
        try:
            instance, new_token = services.token_issue(user=request.user)
        except InvalidInput as e:
            messages.error(request, " ".join(sum(e.errors.values(), [])))
            return redirect("accounts:api-tokens")
    tokens = selectors.api_token_list_for_user(request.user).filter(user=request.user)
    return render(request, "registration/api_tokens.html", {"tokens": tokens, "new_token": new_token})


@require_POST
@login_required
def api_token_revoke(request, token_key):
    token = get_object_or_404(permissions.visible_api_tokens(request.user), token_key=token_key)
    services.token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token %s… revoked.") % token_key)
    return redirect("accounts:api-tokens")


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


def _with_next(name: str, request) -> str:
    return f"{reverse(name)}?{urlencode({'next': _next(request)})}"
