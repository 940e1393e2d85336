"""Writes on accounts: API tokens (issue, revoke) and the TOTP second factor (enrol, verify).

Errors: ``InvalidInput`` naming the field (a wrong code, a bad lifetime); ``PermissionDenied``.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import get_token_model
from knox.settings import knox_settings

from .. import permissions
from ..errors import InvalidInput, PermissionDenied

DEVICE_NAME = "Authenticator app"


# -------------------------------------------------------------------- API tokens


def token_issue(*, user, hours: int | None = None):
    """A new API token for ``user``: returns (the stored row, the token text). Only a hash is stored,
    so the text exists only in this return value. ``hours`` overrides the default lifetime."""
    if not user.is_active:
        raise InvalidInput({"user": _("This user is inactive: a token would not authenticate.")})
    if hours is None:
        lifetime = knox_settings.TOKEN_TTL
    elif 1 <= hours <= settings.API_TOKEN_MAX_TTL_HOURS:
        lifetime = timedelta(hours=hours)
    else:
        raise InvalidInput(
            {"hours": _("A token lives from 1 to %d hours.") % settings.API_TOKEN_MAX_TTL_HOURS}
        )
    Token = get_token_model()
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    live = Token.objects.filter(Q(expiry__gt=timezone.now()) | Q(expiry__isnull=True), user=user)
    if limit is not None and live.count() >= limit:
        raise InvalidInput({"tokens": _("You already hold %d live tokens: revoke one first.") % limit})
    return Token.objects.create(user=user, expiry=lifetime)


def token_revoke(*, token, actor) -> None:
    """Revoke one token: its owner's or, for an admin, anyone's."""
    if not permissions.visible_api_tokens(actor).filter(pk=token.pk).exists():
        raise PermissionDenied(_("You may revoke only your own API tokens."))
    token.delete()


def tokens_revoke_all(*, user) -> int:
    """Every token of the user (a password change, an account closed); returns how many."""
    deleted, _rows = get_token_model().objects.filter(user=user).delete()
    return deleted


# -------------------------------------------------------------------- two-factor


def two_factor_device_to_enrol(*, user) -> TOTPDevice:
    """The unconfirmed TOTP device whose secret the set-up page shows (one per user, kept across reloads).
    Raises PermissionDenied when the user already has a confirmed device: replacing it is an admin's job,
    or a stolen password would be enough to move the second factor."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise PermissionDenied(_("Two-factor is already set up. An administrator can reset it."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def two_factor_enrol(*, user, code: str) -> TOTPDevice:
    """Confirm the device being set up with a code from the app; returns it (the caller marks the session
    verified). Raises InvalidInput naming ``code`` when the code is wrong."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        )
        if device is None:
            raise InvalidInput({"code": _("Start the set-up again: no device is waiting to be confirmed.")})
        error = _code_error(device, code)
        if error is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    # Raised after the commit: a wrong code's throttling count must be kept, not rolled back.
    if error is not None:
        raise InvalidInput({"code": error})
    return device


def two_factor_verify(*, user, code: str) -> TOTPDevice:
    """The confirmed device that accepts ``code``; raises InvalidInput naming ``code`` otherwise."""
    error = _("Two-factor is not set up for this account.")
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"):
            error = _code_error(device, code)
            if error is None:
                return device
    raise InvalidInput({"code": error})


def _code_error(device: TOTPDevice, code: str) -> str | None:
    """None when ``code`` is the device's current one (and not used before); else why not."""
    allowed, info = device.verify_is_allowed()
    if not allowed:
        # django-otp doubles the wait after each wrong code (1 s, 2 s, 4 s ...): guessing is slow.
        until = (info or {}).get("locked_until")
        wait = max(1, int((until - timezone.now()).total_seconds()) + 1) if until else 1
        return _("Too many wrong codes: wait %d seconds and try again.") % wait
    if not device.verify_token(code):
        return _("That code is not right, or it has expired. Codes change every 30 seconds.")
    return None
